/**
 * struct mmu_notifier_mm @5.5 (renamed mmu_notifier_subscriptions in 5.6): the per-mm
 * notifier state — the classic hlist, and the interval-notifier core's spinlock, sequence,
 * active count, tree, wait queue and deferred list. Created by the first registration.
 *
 * The protocol its fields implement (mm/mmu_notifier.c, 99cb252f5e68):
 *   invalidate_seq is even when idle and odd while "fully excluded" — while an invalidation
 *   that hit at least one interval notifier is running. Every notifier seq is odd. An
 *   invalidation that hits a notifier sets the low bit; the last invalidate_range_end of an
 *   exclusion period adds one (even again), applies the inserts and removes deferred while
 *   the tree had to stay still, and wakes read_begin/remove sleepers.
 *   States: idle (active == 0, seq even); partially excluded (active > 0, seq even: ranges
 *   are running but none hit a notifier; the tree may change); fully excluded (active > 0,
 *   seq odd: the tree must not change).
 */
import { SpinLock, WaitQueue } from "@mnlab/sim";
import { IntervalTree } from "../interval-tree.ts";
import type { Kernel } from "../kernel.ts";
import type { MmuIntervalNotifier } from "./interval-notifier.ts";
import type { MmuNotifier } from "./mmu-notifier.ts";

export class MmuNotifierMm {
  /** Classic subscribers (hlist, RCU/SRCU-protected for readers). */
  readonly list: MmuNotifier[] = [];
  /** An interval notifier was ever registered: gates the itree work. */
  hasItree = false;
  readonly lock: SpinLock;
  /** Starts at 2, so the first notifiers get seq 1 (2 - 1) rather than ULONG_MAX. */
  invalidateSeq = 2;
  activeInvalidateRanges = 0;
  readonly itree = new IntervalTree<MmuIntervalNotifier>();
  readonly wq: WaitQueue;
  /** Pending inserts (node not in the tree) and removes (node in the tree). */
  readonly deferredList: MmuIntervalNotifier[] = [];

  constructor(kernel: Kernel, mmName: string) {
    this.lock = new SpinLock(kernel.ex, `${mmName}->mmu_notifier_mm->lock`, "mmu_notifier_mm->lock");
    this.wq = new WaitQueue(kernel.ex, `${mmName}->mmu_notifier_mm->wq`);
  }

  /** mm/mmu_notifier.c: mn_itree_is_invalidating() @5.5 — caller holds lock. */
  isInvalidating(): boolean {
    return (this.invalidateSeq & 1) === 1;
  }
}
