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
import { LocklessField, SpinLock, WaitQueue } from "@mnlab/sim";
import { IntervalTree } from "../interval-tree.ts";
import type { Kernel } from "../kernel.ts";
import { type HasLifetime, Lifetime } from "../lifetime.ts";
import type { MmuIntervalNotifier } from "./interval-notifier.ts";
import type { MmuNotifier } from "./mmu-notifier.ts";

export class MmuNotifierMm implements HasLifetime {
  /** Freed with the mm_struct by the last mmdrop() (__mmdrop -> mmu_notifier_mm_destroy). */
  readonly lifetime: Lifetime;
  /** Classic subscribers (hlist, RCU/SRCU-protected for readers). */
  readonly list: MmuNotifier[] = [];
  /** An interval notifier was ever registered: gates the itree work. */
  hasItree = false;
  readonly lock: SpinLock;
  /**
   * invalidate_seq. Starts at 2, so the first notifiers get seq 1 (2 - 1) rather than
   * ULONG_MAX. Written only under `lock`, but read without it by the wait_event conditions
   * of mmu_interval_read_begin() and mmu_interval_notifier_remove() (READ_ONCE in 5.5): a
   * lockless field, so each store is its own scheduling point and a sleeper re-checking its
   * condition sees the stores of mn_itree_inv_end() as they happen. Model code stores with
   * `await seq.set(v)`; `invalidateSeq` is the plain read (under the lock, or by oracles).
   */
  readonly seq: LocklessField<number>;
  /**
   * active_invalidate_ranges. A plain field: every 5.5 access (mn_itree_inv_start_range,
   * mn_itree_inv_end, __mmu_interval_notifier_insert, and mn_itree_is_invalidating's
   * callers) holds `lock`, so one step per critical section loses nothing.
   */
  activeInvalidateRanges = 0;
  readonly itree = new IntervalTree<MmuIntervalNotifier>();
  readonly wq: WaitQueue;
  /** Pending inserts (node not in the tree) and removes (node in the tree). */
  readonly deferredList: MmuIntervalNotifier[] = [];

  constructor(
    readonly kernel: Kernel,
    mmName: string,
  ) {
    this.lock = new SpinLock(kernel.ex, `${mmName}->mmu_notifier_mm->lock`, "mmu_notifier_mm->lock");
    this.wq = new WaitQueue(kernel.ex, `${mmName}->mmu_notifier_mm->wq`);
    this.seq = new LocklessField(kernel.ex, `${mmName}->mmu_notifier_mm->invalidate_seq`, 2, this.lock);
    // Freed with the mm_struct by the last mmdrop(): the end-of-run mm_count check covers it.
    this.lifetime = new Lifetime(`struct mmu_notifier_mm of ${mmName}`, { heap: false });
  }

  /** The mm's seq, read plainly: by code holding `lock`, in a wait_event condition, by oracles. */
  get invalidateSeq(): number {
    return this.seq.get();
  }

  /** A store without a scheduling point: tests that corrupt core state only (model code: seq.set). */
  set invalidateSeq(v: number) {
    this.seq.poke(v);
  }

  /** mm/mmu_notifier.c: mn_itree_is_invalidating() @5.5 — caller holds lock. */
  isInvalidating(): boolean {
    return (this.invalidateSeq & 1) === 1;
  }
}
