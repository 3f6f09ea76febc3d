/**
 * The userptr page acquisition of drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c as of Linux 5.5
 * (a9ae8731e6e5 "Call find_vma under mmap_sem", 81fa1af31b5d; reference gpu-drivers.md 1.6):
 *
 *   mm = bo->notifier.mm, else -EFAULT; WARN_ON(gtt->range) -> -EFAULT (one slot per BO);
 *   mmget_not_zero, else -ESRCH; find_vma and the ANONONLY check under mmap_sem (read);
 *   until a 1000 ms deadline: read_begin, hmm_range_fault under mmap_sem, again on 0/-EBUSY
 *   ("FIXME: This timeout should encompass the retry from mmu_interval_read_retry() as well");
 *   pfns -> pages outside the lock ("FIXME: The pages cannot be touched outside the
 *   notifier_lock"); gtt->range = range; mmput.
 *
 * _done returns !mmu_interval_read_retry (Philip Yang's polarity fix) and frees the range; its
 * FIXME says the caller must hold notifier_lock and check the result — the CS does, KFD and
 * GEM_USERPTR VALIDATE do neither (O5).
 */
import {
  EBUSY,
  EFAULT,
  ENOMEM,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmRange55,
  heapAllocated,
  hmmRangeFault,
  type Kernel,
  kfree,
  type MmStruct,
  mmgetNotZero,
  mmput,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  type Page,
  POPULATE_RETRY,
  uniformRequest,
} from "@mnlab/core";
import { AmdgpuBo, type AmdgpuTtmTt, ESRCH } from "../common/bo.ts";
import { BoNotifier, type IntervalDevice } from "./mn.ts";

/** struct amdgpu_bo @5.5 with bo->notifier and the userptr TT's gtt->range. */
export class IntervalBo extends AmdgpuBo {
  readonly notifier: BoNotifier;
  /**
   * gtt->range: the in-flight hmm_range. WARN_ON(gtt->range) tests it without a lock; the
   * model keeps it a plain field (not a LocklessField): its test and its store are a whole
   * page walk apart, so a concurrent get_user_pages still interleaves between them, and three
   * more scheduling points per CS would multiply every exploration for no new schedule.
   */
  range: HmmRange55 | null = null;

  constructor(
    kernel: Kernel,
    name: string,
    ttm: AmdgpuTtmTt,
    readonly adev: IntervalDevice,
  ) {
    super(kernel, name, ttm);
    this.notifier = new BoNotifier(this);
    this.notifier.lifetime = this.lifetime; // embedded in the BO: freed with it
  }
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c: amdgpu_ttm_tt_get_user_pages() @5.5
export async function amdgpuTtmTtGetUserPages(bo: IntervalBo, pages: (Page | null)[]): Promise<number> {
  const k = bo.kernel;
  const ttm = bo.ttm;
  const mm = bo.notifier.mm;
  if (mm === null) return EFAULT; // "BO is not registered?"
  // "Another get_user_pages is running at the same time??"
  if (bo.range !== null) {
    k.warn(`amdgpu_ttm_tt_get_user_pages(${bo.name}): WARN_ON(gtt->range)`);
    return EFAULT;
  }
  if (!(await mmgetNotZero(mm))) return ESRCH; // "Happens during process shutdown"
  const range = new HmmRange55(
    bo.notifier,
    bo.notifier.start,
    bo.notifier.last + 1,
    uniformRequest(true, !ttm.userflags.readonly),
  );
  heapAllocated(range); // kzalloc(sizeof(*range))
  const r = await getUserPagesLocked(bo, mm, range, pages);
  if (r !== 0) kfree(k, range, "amdgpu_ttm_tt_get_user_pages: out_free_ranges: kfree(range)");
  await mmput(mm);
  return r;
}

/** The body of amdgpu_ttm_tt_get_user_pages() between its mmget_not_zero and its mmput. */
async function getUserPagesLocked(
  bo: IntervalBo,
  mm: MmStruct,
  range: HmmRange55,
  pages: (Page | null)[],
): Promise<number> {
  const k = bo.kernel;
  const ttm = bo.ttm;
  const start = ttm.userptr;
  await mm.mmapSem.downRead();
  const vma = mm.findVma(start);
  await mm.mmapSem.upRead();
  // (ANONONLY && vma->vm_file gives -EPERM here: every VMA of the model is anonymous.)
  if (vma === undefined || start < vma.start) return EFAULT;
  const timeout = k.ex.now + HMM_RANGE_DEFAULT_TIMEOUT; // jiffies + msecs_to_jiffies(1000)
  for (;;) {
    // retry:
    range.notifierSeq = await mmuIntervalReadBegin(bo.notifier);
    await mm.mmapSem.downRead();
    const r = await hmmRangeFault(range);
    await mm.mmapSem.upRead();
    if (r > 0) break;
    if ((r === 0 || r === EBUSY) && !(k.ex.now > timeout)) {
      k.ex.count(POPULATE_RETRY);
      continue;
    }
    return r;
  }
  for (let i = 0; i < ttm.numPages; i++) {
    // "FIXME: The pages cannot be touched outside the notifier_lock"
    const p = range.pfns[i]!;
    pages[i] = p.state === "valid" ? p.page : null; // hmm_device_entry_to_page()
    if (pages[i] === null) return ENOMEM; // "Page fault failed for pfn[%lu]"
  }
  bo.range = range;
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c: amdgpu_ttm_tt_get_user_pages_done() @5.5 — !read_retry
export async function amdgpuTtmTtGetUserPagesDone(bo: IntervalBo): Promise<boolean> {
  const ttm = bo.ttm;
  if (ttm.userptr === 0) return false;
  const range = bo.range;
  if (range === null) bo.kernel.warn(`${bo.name}: No user pages to check`); // WARN_ONCE
  let r = false;
  if (range !== null) {
    // "FIXME: Must always hold notifier_lock for this, and must not ignore the return code."
    r = mmuIntervalReadRetry(range.notifier, range.notifierSeq);
    kfree(bo.kernel, range, "amdgpu_ttm_tt_get_user_pages_done: kfree(gtt->range)");
    bo.range = null;
  }
  return !r;
}
