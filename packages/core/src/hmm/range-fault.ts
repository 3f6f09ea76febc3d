/**
 * hmm_range_fault() driven by an interval notifier, as 04ec32fbc2b2 made it for 5.5
 * (mm/hmm.c @5.5, with d28c2c9a4877's single walk_page_range over all VMAs). The range
 * carries the notifier and the seq read_begin returned; the walk gives up with -EBUSY as soon
 * as mmu_interval_check_retry() turns true, and otherwise re-walks after each fault.
 */
import { EBUSY, EFAULT, errname } from "../errno.ts";
import { deref, type HasLifetime, Lifetime, touch } from "../lifetime.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { type MmuIntervalNotifier, mmuIntervalCheckRetry } from "../notifier/interval-notifier.ts";
import { type HmmPfn, type HmmRequest, nonePfn } from "./pfn.ts";
import { hmmWalk, type WalkOptions } from "./walk.ts";

/**
 * struct hmm_range @5.5. On the driver's stack: the driver calls frameReturned() when the
 * function that declared it returns; an access after that is a use-after-free.
 */
export class HmmRange55 implements HasLifetime {
  notifierSeq = 0;
  pfns: HmmPfn[];
  readonly lifetime: Lifetime;

  constructor(
    readonly notifier: MmuIntervalNotifier,
    readonly start: number,
    readonly end: number,
    readonly request: (i: number) => HmmRequest,
  ) {
    this.pfns = [];
    for (let a = start; a < end; a += PAGE_SIZE) this.pfns.push(nonePfn(a));
    this.lifetime = new Lifetime(`struct hmm_range [0x${start.toString(16)}, 0x${end.toString(16)})`, {
      heap: false, // on the stack; heapAllocated() where a driver kmallocs it
    });
  }
}

export interface HmmFaultFlags55 {
  /** HMM_FAULT_SNAPSHOT (removed in 5.7 in favour of per-page requests). */
  snapshot?: boolean;
  /**
   * Report unfaulted pages with no VMA or without VM_READ as HMM_PFN_ERROR (5.7+; 5.5 says
   * HMM_PFN_NONE): see WalkOptions.unreadableAsError. lib/test_hmm.c's SNAPSHOT needs it.
   */
  unreadableAsError?: boolean;
}

/** mm/hmm.c: hmm_range_fault() @5.5 — mmap_sem held for read; pages filled, or -errno. */
export async function hmmRangeFault(range: HmmRange55, flags: HmmFaultFlags55 = {}): Promise<number> {
  const mm = deref(range.notifier.mm, "hmm_range_fault: range->notifier->mm");
  const k = mm.kernel;
  touch(k, range, "hmm_range_fault");
  if (mm.mmapSem.readerCount === 0 && !mm.mmapSem.isWriteLocked) k.warn("hmm_range_fault without mmap_sem");
  const opts: WalkOptions = {
    snapshot: flags.snapshot === true,
    noReadVma: EFAULT,
    unreadableAsError: flags.unreadableAsError === true,
  };
  let last = range.start;
  let ret: number;
  do {
    if (await mmuIntervalCheckRetry(range.notifier, range.notifierSeq)) {
      k.ex.trace("ret", "hmm_range_fault", range.notifier.name, "-EBUSY (check_retry)");
      return EBUSY;
    }
    const w = await hmmWalk(mm, range, last, range.end, opts);
    ret = w.ret;
    last = w.last;
  } while (ret === EBUSY);
  const result = ret !== 0 ? ret : (last - range.start) / PAGE_SIZE;
  k.ex.trace("ret", "hmm_range_fault", range.notifier.name, errname(result));
  return result;
}
