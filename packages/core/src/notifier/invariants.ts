/**
 * The core-state invariants of the interval-notifier scheme (reference core.md 6.1), as a
 * check the runtime runs after every step. A violation means the core model is wrong — or
 * a driver corrupted core state — and ends the execution as `core-invariant`.
 *   1 parity: notifier seqs odd; mm seq even when idle; odd only while ranges are active
 *   2 the mm seq never decreases
 *   3 balanced counting: 0 <= active <= invalidations between start and end
 *   4 tree stability: the tree does not change while the seq is odd; no deferred work when even
 *   5 deferred entries: a pending insert is not in the tree, a pending remove is
 * (6 and 7, callbacks only while odd and only for notifiers in the tree, are asserted where
 * the callback is made: interval-notifier.ts.)
 */
import type { SpinLock } from "@mnlab/sim";
import type { Kernel } from "../kernel.ts";
import type { MmStruct } from "../mm/mm.ts";
import type { MmuIntervalNotifier } from "./interval-notifier.ts";

interface MmWatch {
  lastSeq: number;
  /** Tree membership frozen when the seq turned odd. */
  frozen: Set<MmuIntervalNotifier> | null;
}

export function installCoreInvariants(kernel: Kernel): void {
  const watch = new Map<MmStruct, MmWatch>();
  kernel.ex.addCheck(
    "core-invariant",
    () => {
      for (const mm of kernel.mms) {
        const msg = checkMm(mm, watch);
        if (msg !== null) return `${mm.name}: ${msg}`;
      }
      return null;
    },
    // The state is mmu_notifier_mm->lock's: checked only while no mm's lock is held, so a
    // check between two stores of one critical section does not see a half-done update.
    { protectedBy: () => notifierLocks(kernel) },
  );
}

function* notifierLocks(kernel: Kernel): Iterable<SpinLock> {
  for (const mm of kernel.mms) if (mm.notifierMm !== null) yield mm.notifierMm.lock;
}

function checkMm(mm: MmStruct, watch: Map<MmStruct, MmWatch>): string | null {
  const nmm = mm.notifierMm;
  if (nmm === null || !nmm.hasItree) return null;
  let w = watch.get(mm);
  if (w === undefined) {
    w = { lastSeq: nmm.invalidateSeq, frozen: null };
    watch.set(mm, w);
  }
  const seq = nmm.invalidateSeq;
  const odd = (seq & 1) === 1;
  // One step sets the low bit (start, insert) or adds one (the last end): never more.
  if (seq < w.lastSeq) return `invalidate_seq went back from ${w.lastSeq} to ${seq}`;
  if (seq - w.lastSeq > 1) return `invalidate_seq jumped from ${w.lastSeq} to ${seq} in one step`;
  w.lastSeq = seq;
  if (nmm.activeInvalidateRanges < 0) return `active_invalidate_ranges is ${nmm.activeInvalidateRanges}`;
  if (nmm.activeInvalidateRanges > mm.activeInvalidations) {
    return `active_invalidate_ranges ${nmm.activeInvalidateRanges} exceeds the ${mm.activeInvalidations} open invalidations`;
  }
  if (nmm.activeInvalidateRanges === 0 && odd) return `invalidate_seq ${seq} is odd while no range is active`;
  for (const sub of nmm.itree.items()) {
    if ((sub.invalidateSeq & 1) !== 1) return `${sub.name} seq ${sub.invalidateSeq} is even`;
  }
  for (const sub of nmm.deferredList) {
    if ((sub.invalidateSeq & 1) !== 1) return `${sub.name} seq ${sub.invalidateSeq} is even`;
    if (sub.rbEmpty === nmm.itree.has(sub)) {
      return `deferred ${sub.name}: ${sub.rbEmpty ? "pending insert is already in the tree" : "pending remove is not in the tree"}`;
    }
  }
  if (!odd) {
    if (nmm.deferredList.length > 0) return `deferred list not empty while invalidate_seq ${seq} is even`;
    w.frozen = null;
    return null;
  }
  if (w.frozen === null) {
    w.frozen = new Set(nmm.itree.items());
    return null;
  }
  if (w.frozen.size !== nmm.itree.size) return `the tree changed size while invalidate_seq ${seq} is odd`;
  for (const sub of nmm.itree.items()) {
    if (!w.frozen.has(sub)) return `${sub.name} entered the tree while invalidate_seq ${seq} is odd`;
  }
  return null;
}
