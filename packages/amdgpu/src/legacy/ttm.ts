/**
 * The userptr page acquisition of drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c as of Linux 5.4
 * (after 66c45500bfdc "use new HMM APIs and helpers" and 0919195f2b0d "Enable
 * amdgpu_ttm_tt_get_user_pages in worker threads"; reference gpu-drivers.md 1.4):
 *
 *   mirror = bo->mn ? &bo->mn->mirror : NULL     without adev->mn_lock (O4)
 *   mm = gtt->usertask->mm                        without a lock or an mmget (O2 b)
 *   find_vma(mm, start), ANONONLY check           without mmap_sem (O2 a, fixed by a9ae8731e6e5)
 *   hmm_range_register (result ignored), hmm_range_wait_until_valid(1000 ms) (result ignored)
 *   hmm_range_fault under mmap_sem (read); pfns -> pages outside any lock
 *   gtt->range = range                            one slot: an earlier range is overwritten
 *
 * and amdgpu_ttm_tt_get_user_pages_done: hmm_range_valid (the level, ABA-prone: O1), then
 * unregister and free the range.
 */
import {
  EFAULT,
  ENOMEM,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmRange,
  heapAllocated,
  hex,
  hmmRangeFault54,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
  type Kernel,
  kfree,
  type MmStruct,
  NullDereference,
  PAGE_SIZE,
  type Page,
  uniformRequest,
} from "@mnlab/core";
import { LocklessField } from "@mnlab/sim";
import { AmdgpuBo, type AmdgpuTtmTt, ESRCH } from "../common/bo.ts";
import { type AmdgpuMn, amnUse, type LegacyDevice } from "./mn.ts";

/** struct amdgpu_bo @5.4 with bo->mn and the userptr TT's gtt->range. */
export class LegacyBo extends AmdgpuBo {
  /**
   * bo->mn: set by amdgpu_mn_register, cleared by unregister or amdgpu_mn_destroy (under
   * mn_lock and amn->lock), read by get_user_pages without either.
   */
  readonly mn: LocklessField<AmdgpuMn | null>;
  /** gtt->range: the single in-flight hmm_range slot. */
  range: HmmRange | null = null;

  constructor(
    kernel: Kernel,
    name: string,
    ttm: AmdgpuTtmTt,
    readonly adev: LegacyDevice,
  ) {
    super(kernel, name, ttm);
    this.mn = new LocklessField<AmdgpuMn | null>(kernel.ex, `${name}->mn`, null);
  }
}

/**
 * mm/mmap.c: find_vma() @5.4 called without mmap_sem, then the reads of vm_start and
 * vm_file. One scheduling point stands for that window; a VMA that exit_mmap has freed
 * meanwhile (remove_vma, no mmap_sem) is a use-after-free (O2 b). A VMA freed by a concurrent
 * munmap (O2 a) is not detected: the model's munmap does not give VMAs a free point.
 */
async function findVmaUnlocked(mm: MmStruct, addr: number): Promise<{ start: number } | null> {
  const vma = mm.findVma(addr);
  if (vma === undefined) return null;
  await mm.kernel.ex.point("find_vma", mm.name, `${hex(addr)} (no mmap_sem)`);
  if (mm.exited && !mm.vmas.includes(vma)) {
    mm.kernel.ex.fail(
      "use-after-free",
      `amdgpu_ttm_tt_get_user_pages: vma [${hex(vma.start)}, ${hex(vma.end)}) of ${mm.name} read after ` +
        "exit_mmap freed it (find_vma without mmap_sem or an mmget, O2)",
    );
  }
  return { start: vma.start };
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c: amdgpu_ttm_tt_get_user_pages() @5.4
export async function amdgpuTtmTtGetUserPages(bo: LegacyBo, pages: (Page | null)[]): Promise<number> {
  const k = bo.kernel;
  const amn = await bo.mn.load(); // read without adev->mn_lock
  const ttm = bo.ttm;
  const mm = await ttm.usertask.mm.load(); // gtt->usertask->mm, without a lock
  const start = ttm.userptr;
  if (mm === null) return ESRCH; // "Happens during process shutdown"
  if (amn === null) return EFAULT; // "Failed to get hmm_mirror"
  const vma = await findVmaUnlocked(mm, start);
  if (vma === null || start < vma.start) return EFAULT;
  // ANONONLY && vma->vm_file: every VMA of the model is anonymous.
  const range = new HmmRange(
    start,
    start + ttm.numPages * PAGE_SIZE,
    uniformRequest(true, !ttm.userflags.readonly),
  );
  heapAllocated(range); // kzalloc(sizeof(*range))
  // The result is not checked: on failure range->hmm is NULL and the wait below dereferences it.
  await hmmRangeRegister(range, amnUse(amn, "amdgpu_ttm_tt_get_user_pages: &bo->mn->mirror").mirror);
  if (range.hmm === null) {
    throw new NullDereference(
      `hmm_range_wait_until_valid: range->hmm is NULL (hmm_range_register failed on ${mm.name}, result ignored)`,
    );
  }
  // "Just wait for range to be valid, safe to ignore return value"
  await hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT);
  await mm.mmapSem.downRead();
  let r = await hmmRangeFault54(range);
  await mm.mmapSem.upRead();
  if (r < 0) {
    await hmmRangeUnregister(range);
    kfree(k, range, "amdgpu_ttm_tt_get_user_pages: out_free_ranges: kfree(range)");
    return r;
  }
  for (let i = 0; i < ttm.numPages; i++) {
    const p = range.pfns[i]!;
    pages[i] = p.state === "valid" ? p.page : null; // hmm_device_entry_to_page()
    if (pages[i] === null) {
      r = ENOMEM; // "Page fault failed for pfn[%lu]"
      await hmmRangeUnregister(range);
      kfree(k, range, "amdgpu_ttm_tt_get_user_pages: out_free_ranges: kfree(range)");
      return r;
    }
  }
  if (bo.range !== null)
    k.ex.trace("note", "gtt->range overwritten", bo.name, "the earlier range is never unregistered");
  bo.range = range;
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c: amdgpu_ttm_tt_get_user_pages_done() @5.4 — hmm_range_valid
export async function amdgpuTtmTtGetUserPagesDone(bo: LegacyBo): Promise<boolean> {
  const ttm = bo.ttm;
  if (ttm.userptr === 0) return false;
  if (bo.range === null) bo.kernel.warn(`${bo.name}: No user pages to check`); // WARN_ONCE
  let r = false;
  const range = bo.range;
  if (range !== null) {
    r = hmmRangeValid(range);
    await hmmRangeUnregister(range);
    kfree(bo.kernel, range, "amdgpu_ttm_tt_get_user_pages_done: kfree(gtt->range)");
    bo.range = null;
  }
  bo.kernel.ex.trace("note", "amdgpu_ttm_tt_get_user_pages_done", bo.name, `hmm_range_valid -> ${r}`);
  return r;
}
