/**
 * A dmirror-style device mirror written against the 2015 "active invalidation ranges"
 * proposal (Jérôme Glisse, v4, 13 Aug 2015, 02/15 of the HMM series; Mark Hairgrove's review,
 * 31 Aug 2015; reference core.md section 4) instead of the 5.5 interval notifier: what a
 * driver of that API would have looked like, so that the proposal can be judged on the same
 * scenarios as lib/test_hmm.c. The API exists only on the core variant
 * packages/core/patches/active-invalidation-ranges-2015.ts; the driver finds it with
 * coreSymbol() (symbol_get) at open, and on the merged core the open throws, naming the core
 * variant to run it on, instead of running without it.
 *
 * Kept from lib/test_hmm.c @5.8 (dmirror.ts, fault.ts, invalidate.ts beside the built-in
 * variant): the device page table (a DeviceMmu: entries point at the CPU's struct page,
 * tagged writable), dmirror->mutex as the lock the invalidation callback takes, the fault's
 * HMM_RANGE_DEFAULT_TIMEOUT deadline checked at the top of each attempt, the copy under the
 * mutex. Changed, because the 2015 API has no interval notifier: the mirror is a classic
 * mmu_notifier (mmu_notifier_register at open, mmu_notifier_unregister at close) whose
 * invalidate_range_start takes the mutex (trylock when non-blockable, -EAGAIN when taken) and
 * erases the device entries of the range, and whose release erases them all; and the fault
 * runs the proposal's caller pattern (below) instead of read_begin / read_retry.
 *
 * The fault, per attempt (caller pattern of the record; the order around it is this model's
 * decision, since the record gives the three steps only):
 *   down_read(mmap_sem); fault the range in (hmm_range_fault-style walk, no driver lock held,
 *   because a write fault may break COW and so invalidate, whose callback takes the mutex);
 *   1. mmu_notifier_range_wait_valid(mm, start, end);
 *   2. mutex_lock(dmirror->mutex) — the lock the callback takes, so no new invalidation can
 *      get past its callback (and so change a PTE) while it is held;
 *   3. mmu_notifier_range_is_valid(mm, start, end)? — if not, the variant decides:
 *        wait under the lock  (range-wait-valid-2015): back to wait_valid with the mutex held,
 *          as the suggested pattern reads ("re-check is_valid and loop if false");
 *        -EAGAIN              (range-valid-eagain-2015): drop the mutex and mmap_sem and
 *          start the attempt again, as HMM did and as Jérôme said was intended;
 *   then, still under the mutex, read the CPU page table (a snapshot walk: no fault) and
 *   program the device from it; a page missing from the snapshot (an invalidation that ended
 *   before is_valid) sends the attempt round again.
 * mmap_sem is held for read across the attempt, so the lock order is mmap_sem -> mutex, the
 * order of every invalidation that holds mmap_sem (munmap takes it for write and then the
 * callback's mutex).
 *
 * Not modelled: lib/test_hmm.c's HMM_DMIRROR_SNAPSHOT ioctl (a read_begin / hmm_range_fault /
 * read_retry loop of its own, with nothing in the 2015 API to build it on), so the device
 * context offers no second file (openFile) and the two hmm.snapshot-* selftests say so.
 */
import {
  type AccessResult,
  type BufferHandle,
  coreSymbol,
  type DeviceContext,
  DeviceMmu,
  EAGAIN,
  EBUSY,
  EFAULT,
  type HasLifetime,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type HmmPfn,
  hex,
  hmmWalk,
  type Kernel,
  kfree,
  Lifetime,
  type MappablePage,
  type MmStruct,
  MmuNotifier,
  type MmuNotifierOps,
  type MmuNotifierRange,
  mmgetNotZero,
  mmput,
  mmuNotifierRegister,
  mmuNotifierUnregister,
  nonePfn,
  PAGE_SIZE,
  POPULATE_RETRY,
  rangeBlockable,
  ULONG_MAX,
  uniformRequest,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";

/** What the fault does when is_valid fails under the mutex. */
export type InvalidUnderLock = "wait-under-lock" | "eagain";

/** 2015 proposal: bool mmu_notifier_range_is_valid(struct mm_struct *mm, unsigned long start, unsigned long end) */
type RangeIsValid = (mm: MmStruct, start: number, end: number) => Promise<boolean>;
/** 2015 proposal: void mmu_notifier_range_wait_valid(struct mm_struct *mm, unsigned long start, unsigned long end) */
type RangeWaitValid = (mm: MmStruct, start: number, end: number) => Promise<void>;

const CORE_VARIANT = "packages/core/patches/active-invalidation-ranges-2015.ts";

/** struct dmirror of this variant: the classic notifier is embedded, as nouveau_svmm's is. */
class Dmirror2015 implements HasLifetime {
  readonly lifetime: Lifetime;
  readonly notifier: MmuNotifier;
  readonly mutex: Mutex;
  readonly pt: DeviceMmu;

  constructor(
    readonly mm: MmStruct,
    readonly name: string,
    readonly isValid: RangeIsValid,
    readonly waitValid: RangeWaitValid,
    readonly policy: InvalidUnderLock,
  ) {
    const k = mm.kernel;
    this.lifetime = new Lifetime(`struct dmirror ${name}`);
    this.notifier = new MmuNotifier(`${name}->notifier`, dmirror2015Ops(this));
    this.notifier.lifetime = this.lifetime;
    this.mutex = new Mutex(k.ex, `${name}->mutex`, "dmirror->mutex");
    this.pt = new DeviceMmu(k, `${name}->pt`, mm);
  }
}

/** The notifier ops: lib/test_hmm.c's callback body (dmirror_interval_invalidate @5.8) on the classic hooks. */
function dmirror2015Ops(d: Dmirror2015): MmuNotifierOps {
  return {
    // dmirror_interval_invalidate() @5.8 as an invalidate_range_start (no set_seq: no seq in 2015)
    async invalidateRangeStart(_sub: MmuNotifier, range: MmuNotifierRange): Promise<number> {
      if (rangeBlockable(range)) await d.mutex.lock();
      else if (!(await d.mutex.trylock())) return EAGAIN;
      await d.pt.unmap(range.start, range.end); // dmirror_do_update(): xa_erase each entry
      await d.mutex.unlock();
      return 0;
    },
    // ->release at exit_mmap: what the 5.5 dmirror gets as its RELEASE invalidation.
    async release(): Promise<void> {
      await d.mutex.lock();
      await d.pt.unmap(0, ULONG_MAX);
      await d.mutex.unlock();
    },
  };
}

/** hmm_range_fault-style walk of [start, end) under mmap_sem (read): fault every page in. */
async function faultIn(
  mm: MmStruct,
  pfns: HmmPfn[],
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  const range = { start, pfns, request: uniformRequest(true, write) };
  let last = start;
  for (;;) {
    const w = await hmmWalk(mm, range, last, end, {
      snapshot: false,
      noReadVma: EFAULT,
      unreadableAsError: true,
    });
    if (w.ret !== EBUSY) return w.ret;
    last = w.last;
  }
}

/** The snapshot walk under the mutex: no fault; the pages to program, or null when one is missing. */
async function snapshot(
  d: Dmirror2015,
  start: number,
  end: number,
  write: boolean,
): Promise<MappablePage[] | null> {
  const pfns: HmmPfn[] = [];
  for (let a = start; a < end; a += PAGE_SIZE) pfns.push(nonePfn(a));
  const range = { start, pfns, request: uniformRequest(false, write) };
  await hmmWalk(d.mm, range, start, end, { snapshot: true, noReadVma: EFAULT, unreadableAsError: true });
  const pages: MappablePage[] = [];
  for (const pfn of pfns) {
    if (pfn.state !== "valid" || pfn.page === null || (write && !pfn.write)) return null;
    pages.push({ addr: pfn.addr, page: pfn.page, write: pfn.write });
  }
  return pages;
}

/**
 * dmirror_range_fault() @5.8 over the 2015 API: one chunk, the proposal's caller pattern per
 * attempt (see the header), bounded by HMM_RANGE_DEFAULT_TIMEOUT at the top of each attempt.
 */
async function dmirror2015RangeFault(
  d: Dmirror2015,
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  const mm = d.mm;
  const ex = mm.kernel.ex;
  const timeout = ex.now + HMM_RANGE_DEFAULT_TIMEOUT;
  const pfns: HmmPfn[] = [];
  for (let a = start; a < end; a += PAGE_SIZE) pfns.push(nonePfn(a));
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) ex.count(POPULATE_RETRY);
    if (ex.now > timeout) {
      ex.trace("ret", "dmirror_range_fault", d.name, `-EBUSY (timeout after ${attempt} attempts)`);
      return EBUSY;
    }
    await mm.mmapSem.downRead();
    const ret = await faultIn(mm, pfns, start, end, write);
    if (ret !== 0) {
      await mm.mmapSem.upRead();
      return ret;
    }
    await d.waitValid(mm, start, end); // 1. wait_valid
    await d.mutex.lock(); // 2. the lock the callback takes
    let valid = await d.isValid(mm, start, end); // 3. re-check
    if (!valid && d.policy === "wait-under-lock") {
      // "loop if false": back to wait_valid with the mutex held (the review's deadlock).
      while (!valid) {
        await d.waitValid(mm, start, end);
        valid = await d.isValid(mm, start, end);
      }
    }
    if (!valid) {
      // -EAGAIN: drop the lock, and start again.
      await d.mutex.unlock();
      await mm.mmapSem.upRead();
      continue;
    }
    const pages = await snapshot(d, start, end, write);
    if (pages === null) {
      await d.mutex.unlock();
      await mm.mmapSem.upRead();
      continue;
    }
    await d.pt.map(pages);
    await d.mutex.unlock();
    await mm.mmapSem.upRead();
    return 0;
  }
}

/** dmirror_fault() @5.8: mmget_not_zero, the range, mmput (one chunk: the scenarios' buffers are small). */
async function dmirror2015Fault(d: Dmirror2015, start: number, end: number, write: boolean): Promise<number> {
  const mm = d.mm;
  const ex = mm.kernel.ex;
  ex.trace("call", "dmirror_fault", d.name, `[${hex(start)}, ${hex(end)}) ${write ? "write" : "read"}`);
  if (!(await mmgetNotZero(mm))) return 0;
  const ret = await dmirror2015RangeFault(d, start, end, write);
  await mmput(mm);
  ex.trace("ret", "dmirror_fault", d.name, String(ret));
  return ret;
}

/**
 * dmirror_fops_open() @5.8 over the 2015 API: find the proposal's helpers (symbol_get), then
 * mmu_notifier_register. Without them this is the wrong core for this driver: a harness
 * misuse, so an Error naming the core variant, not a kernel error.
 */
export async function dmirror2015Open(
  _k: Kernel,
  mm: MmStruct,
  id: string,
  policy: InvalidUnderLock,
): Promise<DeviceContext | number> {
  const isValid = coreSymbol<RangeIsValid>("mmu_notifier_range_is_valid");
  const waitValid = coreSymbol<RangeWaitValid>("mmu_notifier_range_wait_valid");
  if (isValid === null || waitValid === null) {
    throw new Error(
      `dmirror/${id} needs mmu_notifier_range_is_valid and mmu_notifier_range_wait_valid, which the merged ` +
        `core does not export (symbol_get: NULL): run it with --core ${CORE_VARIANT}`,
    );
  }
  mm.kernel.ex.trace("call", "dmirror_fops_open", "dmirror0", mm.name);
  const d = new Dmirror2015(mm, "dmirror0", isValid, waitValid, policy);
  const ret = await mmuNotifierRegister(d.notifier, mm);
  if (ret !== 0) {
    d.pt.closed = true;
    kfree(mm.kernel, d, "dmirror_fops_open: kfree(dmirror)");
    return ret;
  }
  return {
    mmus: [d.pt],
    register: async (start: number, len: number): Promise<BufferHandle> => ({ start, end: start + len }),
    populate: (_buf: BufferHandle, start: number, end: number, write: boolean) =>
      dmirror2015Fault(d, start, end, write),
    // dmirror_do_read()/dmirror_do_write() @5.8 — under dmirror->mutex
    access: async (_buf: BufferHandle, addr: number, write: boolean): Promise<AccessResult> => {
      await d.mutex.lock();
      const r = await d.pt.access(addr, write);
      await d.mutex.unlock();
      return r;
    },
    unregister: async () => {},
    // dmirror_fops_release() @5.8 with mmu_notifier_unregister for the interval remove.
    close: async () => {
      d.pt.retire();
      await mmuNotifierUnregister(d.notifier, mm);
      await d.pt.unmap(0, ULONG_MAX);
      d.pt.closed = true;
      kfree(mm.kernel, d, "dmirror_fops_release: kfree(dmirror)");
    },
  };
}
