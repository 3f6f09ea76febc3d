/**
 * mmu_notifier: keep track of active invalidation ranges
 *
 * The 2015 proposal, Jérôme Glisse, v4 posted 13 Aug 2015 as 02/15 of the HMM series, with
 * Mark Hairgrove's review (31 Aug 2015); never merged. Modelled here on the 5.5 core so that
 * every driver's scenarios run on it and a driver written against its API can be judged.
 *
 * What the record says (reference core.md section 4, in its words):
 *
 *     a list of in-flight invalidation ranges per mm (a range is added before
 *     ->invalidate_range_start and removed after ->invalidate_range_end);
 *     helpers mmu_notifier_range_is_valid(mm, start, end) (no active invalidation
 *     conflicts) and mmu_notifier_range_wait_valid(mm, start, end) (sleep until that
 *     holds).
 *
 *     The suggested caller pattern was:
 *     1. wait_valid;
 *     2. take the driver lock that the driver's own invalidate_range_start callback also
 *        takes, to block new invalidations;
 *     3. re-check is_valid and loop if false.
 *
 * and the review's deadlock: A's wait_valid returns; B's invalidate_range_start lists its
 * range and its callback blocks on the driver lock; A takes the lock, is_valid fails, A goes
 * back to wait_valid still holding it. B's range cannot leave the list until B's callback
 * returns, which cannot happen until A drops the lock. Mark noted that HMM itself dropped the
 * lock and returned -EAGAIN instead (so a faulting thread can be starved); Jérôme answered
 * that dropping the lock and retrying was the intended use and that invalidations should take
 * precedence over device faults.
 *
 * Where the record ends. The reference quotes no line of the patch: the helpers' names,
 * arguments and meaning, and where a range joins and leaves the list, are all it gives. What
 * follows is this model's decision, not the posting:
 *  - the list lives beside the per-mm notifier state (struct mmu_notifier_mm) and is guarded
 *    by its spinlock; a range joins it in __mmu_notifier_invalidate_range_start() before any
 *    callback runs and leaves it in __mmu_notifier_invalidate_range_end() after the last
 *    one, and the leaving wakes the sleepers of wait_valid (wake_up_all);
 *  - wait_valid sleeps on a per-mm wait queue until the count of listed ranges changes, then
 *    re-checks under the spinlock (the count is read without the lock, READ_ONCE-style);
 *    is_valid is one walk of the list under the spinlock: a listed [s, e) conflicts with
 *    [start, end) when s < end && start < e (end exclusive, as in struct mmu_notifier_range);
 *  - only mms with notifiers track ranges (the entry points call the core only then, as
 *    mm_has_notifiers() gates __mmu_notifier_invalidate_range_start in every version);
 *  - a non-blockable start that fails (the OOM reaper's _nonblock start, added in 2018 —
 *    after this proposal, so it says nothing about it) takes its range off the list again,
 *    since the caller told -EAGAIN issues no end; otherwise the range would be listed for
 *    ever and every wait_valid over it would sleep for good;
 *  - exit_mmap's release is no invalidate_range_start and lists nothing.
 * The rest of the 5.5 core (the interval tree, its seq and waiters) is untouched: the
 * merged bodies run inside the two replaced functions.
 *
 * The 5.5 functions it changes, as a diff over the model (mm/mmu_notifier.c; the names
 * mmu_notifier_range_add/_del and mmu_notifier_range_is_valid_locked are this model's, the
 * record names only is_valid and wait_valid):
 *
 *     int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
 *     {
 *     +       mmu_notifier_range_add(range->mm->mmu_notifier_mm, range);
 *             ... the 5.5 body: mn_itree_invalidate, then mn_hlist_invalidate_range_start ...
 *     +       if (ret)
 *     +               mmu_notifier_range_del(range->mm->mmu_notifier_mm, range);
 *             return ret;
 *     }
 *
 *     void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range, bool only_end)
 *     {
 *             ... the 5.5 body: mn_itree_inv_end, then the hlist ->invalidate_range_end ...
 *     +       mmu_notifier_range_del(range->mm->mmu_notifier_mm, range);
 *     }
 *
 *     +bool mmu_notifier_range_is_valid(struct mm_struct *mm, unsigned long start, unsigned long end);
 *     +void mmu_notifier_range_wait_valid(struct mm_struct *mm, unsigned long start, unsigned long end);
 *     +EXPORT_SYMBOL_GPL(...) both
 *
 * The two helpers are the patch's new API (`provides`): a driver reaches them with
 * coreSymbol() (symbol_get), which finds nothing on the merged core. The dmirror variants in
 * packages/dmirror/patches/active-ranges-2015/ are such drivers: one follows the suggested
 * pattern (and deadlocks, as the review showed), one drops the lock and retries.
 *
 * Evaluation (reports/core-patches/active-invalidation-ranges-2015.md): no built-in variant of
 * any driver changes its verdict but one, amdgpu legacy overlapping-invalidations-race-populate,
 * "fixed" only within the budget: its exhaustive search at bound 1 stops at 4,000 executions,
 * the merged core's use-after-free comes at execution 3,575, and the list's extra scheduling
 * points (a lock, a store and a wake-up per start and end) enlarge the space — with
 * --executions 40000 the patched core's bound-1 space is 5,993 executions and the same
 * use-after-free comes at 4,441 (`mnlab test amdgpu --variant legacy --scenario
 * overlapping-invalidations-race-populate --core <this file> --executions 40000`). (Until
 * amdgpu's K3 row moved to bound 1, the same budget artefact showed on it.) The dmirror
 * variants below have no SNAPSHOT ioctl (the 2015 API has nothing to build it on), so the two
 * hmm.snapshot-* selftests cannot run on them: those rows are the scenario saying so, counted
 * as regressions by the evaluation.
 *
 * The deadlock detector needs to know whom a wait_valid sleeper waits for: the wait queue
 * here names, as the threads whose progress would wake it, the threads that listed the ranges
 * conflicting with the sleeper's (oracle bookkeeping, not kernel state), so the wait-for cycle
 * of the review — A waits for B's range, B waits for the lock A holds — is reported as a
 * cycle.
 */
import { LocklessField, type SimThread, WaitQueue } from "@mnlab/sim";
import {
  type CoreVariant,
  describeRange,
  MERGED_CORE,
  type MmStruct,
  type MmuNotifierMm,
  type MmuNotifierRange,
} from "../src/index.ts";

/** One listed range: the range (its list_head, in the proposal's struct) and who listed it. */
interface ActiveRange {
  range: MmuNotifierRange;
  /** Oracle bookkeeping: the thread between this range's start and end. */
  owner: SimThread;
}

/**
 * wait_valid's queue: a wait_queue_head_t whose sleepers wait for the listed ranges that
 * conflict with theirs to leave, so the threads that listed them are whom they wait for.
 */
class RangeWaitQueue extends WaitQueue {
  /** Each sleeper's [start, end). */
  readonly waiting = new Map<SimThread, { start: number; end: number }>();

  constructor(
    ex: ConstructorParameters<typeof WaitQueue>[0],
    name: string,
    private readonly ranges: () => readonly ActiveRange[],
  ) {
    super(ex, name);
  }

  override owners(waiter?: SimThread): readonly SimThread[] {
    const w = waiter === undefined ? undefined : this.waiting.get(waiter);
    if (w === undefined) return [];
    return this.ranges()
      .filter((a) => a.range.start < w.end && w.start < a.range.end && a.owner !== waiter)
      .map((a) => a.owner);
  }
}

/** The proposal's per-mm fields (struct mmu_notifier_mm in 2015): the list, its count, the queue. */
class ActiveRanges {
  readonly ranges: ActiveRange[] = [];
  /** How many ranges are listed; read by wait_valid's wait_event condition without the lock. */
  readonly nranges: LocklessField<number>;
  readonly waitQueue: RangeWaitQueue;

  constructor(nmm: MmuNotifierMm) {
    const ex = nmm.kernel.ex;
    const mm = nmm.lock.name.replace(/->mmu_notifier_mm->lock$/, "");
    this.nranges = new LocklessField(ex, `${mm}->mmu_notifier_mm->nranges`, 0, nmm.lock);
    this.waitQueue = new RangeWaitQueue(ex, `${mm}->mmu_notifier_mm->wait_queue`, () => this.ranges);
  }
}

const perMm = new WeakMap<MmuNotifierMm, ActiveRanges>();

function activeRanges(nmm: MmuNotifierMm): ActiveRanges {
  let a = perMm.get(nmm);
  if (a === undefined) {
    a = new ActiveRanges(nmm);
    perMm.set(nmm, a);
  }
  return a;
}

/**
 * 2015 proposal, Jérôme Glisse / review thread: "a range is added before
 * ->invalidate_range_start" (the function's name is this model's).
 */
async function mmuNotifierRangeAdd(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<void> {
  const a = activeRanges(nmm);
  await nmm.lock.lock();
  a.ranges.push({ range, owner: nmm.kernel.ex.self() });
  await a.nranges.set(a.ranges.length);
  await nmm.lock.unlock();
}

/**
 * 2015 proposal, Jérôme Glisse / review thread: "and removed after ->invalidate_range_end";
 * the wake-up of wait_valid's sleepers is this model's (see the header).
 */
async function mmuNotifierRangeDel(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<void> {
  const a = activeRanges(nmm);
  await nmm.lock.lock();
  const i = a.ranges.findIndex((x) => x.range === range);
  if (i >= 0) a.ranges.splice(i, 1);
  await a.nranges.set(a.ranges.length);
  await nmm.lock.unlock();
  await a.waitQueue.wakeUpAll();
}

/** mm/mmu_notifier.c: __mmu_notifier_invalidate_range_start() @5.5 with the 2015 proposal's list (Jérôme Glisse / review thread). */
async function __mmuNotifierInvalidateRangeStart(range: MmuNotifierRange): Promise<number> {
  const nmm = range.mm.notifierMm!;
  await mmuNotifierRangeAdd(nmm, range);
  const ret = await MERGED_CORE.__mmu_notifier_invalidate_range_start(range);
  // Model decision: the caller of a refused non-blockable start issues no end (see header).
  if (ret !== 0) await mmuNotifierRangeDel(nmm, range);
  return ret;
}

/** mm/mmu_notifier.c: __mmu_notifier_invalidate_range_end() @5.5 with the 2015 proposal's list (Jérôme Glisse / review thread). */
async function __mmuNotifierInvalidateRangeEnd(range: MmuNotifierRange): Promise<void> {
  await MERGED_CORE.__mmu_notifier_invalidate_range_end(range);
  await mmuNotifierRangeDel(range.mm.notifierMm!, range);
}

/** 2015 proposal, Jérôme Glisse / review thread: is_valid's test (this model's name) — caller holds mmu_notifier_mm->lock. */
function isValidLocked(a: ActiveRanges, start: number, end: number): boolean {
  return !a.ranges.some((x) => x.range.start < end && start < x.range.end);
}

/**
 * 2015 proposal, Jérôme Glisse / review thread: mmu_notifier_range_is_valid(mm, start, end) — no active
 * invalidation conflicts with [start, end). A snapshot: a range may be listed right after.
 */
export async function mmuNotifierRangeIsValid(mm: MmStruct, start: number, end: number): Promise<boolean> {
  const nmm = mm.notifierMm;
  if (nmm === null) return true;
  const a = activeRanges(nmm);
  await nmm.lock.lock();
  const valid = isValidLocked(a, start, end);
  await nmm.lock.unlock();
  mm.kernel.ex.trace(
    "note",
    "mmu_notifier_range_is_valid",
    mm.name,
    `${describeRange({ start, end })} -> ${valid}`,
  );
  return valid;
}

/**
 * 2015 proposal, Jérôme Glisse / review thread: mmu_notifier_range_wait_valid(mm, start, end) — sleep until
 * no active invalidation conflicts with [start, end). Sleeps uninterruptibly and for as long
 * as conflicting ranges keep being listed: no timeout (the record gives none).
 */
export async function mmuNotifierRangeWaitValid(mm: MmStruct, start: number, end: number): Promise<void> {
  const nmm = mm.notifierMm;
  if (nmm === null) return;
  const k = mm.kernel;
  const a = activeRanges(nmm);
  k.ex.mightSleep("mmu_notifier_range_wait_valid");
  const me = k.ex.self();
  await nmm.lock.lock();
  while (!isValidLocked(a, start, end)) {
    const n = a.nranges.get();
    await nmm.lock.unlock();
    k.ex.trace("note", "mmu_notifier_range_wait_valid", mm.name, `${describeRange({ start, end })} sleeps`);
    a.waitQueue.waiting.set(me, { start, end });
    await a.waitQueue.waitEvent(() => a.nranges.get() !== n);
    a.waitQueue.waiting.delete(me);
    await nmm.lock.lock();
  }
  await nmm.lock.unlock();
}

export const coreVariant: CoreVariant = {
  id: "active-invalidation-ranges-2015",
  description:
    "the 2015 proposal (Glisse, never merged): a per-mm list of in-flight invalidation ranges, with mmu_notifier_range_is_valid and mmu_notifier_range_wait_valid",
  replaces: {
    __mmu_notifier_invalidate_range_start: __mmuNotifierInvalidateRangeStart,
    __mmu_notifier_invalidate_range_end: __mmuNotifierInvalidateRangeEnd,
  },
  provides: {
    mmu_notifier_range_is_valid: mmuNotifierRangeIsValid,
    mmu_notifier_range_wait_valid: mmuNotifierRangeWaitValid,
  },
};

export default coreVariant;
