/**
 * The oracle invariants of reference core.md section 6, as the model asserts them at run
 * time. A violation of a core invariant means the core model is wrong — or a driver broke
 * the core's contract or corrupted its state — and ends the execution as `core-invariant`
 * (the device-side ones end it as the device oracle's kind). Each invariant, by number, and
 * where it is asserted:
 *
 * 6.1 core state — the state checks below, after every step, for each mm whose
 *     mmu_notifier_mm->lock no thread holds (Execution.isHeld: a half-done critical section
 *     is not judged; see installCoreInvariants for why not protectedBy):
 *   1 parity: inserted notifiers' seqs odd; mm seq even when idle, odd only while active > 0
 *   2 monotonic: the mm seq never decreases and moves by one (|= 1, or += 1) per step
 *   3 balanced counting: 0 <= active <= open invalidations always; active == open whenever
 *     no thread is inside invalidate_range_start/end (the invalidate_range_start lockdep map
 *     is free) and the mm is not in exit_mmap's release (which counts without that map)
 *   4 tree stability: the tree does not change while the seq is odd; no deferred entry when even
 *   5 deferred semantics: a pending insert is not in the tree, a pending remove is
 *   6 callbacks only while the seq is odd, for notifiers in the tree that the range meets —
 *     at callback entry (CoreEvents.callbackEnter, called by interval-notifier.ts)
 *   7 hit => odd until the last end: cur_seq is the running period's odd seq (callback
 *     entry), and the seq turns even only when active is 0 (state check)
 * 6.2 read side:
 *   8 read_begin returns s only if s is not the running period's seq (CoreEvents.readBegin)
 *   9 retry soundness: a set_seq of N after read_begin(N) returned s makes the next
 *     read_retry(N, s) true (readBegin/setSeq/readRetry). The sample is taken when read_begin
 *     returns, not when it sampled: a callback of the same period it slept through ran before
 *     it returned, so its teardown precedes anything the reader programs.
 *  10 stale-fault guard: its first half is 9; its second half (a callback still blocked on
 *     L_N tears down what was just programmed) is the device oracles' (13-16)
 *  11 no spurious requirement: a permission, not an obligation — nothing is asserted, and no
 *     check here treats a true read_retry as wrong
 *  12 set_seq only inside N's own invalidate callback, with that callback's cur_seq
 *     (CoreEvents.setSeq), and — for a notifier read_retry is used on — holding a lock the
 *     callback took. Which lock is L_N only the driver knows; a set_seq holding none cannot
 *     be under it, and 16 (unsafe-map) checks the map side.
 * 6.3 device mappings — the device oracles (device/device-mmu.ts), at every device access and
 *     at rest (mm idle), and unsafe-map at every map:
 *  13 after a callback returns, no SPTE of R ∩ N is used: the access oracle (stale-access /
 *     use-after-free). That none *exists* at that instant is not asserted: nouveau's 5.5
 *     itree callback only calls set_seq and its hlist callback PFNCLRs right after, inside the
 *     same invalidate_range_start, before the PTEs change — allowed by the contract's "must no
 *     longer use", and caught by 15 if the clear never comes
 *  14 no mapping created from a PTE an active invalidation changed: at rest (15) and at access
 *  15 coherence at rest: the at-rest check (stale-access, use-after-free, write-after-protect)
 *  16 programming under L_N after a false read_retry: unsafe-map (DeviceMmu.map with a section)
 * 6.4 insert / remove:
 *  17 insert during an invalidation gets seq == mm seq (odd); idle, mm seq - 1
 *     (CoreEvents.inserted, at the end of the insert's critical section)
 *  18 when remove returns N is in neither tree nor deferred list and no callback of N runs
 *     (CoreEvents.removeReturn; and the state check: no callback runs for a notifier that is
 *     in neither)
 *  19 a remove that queued itself returns only after the mm seq moved past the seq it waited
 *     for (removeReturn); that a pending deferred insert returns without waiting is the code's
 *     shape (seq 0: no wait_event) and is tested in insert-remove.test.ts
 *  20 forbidden contexts: lockdep (sim) on the invalidate_range_start map that read_begin and
 *     remove touch — potential-deadlock / deadlock at run time
 *  21 argument checks: not a run-time check here — it would restate the function's own test;
 *     the WARN is a kernel-warn verdict at run time, and bad-args.test.ts asserts -EOVERFLOW,
 *     -EINVAL and the unchanged state
 * 6.5 blocking, non-blocking, release:
 *  22 a false return on a blockable range WARNs: mn_itree_invalidate's k.warn -> kernel-warn
 *  23 non-blocking failure restores the count: 3 (exact at rest) and 7 (even only at 0)
 *  24 release: each notifier in the tree when exit_mmap's RELEASE period began gets exactly
 *     one blockable RELEASE callback over [0, ULONG_MAX) (callback entry, and the state check
 *     once exit_mmap is done); no SPTE afterwards is 15's
 * 6.6 liveness:
 *  25 read_begin terminates: the sim's deadlock and step-bound (livelock) detectors
 *  26 driver retry loops are not guaranteed to terminate: a non-guarantee, nothing to assert;
 *     scenarios model the drivers' 1000 ms timeouts
 * 6.7 old API (5.4 hmm_mirror):
 *  27 the lazy-valid ABA is caught by the device oracles (13/15): nouveau V1, core hmm54.test
 *  28 leaked notifiers: hmm->notifiers == open invalidations whenever no thread is inside
 *     invalidate_range_start/end (state check) — the pre-5.3 error flow breaks it
 *  29 register-during-invalidation (<= 5.1): no <= 5.1 model exists (5.4's hmm_range_register
 *     gates on notifiers == 0, hmm54.test); a variant that models it is judged by 14
 *  30 global gating: a liveness contrast, not a safety property; shown by nouveau V6 and
 *     hmm54.test (b), asserted nowhere at run time
 */
import { type Holdable, Mutex, NumericWatchKey, RwSemaphore, SpinLock } from "@mnlab/sim";
import { ULONG_MAX } from "../interval-tree.ts";
import type { Kernel } from "../kernel.ts";
import type { MmStruct } from "../mm/mm.ts";
import type { MmuIntervalNotifier } from "./interval-notifier.ts";
import type { MmuNotifierRange } from "./range.ts";

/**
 * What the interval-notifier code reports to the oracle (not kernel behaviour: the kernel has
 * no such calls). interval-notifier.ts calls these through coreEvents(kernel).
 */
export interface CoreEvents {
  /** mn_itree_invalidate / mn_itree_release, just before mni->ops->invalidate. */
  callbackEnter(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): void;
  /** ... and just after it returned `ok`. */
  callbackExit(sub: MmuIntervalNotifier): void;
  /** mmu_interval_set_seq, before the store. */
  setSeq(sub: MmuIntervalNotifier, curSeq: number): void;
  /** mmu_interval_read_begin, as it returns `seq`. */
  readBegin(sub: MmuIntervalNotifier, seq: number): void;
  /** mmu_interval_read_retry, as it returns `retry`. */
  readRetry(sub: MmuIntervalNotifier, seq: number, retry: boolean): void;
  /** mmu_interval_notifier_remove, as it returns; `waited` is the seq it slept on, or 0. */
  removeReturn(sub: MmuIntervalNotifier, waited: number): void;
  /** __mmu_interval_notifier_insert, before it drops the lock: the seq it was given. */
  inserted(sub: MmuIntervalNotifier): void;
}

const observers = new WeakMap<Kernel, CoreEvents>();

/** The oracle listening on this kernel, if installCoreInvariants() ran. */
export function coreEvents(kernel: Kernel): CoreEvents | undefined {
  return observers.get(kernel);
}

interface MmWatch {
  lastSeq: number;
  /** Tree membership frozen when the seq turned odd. */
  frozen: Set<MmuIntervalNotifier> | null;
  /** 24: the tree when the RELEASE period began, and exit_mmap's end already judged. */
  releaseTree: Set<MmuIntervalNotifier> | null;
  releaseJudged: boolean;
}

/** A callback in progress, and the thread running it. */
interface RunningCallback {
  sub: MmuIntervalNotifier;
  thread: number;
  curSeq: number;
  /** Locks the thread held when the callback was called (the caller's, e.g. mmap_sem). */
  heldAtEntry: readonly Holdable[];
}

class CoreOracle implements CoreEvents {
  readonly running: RunningCallback[] = [];
  /** 9: per notifier, per reader thread, the seq read_begin returned and whether set_seq ran since. */
  readonly samples = new Map<MmuIntervalNotifier, Map<number, { seq: number; dirty: boolean }>>();
  /** 12: notifiers set_seq was called on without a lock its callback took; read_retry used on. */
  readonly unlockedSetSeq = new Set<MmuIntervalNotifier>();
  readonly retried = new Set<MmuIntervalNotifier>();
  /** 24: RELEASE callbacks per notifier. */
  readonly releases = new Map<MmuIntervalNotifier, number>();
  readonly watch = new Map<MmStruct, MmWatch>();

  constructor(readonly kernel: Kernel) {}

  private fail(n: number, message: string): never {
    return this.kernel.ex.fail("core-invariant", `${message} (core.md 6, invariant ${n})`);
  }

  private me(): number {
    return this.kernel.ex.self().id;
  }

  callbackEnter(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): void {
    const mm = range.mm;
    const nmm = mm.notifierMm!;
    const seq = nmm.invalidateSeq;
    if ((seq & 1) !== 1) this.fail(6, `${sub.name}: invalidate called while invalidate_seq ${seq} is even`);
    if (nmm.activeInvalidateRanges <= 0) this.fail(6, `${sub.name}: invalidate called with no active range`);
    if (!nmm.itree.has(sub)) this.fail(6, `${sub.name}: invalidate called for a notifier not in the tree`);
    if (!(sub.start < range.end && range.start <= sub.last)) {
      this.fail(6, `${sub.name}: invalidate called for a range that does not meet its interval`);
    }
    if (curSeq !== seq)
      this.fail(7, `${sub.name}: cur_seq ${curSeq} is not the period's invalidate_seq ${seq}`);
    if (range.event === "RELEASE") {
      if (!range.blockable || range.start !== 0 || range.end !== ULONG_MAX) {
        this.fail(24, `${sub.name}: RELEASE invalidation not blockable over [0, ULONG_MAX)`);
      }
      const w = this.watchOf(mm);
      w.releaseTree ??= new Set(nmm.itree.items());
      const n = (this.releases.get(sub) ?? 0) + 1;
      if (n > 1) this.fail(24, `${sub.name}: a second RELEASE invalidation`);
      this.releases.set(sub, n);
    }
    const t = this.kernel.ex.self();
    this.running.push({ sub, thread: t.id, curSeq, heldAtEntry: [...t.held] });
  }

  callbackExit(sub: MmuIntervalNotifier): void {
    const me = this.me();
    const i = this.running.findLastIndex((c) => c.sub === sub && c.thread === me);
    if (i >= 0) this.running.splice(i, 1);
  }

  setSeq(sub: MmuIntervalNotifier, curSeq: number): void {
    const t = this.kernel.ex.self();
    const cb = this.running.findLast((c) => c.sub === sub && c.thread === t.id);
    if (cb === undefined) this.fail(12, `mmu_interval_set_seq(${sub.name}) outside its invalidate callback`);
    if (curSeq !== cb.curSeq) {
      this.fail(12, `mmu_interval_set_seq(${sub.name}, ${curSeq}): the callback's cur_seq is ${cb.curSeq}`);
    }
    const taken = t.held.filter((h) => !cb.heldAtEntry.includes(h));
    if (!taken.some((h) => h instanceof Mutex || h instanceof SpinLock || h instanceof RwSemaphore)) {
      this.unlockedSetSeq.add(sub);
      this.checkUserLock(sub);
    }
    for (const s of this.samples.get(sub)?.values() ?? []) s.dirty = true;
  }

  readBegin(sub: MmuIntervalNotifier, seq: number): void {
    const nmm = sub.mm!.notifierMm!;
    if (seq === nmm.invalidateSeq) {
      this.fail(8, `mmu_interval_read_begin(${sub.name}) returns ${seq} while that exclusion period runs`);
    }
    let m = this.samples.get(sub);
    if (m === undefined) this.samples.set(sub, (m = new Map()));
    m.set(this.me(), { seq, dirty: false });
  }

  /**
   * 12's lock rule binds a notifier whose driver pairs set_seq with read_retry: a set_seq with
   * no lock the callback took, on a notifier that read_retry is also used on (either order).
   * A notifier nobody calls read_retry on (a tear-down-only user) needs no set_seq at all.
   */
  private checkUserLock(sub: MmuIntervalNotifier): void {
    if (this.unlockedSetSeq.has(sub) && this.retried.has(sub)) {
      this.fail(
        12,
        `mmu_interval_set_seq(${sub.name}) holding no lock the callback took, while read_retry is used on it: not under the user lock`,
      );
    }
  }

  readRetry(sub: MmuIntervalNotifier, seq: number, retry: boolean): void {
    this.retried.add(sub);
    this.checkUserLock(sub);
    const m = this.samples.get(sub);
    const s = m?.get(this.me());
    if (s === undefined || s.seq !== seq) return;
    if (s.dirty && !retry) {
      this.fail(9, `mmu_interval_read_retry(${sub.name}, ${seq}) is false after a set_seq since read_begin`);
    }
    m!.delete(this.me());
  }

  removeReturn(sub: MmuIntervalNotifier, waited: number): void {
    const nmm = sub.mm!.notifierMm!;
    if (nmm.itree.has(sub) || nmm.deferredList.includes(sub)) {
      this.fail(18, `mmu_interval_notifier_remove(${sub.name}) returns with the notifier still linked`);
    }
    if (this.running.some((c) => c.sub === sub)) {
      this.fail(18, `mmu_interval_notifier_remove(${sub.name}) returns while its callback runs`);
    }
    if (waited !== 0 && nmm.invalidateSeq === waited) {
      this.fail(
        19,
        `mmu_interval_notifier_remove(${sub.name}) returns inside the period ${waited} it waited for`,
      );
    }
    this.samples.delete(sub);
  }

  inserted(sub: MmuIntervalNotifier): void {
    const nmm = sub.mm!.notifierMm!;
    const active = nmm.activeInvalidateRanges;
    const want = active > 0 ? nmm.invalidateSeq : nmm.invalidateSeq - 1;
    if (sub.invalidateSeq !== want || (want & 1) !== 1) {
      this.fail(
        17,
        `${sub.name} inserted with seq ${sub.invalidateSeq}, not ${want} (${active > 0 ? "during an invalidation: the mm's odd seq" : "idle: the mm's seq - 1"})`,
      );
    }
  }

  watchOf(mm: MmStruct): MmWatch {
    let w = this.watch.get(mm);
    if (w === undefined) {
      w = { lastSeq: mm.notifierMm!.invalidateSeq, frozen: null, releaseTree: null, releaseJudged: false };
      this.watch.set(mm, w);
    }
    return w;
  }
}

/**
 * What the state check (checkMm) reads, as one key (its watch, @mnlab/sim checks.ts): per
 * mm whether its lock is held (the check then skips it, and nothing else of it counts), else
 * the seq, the counts, the tree, the deferred list and the callbacks the oracle saw enter and
 * leave for it, and the RELEASE callbacks. A step that changes none of it is invisible to the
 * check, and a partial-order reduction may reorder it freely. Taken at every point, so built
 * as numbers (NumericWatchKey: the same string while none moves); lists go length first.
 */
function stateWatch(kernel: Kernel, oracle: CoreOracle, w: NumericWatchKey): string {
  const ex = kernel.ex;
  w.begin();
  for (const mm of kernel.mms) {
    const nmm = mm.notifierMm;
    w.push(id(mm));
    if (nmm === null || !nmm.hasItree) {
      w.push(-1);
      continue;
    }
    if (ex.isHeld(nmm.lock)) {
      w.push(-2);
      continue;
    }
    w.push(mm.exited ? 1 : 0);
    w.push(mm.activeInvalidations);
    w.push(nmm.invalidateSeq);
    w.push(nmm.activeInvalidateRanges);
    const items = nmm.itree.inOrderItems();
    w.push(items.length);
    for (const sub of items) {
      w.push(id(sub));
      w.push(sub.invalidateSeq);
    }
    w.push(nmm.deferredList.length);
    for (const sub of nmm.deferredList) {
      w.push(id(sub));
      w.push(sub.invalidateSeq);
      w.push(sub.rbEmpty ? 1 : 0);
    }
  }
  w.push(-3);
  w.push(oracle.running.length);
  for (const c of oracle.running) {
    w.push(id(c.sub));
    w.push(c.sub.mm === null ? 0 : id(c.sub.mm));
  }
  w.push(oracle.releases.size);
  for (const [sub, n] of oracle.releases) {
    w.push(id(sub));
    w.push(n);
  }
  return w.end();
}

/**
 * What the count check (checkCounts) reads: whether the invalidate_range_start map is held
 * (then it judges nothing), else per mm whose lock is free its liveness, its open
 * invalidations, the interval core's count and the 5.4 hmm's `notifiers` counts.
 */
function countsWatch(kernel: Kernel, w: NumericWatchKey): string {
  const ex = kernel.ex;
  w.begin();
  if (ex.isHeld(kernel.invalidateStartMap)) {
    w.push(-4);
    return w.end();
  }
  for (const mm of kernel.mms) {
    const nmm = mm.notifierMm;
    w.push(id(mm));
    if (nmm === null) {
      w.push(-1);
      continue;
    }
    if (ex.isHeld(nmm.lock)) {
      w.push(-2);
      continue;
    }
    w.push(mm.alive ? 1 : 0);
    w.push(mm.exited ? 1 : 0);
    w.push(mm.activeInvalidations);
    w.push(nmm.hasItree ? nmm.activeInvalidateRanges : -5);
    for (const sub of nmm.list) {
      const notifiers = (sub as unknown as { notifiers?: unknown }).notifiers;
      if (sub.internal && typeof notifiers === "number") {
        w.push(id(sub));
        w.push(notifiers);
      }
    }
    w.push(-6);
  }
  return w.end();
}

/** Stable small ids for the watch key (identity matters to the checks, not names). */
const objectIds = new WeakMap<object, number>();
let lastObjectId = 0;

function id(o: object): number {
  let n = objectIds.get(o);
  if (n === undefined) objectIds.set(o, (n = ++lastObjectId));
  return n;
}

/** An empty protectedBy, one array for every point (not a new one per call). */
const NO_LOCKS: readonly Holdable[] = [];

export function installCoreInvariants(kernel: Kernel): void {
  const oracle = new CoreOracle(kernel);
  observers.set(kernel, oracle);
  const stateKey = new NumericWatchKey();
  const countsKey = new NumericWatchKey();
  kernel.ex.addCheck(
    "core-invariant",
    () => {
      for (const mm of kernel.mms) {
        // The state is mmu_notifier_mm->lock's: an mm is judged only while no thread holds
        // its lock, so a check between two stores of one critical section does not see a
        // half-done update — and per mm, so that another mm's lock does not hide two steps
        // of this one.
        if (mm.notifierMm === null || kernel.ex.isHeld(mm.notifierMm.lock)) continue;
        const msg = checkMm(mm, oracle);
        if (msg !== null) return `${mm.name}: ${msg}`;
      }
      return null;
    },
    // An empty protectedBy: the check also runs the moment any lock is released (a state
    // that lasts from an unlock to the thread's next point is seen), and gates itself per mm.
    { protectedBy: NO_LOCKS, watch: () => stateWatch(kernel, oracle, stateKey) },
  );
  kernel.ex.addCheck(
    "core-invariant",
    () => {
      // Counts agree only outside invalidate_range_start/end, which raise and drop the open
      // count and the core's (or hmm's) count at different points. Gated by hand rather than
      // with protectedBy: protected checks also run the moment a lock is released, and the
      // open count moves just after the lockdep map is released, in the same step.
      if (kernel.ex.isHeld(kernel.invalidateStartMap)) return null;
      for (const mm of kernel.mms) {
        if (mm.notifierMm === null || kernel.ex.isHeld(mm.notifierMm.lock)) continue;
        const msg = checkCounts(mm);
        if (msg !== null) return `${mm.name}: ${msg}`;
      }
      return null;
    },
    { watch: () => countsWatch(kernel, countsKey) },
  );
}

/** 3 (exact at rest) and 28. */
function checkCounts(mm: MmStruct): string | null {
  const nmm = mm.notifierMm;
  if (nmm === null) return null;
  if (!mm.alive && !mm.exited) return null; // exit_mmap's release counts without the map
  const open = mm.activeInvalidations;
  if (nmm.hasItree && nmm.activeInvalidateRanges !== open) {
    return `active_invalidate_ranges ${nmm.activeInvalidateRanges} but ${open} invalidations are open (invariant 3)`;
  }
  for (const sub of nmm.list) {
    // 5.4's struct hmm (hmm/mirror.ts), recognised by its count: notifier/ does not import hmm/.
    const notifiers = (sub as unknown as { notifiers?: unknown }).notifiers;
    if (!sub.internal || typeof notifiers !== "number") continue;
    if (notifiers !== open) {
      return `${sub.name}->notifiers is ${notifiers} but ${open} invalidations are open (invariant 28)`;
    }
  }
  return null;
}

function checkMm(mm: MmStruct, oracle: CoreOracle): string | null {
  const nmm = mm.notifierMm;
  if (nmm === null || !nmm.hasItree) return null;
  const w = oracle.watchOf(mm);
  const seq = nmm.invalidateSeq;
  const odd = (seq & 1) === 1;
  const active = nmm.activeInvalidateRanges;
  // 2: one step sets the low bit (start, insert) or adds one (the last end): never more.
  if (seq < w.lastSeq) return `invalidate_seq went back from ${w.lastSeq} to ${seq} (invariant 2)`;
  if (seq - w.lastSeq > 1)
    return `invalidate_seq jumped from ${w.lastSeq} to ${seq} in one step (invariant 2)`;
  // 7: a period ends (odd -> even) only with the last end.
  if (seq !== w.lastSeq && !odd && active !== 0) {
    return `invalidate_seq turned even (${seq}) with ${active} ranges still active (invariant 7)`;
  }
  w.lastSeq = seq;
  // 3
  if (active < 0) return `active_invalidate_ranges is ${active} (invariant 3)`;
  if (active > mm.activeInvalidations) {
    return `active_invalidate_ranges ${active} exceeds the ${mm.activeInvalidations} open invalidations (invariant 3)`;
  }
  // 1
  if (active === 0 && odd) return `invalidate_seq ${seq} is odd while no range is active (invariant 1)`;
  for (const sub of nmm.itree.inOrderItems()) {
    if ((sub.invalidateSeq & 1) !== 1) return `${sub.name} seq ${sub.invalidateSeq} is even (invariant 1)`;
  }
  for (const sub of nmm.deferredList) {
    if ((sub.invalidateSeq & 1) !== 1) return `${sub.name} seq ${sub.invalidateSeq} is even (invariant 1)`;
    // 5
    if (sub.rbEmpty === nmm.itree.has(sub)) {
      return `deferred ${sub.name}: ${sub.rbEmpty ? "pending insert is already in the tree" : "pending remove is not in the tree"} (invariant 5)`;
    }
  }
  // 18: no callback runs for a notifier that is in neither the tree nor the deferred list.
  // (Membership asked per running callback, usually none: no set built at every step.)
  for (const c of oracle.running) {
    if (c.sub.mm === mm && !nmm.itree.has(c.sub) && !nmm.deferredList.includes(c.sub))
      return `${c.sub.name}: callback running after removal (invariant 18)`;
  }
  // 24: once exit_mmap is done, every notifier of the RELEASE period got its one callback.
  if (mm.exited && !w.releaseJudged) {
    w.releaseJudged = true;
    for (const sub of w.releaseTree ?? []) {
      if (oracle.releases.get(sub) !== 1)
        return `${sub.name}: no RELEASE invalidation at exit_mmap (invariant 24)`;
    }
  }
  // 4
  if (!odd) {
    if (nmm.deferredList.length > 0) {
      return `deferred list not empty while invalidate_seq ${seq} is even (invariant 4)`;
    }
    w.frozen = null;
    return null;
  }
  if (w.frozen === null) {
    w.frozen = new Set(nmm.itree.items());
    return null;
  }
  if (w.frozen.size !== nmm.itree.size)
    return `the tree changed size while invalidate_seq ${seq} is odd (invariant 4)`;
  for (const sub of nmm.itree.inOrderItems()) {
    if (!w.frozen.has(sub))
      return `${sub.name} entered the tree while invalidate_seq ${seq} is odd (invariant 4)`;
  }
  return null;
}
