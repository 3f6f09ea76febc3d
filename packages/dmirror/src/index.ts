/**
 * @mnlab/dmirror — the kernel's own HMM test driver, lib/test_hmm.c ("dmirror", 5.8,
 * b2ef9f5a5cb3), modelled on the 5.5 interval-notifier core, and (in test/) the hmm
 * selftests of tools/testing/selftests/vm/hmm-tests.c (fee9f6d1b8df) that exercise the
 * notifier. It is the reference user that validates @mnlab/core: the tests encode what the
 * kernel's own tests expect, not what the model happens to do.
 *
 * Modelled: open/close (a whole-VA interval notifier), the invalidate callback, the fault
 * path's again-loop with its timeout, READ, WRITE, SNAPSHOT (a temporary notifier per
 * chunk). Not modelled: device-private memory and MIGRATE, EXCLUSIVE, THP/hugetlb, the
 * mmap of the device file.
 */
export { bounceIndex, type DmirrorBounce, dmirrorBounceInit } from "./bounce.ts";
export {
  DMIRROR_CHUNK_PAGES,
  DMIRROR_VA_LENGTH,
  Dmirror,
  type DmirrorOpenOptions,
  type DmirrorOpenResult,
  dmirrorFopsOpen,
  dmirrorFopsRelease,
} from "./dmirror.ts";
export { dmirrorVariant, driverPackage } from "./driver-package.ts";
export { dmirrorFault, dmirrorRangeFault, msecsToJiffies } from "./fault.ts";
export { hmmRangeFault58 } from "./hmm.ts";
export { DmirrorInterval, dmirrorOf } from "./interval.ts";
export { dmirrorIntervalInvalidate, dmirrorMinOps } from "./invalidate.ts";
export { dmirrorFopsUnlockedIoctl } from "./ioctl.ts";
export { dmirrorRead } from "./read.ts";
export { dmirrorMkentry, dmirrorSnapshot } from "./snapshot.ts";
export * from "./uapi.ts";
export { dmirrorWrite } from "./write.ts";
