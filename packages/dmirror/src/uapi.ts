/**
 * include/uapi/linux/test_hmm.h @5.8 (b2ef9f5a5cb3): the ioctl argument and the permission
 * bytes SNAPSHOT reports.
 *
 * User buffers. `ptr` is the user buffer the driver copies to or from (copy_to_user /
 * copy_from_user). The model keeps it outside the simulated mm, as a plain array with one
 * word per page for READ and WRITE (each modelled page holds one data word) and one
 * permission byte per page for SNAPSHOT; so copy_*_user never fails with -EFAULT here.
 */

/** struct hmm_dmirror_cmd @5.8 */
export interface HmmDmirrorCmd {
  /** Start of the range to mirror, in the calling process's address space. */
  addr: number;
  /** The user buffer: one word (READ/WRITE) or one permission byte (SNAPSHOT) per page. */
  ptr: number[];
  npages: number;
  /** Out: pages copied or snapshotted. */
  cpages: number;
  /** Out: how many times the device faulted (dmirror_fault calls that succeeded). */
  faults: number;
}

/** The ioctl numbers the model implements (MIGRATE and later commands are not modelled). */
export type HmmDmirrorCommand = "HMM_DMIRROR_READ" | "HMM_DMIRROR_WRITE" | "HMM_DMIRROR_SNAPSHOT";

/**
 * HMM_DMIRROR_PROT_* @5.8, the values the model can produce. PMD (0x04) and PUD (0x08)
 * need huge mappings and DEV_PRIVATE_LOCAL/REMOTE (0x20/0x30) need device-private pages
 * (MIGRATE): the model has neither THP/hugetlb nor device memory, so they are left out.
 */
export const HMM_DMIRROR_PROT_ERROR = 0xff;
export const HMM_DMIRROR_PROT_NONE = 0x00;
export const HMM_DMIRROR_PROT_READ = 0x01;
export const HMM_DMIRROR_PROT_WRITE = 0x02;
export const HMM_DMIRROR_PROT_ZERO = 0x10;
