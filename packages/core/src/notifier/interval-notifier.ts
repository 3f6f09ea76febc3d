/**
 * mmu_interval_notifier as merged in Linux 5.5 (99cb252f5e68, mm/mmu_notifier.c and the
 * static inlines of include/linux/mmu_notifier.h). The state machine is described on
 * MmuNotifierMm (notifier-mm.ts); this file is its operations, in the kernel's order.
 *
 * The collision-retry protocol a driver follows:
 *   seq = read_begin(mni)               sleeps only if mni is inside the current exclusion
 *   ... hmm_range_fault / GUP ...       may abort early on check_retry(mni, seq)
 *   lock(user_lock)
 *   if read_retry(mni, seq): unlock, again
 *   program the device; unlock
 * and its invalidate callback does lock(user_lock); set_seq(mni, cur_seq); tear down; unlock.
 *
 * Oracle bookkeeping (not kernel state) is kept on the notifier: which thread's read_retry
 * last returned false for which seq, so the device model can check that mappings are created
 * only under the user lock after a false read_retry (reference 6.2 item 16).
 */
import { EAGAIN, EINVAL, EOVERFLOW, errname } from "../errno.ts";
import { ULONG_MAX } from "../interval-tree.ts";
import { deref, type HasLifetime, Lifetime, NullDereference, touch } from "../lifetime.ts";
import { type MmStruct, mmdrop, mmgrab } from "../mm/mm.ts";
import { hex } from "../mm/page.ts";
import { coreFunctions } from "./core-seam.ts";
import { coreEvents } from "./invariants.ts";
import { __mmuNotifierRegister, mmuNotifierRegister } from "./mmu-notifier.ts";
import type { MmuNotifierMm } from "./notifier-mm.ts";
import { describeRange, type MmuNotifierRange } from "./range.ts";

/** struct mmu_interval_notifier_ops @5.5 */
export interface MmuIntervalNotifierOps {
  /**
   * Called in invalidate_range_start for every notifier whose interval meets the range.
   * Returns false only when the range is non-blockable and it would have to sleep.
   */
  invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): Promise<boolean>;
}

/**
 * struct mmu_interval_notifier @5.5. Drivers embed it in their own struct: a driver class
 * that extends it is that struct, and its `lifetime` is the container's (kfree() of the
 * driver struct frees the notifier). Every core access to a freed notifier — the tree walk
 * reaching it, read_begin, read_retry, set_seq, remove — is a use-after-free.
 */
export class MmuIntervalNotifier implements HasLifetime {
  mm: MmStruct | null = null;
  ops: MmuIntervalNotifierOps | null = null;
  start = 0;
  /** Inclusive, like interval_tree_node.last. */
  last = 0;
  /** Always odd once inserted. */
  invalidateSeq = 0;
  /** On the deferred list (!hlist_unhashed(&deferred_item)). */
  deferred = false;
  /** The rb node was cleared by insert (RB_CLEAR_NODE) and not yet linked. */
  rbEmpty = true;
  /** rb_erase() does not clear the node: remember it was linked once and erased. */
  erased = false;

  // ---- oracle bookkeeping
  /** Last read_retry() that returned false: by whom, for which seq, at which step. */
  lastGoodRetry: { thread: number; seq: number; step: number } | null = null;

  /** The embedding struct's lifetime; a subclass may rename or share it. */
  lifetime: Lifetime;

  constructor(readonly name: string) {
    // Embedded in the driver struct whose lifetime replaces this one (or on a stack frame).
    this.lifetime = new Lifetime(`struct mmu_interval_notifier ${name}`, { heap: false });
  }

  get interval(): { start: number; end: number } {
    return { start: this.start, end: this.last + 1 };
  }
}

/**
 * mm/mmu_notifier.c: mn_itree_inv_start_range() @5.5 — count the range, find the first hit,
 * enter full exclusion if anything was hit, report the seq the callbacks get.
 */
async function mnItreeInvStartRange(
  nmm: MmuNotifierMm,
  range: MmuNotifierRange,
): Promise<{ first: MmuIntervalNotifier | undefined; curSeq: number }> {
  await nmm.lock.lock();
  nmm.activeInvalidateRanges++;
  const first = nmm.itree.firstOverlapping(range.start, range.end);
  if (first !== undefined) {
    touch(range.mm.kernel, first, "mn_itree_inv_start_range: interval_tree_iter_first");
    await nmm.seq.set(nmm.invalidateSeq | 1);
  }
  const curSeq = nmm.invalidateSeq;
  await nmm.lock.unlock();
  return { first, curSeq };
}

/**
 * mm/mmu_notifier.c: mn_itree_invalidate() @5.5 — call every overlapping notifier. The
 * walk after the first hit runs without the spinlock: the tree cannot change while the seq
 * is odd. A false return on a blockable range is a WARN and the walk goes on; on a
 * non-blockable range it stops, and the core ends its own count (the caller may not).
 * Unlike the hlist path, 5.5 does not wrap these callbacks in non_block_start(): a
 * non-blockable interval callback that sleeps is caught only by checks 5.5 itself makes
 * (a might_sleep under a spinlock the callback holds), not by a non-blocking region.
 */
export async function mnItreeInvalidate55(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<number> {
  const k = range.mm.kernel;
  const { first, curSeq } = await mnItreeInvStartRange(nmm, range);
  for (let sub = first; sub !== undefined; sub = nmm.itree.nextOverlapping(sub, range.start, range.end)) {
    touch(k, sub, "mn_itree_invalidate: mni->ops->invalidate");
    const ok = await callInvalidate(sub, range, curSeq);
    if (!ok) {
      if (range.blockable) {
        k.warn(`${sub.name}: invalidate returned false on a blockable range`);
        continue;
      }
      await coreFunctions().mn_itree_inv_end(nmm);
      return EAGAIN;
    }
  }
  return 0;
}

async function callInvalidate(
  sub: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const k = range.mm.kernel;
  const ops = deref(sub.ops, `mn_itree_invalidate: ${sub.name}->ops`);
  k.ex.count("callbacks");
  k.ex.trace("call", "mni->ops->invalidate", sub.name, `${describeRange(range)} cur_seq=${curSeq}`);
  // mm/mmu_notifier.c @5.5: `ret = mni->ops->invalidate(mni, range, cur_seq);` with no
  // non_block_start()/non_block_end() around it (only mn_hlist_invalidate_range_start has them).
  coreEvents(k)?.callbackEnter(sub, range, curSeq); // oracle: core.md 6 items 6, 7, 24
  const ok = await ops.invalidate(sub, range, curSeq);
  coreEvents(k)?.callbackExit(sub);
  k.ex.trace("ret", "mni->ops->invalidate", sub.name, String(ok));
  return ok;
}

/**
 * mm/mmu_notifier.c: mn_itree_inv_end() @5.5 — the last end of a full exclusion period
 * makes the seq even, applies the deferred inserts/removes, and wakes the sleepers.
 */
export async function mnItreeInvEnd55(nmm: MmuNotifierMm): Promise<void> {
  await nmm.lock.lock();
  nmm.activeInvalidateRanges--;
  if (nmm.activeInvalidateRanges !== 0 || !nmm.isInvalidating()) {
    await nmm.lock.unlock();
    return;
  }
  await nmm.seq.set(nmm.invalidateSeq + 1);
  for (const sub of nmm.deferredList.splice(0)) {
    touch(nmm.kernel, sub, "mn_itree_inv_end: deferred_list");
    if (sub.rbEmpty) {
      nmm.itree.insert(sub, sub.start, sub.last + 1);
      sub.rbEmpty = false;
    } else {
      nmm.itree.remove(sub);
      sub.erased = true;
    }
    sub.deferred = false;
  }
  await nmm.lock.unlock();
  await nmm.wq.wakeUpAll();
}

/** mm/mmu_notifier.c: mn_itree_release() @5.5 — one blockable RELEASE over everything. */
export async function mnItreeRelease55(nmm: MmuNotifierMm, mm: MmStruct): Promise<void> {
  const k = mm.kernel;
  const range: MmuNotifierRange = { mm, start: 0, end: ULONG_MAX, event: "RELEASE", blockable: true };
  mm.activeInvalidations++; // oracle bookkeeping: an open invalidation like any other
  const { first, curSeq } = await mnItreeInvStartRange(nmm, range);
  for (let sub = first; sub !== undefined; sub = nmm.itree.nextOverlapping(sub, range.start, range.end)) {
    touch(k, sub, "mn_itree_release: mni->ops->invalidate");
    const ok = await callInvalidate(sub, range, curSeq);
    if (!ok) k.warn(`${sub.name}: invalidate returned false on release`);
  }
  await coreFunctions().mn_itree_inv_end(nmm);
  mm.activeInvalidations--;
}

/** mm/mmu_notifier.c: __mmu_interval_notifier_insert() @5.5 */
async function __mmuIntervalNotifierInsert(
  sub: MmuIntervalNotifier,
  mm: MmStruct,
  nmm: MmuNotifierMm,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<number> {
  const k = mm.kernel;
  touch(k, sub, "__mmu_interval_notifier_insert");
  sub.mm = mm;
  sub.ops = ops;
  sub.rbEmpty = true;
  sub.erased = false;
  sub.start = start;
  // check_add_overflow(start, length - 1, &last): the tree's last is inclusive.
  if (length === 0 || start + length - 1 >= ULONG_MAX) return EOVERFLOW;
  sub.last = start + length - 1;
  // "Must call with a mmget() held." — yet 5.5 tests mm_count, the struct's own count
  // (WARN_ON(atomic_read(&mm->mm_count) <= 0)); the mm_users test is a later kernel's. So in
  // 5.5 an insert on an mm whose users are gone (exit_mmap ran) but that is still grabbed
  // succeeds, and the notifier will never be invalidated again (reference core.md 1.6 item 3).
  if ((await mm.mmCount.read()) <= 0) {
    k.warn("mmu_interval_notifier_insert: WARN_ON(atomic_read(&mm->mm_count) <= 0)");
    return EINVAL;
  }
  await mmgrab(mm); // pairs with the mmdrop in remove
  await nmm.lock.lock();
  if (nmm.activeInvalidateRanges !== 0) {
    if (nmm.isInvalidating()) {
      nmm.deferredList.unshift(sub);
      sub.deferred = true;
    } else {
      await nmm.seq.set(nmm.invalidateSeq | 1);
      nmm.itree.insert(sub, sub.start, sub.last + 1);
      sub.rbEmpty = false;
    }
    sub.invalidateSeq = nmm.invalidateSeq;
  } else {
    if (nmm.isInvalidating()) k.warn("mmu_interval_notifier_insert: idle mm with an odd seq");
    sub.invalidateSeq = nmm.invalidateSeq - 1;
    nmm.itree.insert(sub, sub.start, sub.last + 1);
    sub.rbEmpty = false;
  }
  coreEvents(k)?.inserted(sub); // oracle: core.md 6 item 17
  await nmm.lock.unlock();
  return 0;
}

/**
 * mm/mmu_notifier.c: mmu_interval_notifier_insert() @5.5 — may take mmap_sem for write (to
 * register the mm for interval notifiers), so the caller must not hold it. On return the
 * notifier may still be on the deferred list: mappings come only through read_begin/retry.
 */
export async function mmuIntervalNotifierInsert(
  sub: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<number> {
  const k = mm.kernel;
  k.ex.trace("call", "mmu_interval_notifier_insert", sub.name, `[${hex(start)}, +${hex(length)})`);
  k.mightLock(mm.mmapSem);
  mm.kernel.ex.touch(mm.notifierMmObject);
  if (mm.notifierMm === null || !mm.notifierMm.hasItree) {
    const ret = await mmuNotifierRegister(null, mm);
    if (ret !== 0) return ret;
  }
  const ret = await __mmuIntervalNotifierInsert(sub, mm, mm.notifierMm!, start, length, ops);
  k.ex.trace("ret", "mmu_interval_notifier_insert", sub.name, errname(ret));
  return ret;
}

/** mm/mmu_notifier.c: mmu_interval_notifier_insert_locked() @5.5 — mmap_sem held for write. */
export async function mmuIntervalNotifierInsertLocked(
  sub: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<number> {
  const k = mm.kernel;
  k.ex.trace("call", "mmu_interval_notifier_insert_locked", sub.name, `[${hex(start)}, +${hex(length)})`);
  if (!mm.mmapSem.isWriteLocked)
    k.warn("mmu_interval_notifier_insert_locked without mmap_sem held for write");
  mm.kernel.ex.touch(mm.notifierMmObject);
  if (mm.notifierMm === null || !mm.notifierMm.hasItree) {
    const ret = await __mmuNotifierRegister(null, mm);
    if (ret !== 0) return ret;
  }
  return __mmuIntervalNotifierInsert(sub, mm, mm.notifierMm!, start, length, ops);
}

/**
 * mm/mmu_notifier.c: mmu_interval_notifier_remove() @5.5 — when it returns no callback is
 * running and none will start. During full exclusion it queues the removal and sleeps until
 * the whole exclusion period has ended; a still-deferred insert is just unlinked.
 * Must not be called from a callback, nor with a lock a callback takes.
 */
export async function mmuIntervalNotifierRemove55(sub: MmuIntervalNotifier): Promise<void> {
  // mni->mm->mmu_notifier_mm on a never-inserted notifier: NULL pointer dereference.
  const mm = deref(sub.mm, `mmu_interval_notifier_remove(${sub.name}): mni->mm (never inserted)`);
  const k = mm.kernel;
  touch(k, sub, "mmu_interval_notifier_remove");
  const nmm = deref(mm.notifierMm, `mmu_interval_notifier_remove(${sub.name}): mm->mmu_notifier_mm`, k);
  k.ex.trace("call", "mmu_interval_notifier_remove", sub.name);
  k.ex.mightSleep("mmu_interval_notifier_remove");
  let seq = 0;
  await nmm.lock.lock();
  if (nmm.isInvalidating()) {
    if (sub.rbEmpty) {
      const i = nmm.deferredList.indexOf(sub);
      if (i >= 0) nmm.deferredList.splice(i, 1);
      sub.deferred = false;
    } else {
      nmm.deferredList.unshift(sub);
      sub.deferred = true;
      seq = nmm.invalidateSeq;
    }
  } else {
    if (sub.rbEmpty) k.warn(`mmu_interval_notifier_remove(${sub.name}): RB_EMPTY_NODE`);
    if (!nmm.itree.has(sub)) {
      await nmm.lock.unlock();
      // interval_tree_remove() of a node not in the tree (a second remove): rb-tree corruption.
      return k.bug(
        `mmu_interval_notifier_remove(${sub.name}): interval_tree_remove of a node not in the tree`,
      );
    }
    nmm.itree.remove(sub);
    sub.erased = true;
  }
  await nmm.lock.unlock();
  k.invalidateStartMap.touch();
  if (seq !== 0) await nmm.wq.waitEvent(() => nmm.invalidateSeq !== seq);
  coreEvents(k)?.removeReturn(sub, seq); // oracle: core.md 6 items 18, 19
  await mmdrop(mm);
  k.ex.trace("ret", "mmu_interval_notifier_remove", sub.name);
}

/**
 * mm/mmu_notifier.c: mmu_interval_read_begin() @5.5 — sample the notifier's seq; sleep only
 * if it equals the mm's (this notifier is inside the running exclusion period). Returns the
 * value sampled before sleeping; never loops.
 */
export async function mmuIntervalReadBegin55(sub: MmuIntervalNotifier): Promise<number> {
  const mm = deref(sub.mm, `mmu_interval_read_begin(${sub.name}): mni->mm (never inserted)`);
  const k = mm.kernel;
  touch(k, sub, "mmu_interval_read_begin");
  const nmm = deref(mm.notifierMm, `mmu_interval_read_begin(${sub.name}): mm->mmu_notifier_mm`, k);
  await nmm.lock.lock();
  const seq = sub.invalidateSeq;
  const isInvalidating = seq === nmm.invalidateSeq;
  await nmm.lock.unlock();
  k.invalidateStartMap.touch();
  if (isInvalidating) await nmm.wq.waitEvent(() => nmm.invalidateSeq !== seq);
  k.ex.trace("note", "mmu_interval_read_begin", sub.name, `seq=${seq}${isInvalidating ? " (slept)" : ""}`);
  coreEvents(k)?.readBegin(sub, seq); // oracle: core.md 6 items 8, 9
  return seq;
}

/**
 * include/linux/mmu_notifier.h: mmu_interval_read_retry() @5.5 — true if an invalidation
 * collided since read_begin. Must be called under the user lock set_seq is called under;
 * the read is a plain one, ordered by that lock.
 */
export function mmuIntervalReadRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  const k = deref(sub.mm, `mmu_interval_read_retry(${sub.name}): mni->mm`).kernel;
  touch(k, sub, "mmu_interval_read_retry");
  const retry = sub.invalidateSeq !== seq;
  if (!retry) sub.lastGoodRetry = { thread: k.ex.self().id, seq, step: k.ex.step };
  k.ex.trace("note", "mmu_interval_read_retry", sub.name, `seq=${seq} -> ${retry}`);
  coreEvents(k)?.readRetry(sub, seq, retry); // oracle: core.md 6 item 9
  return retry;
}

/**
 * include/linux/mmu_notifier.h: mmu_interval_check_retry() @5.5 — the same test without the
 * lock (READ_ONCE): a true answer is reliable, a false one only a hint.
 */
export async function mmuIntervalCheckRetry(sub: MmuIntervalNotifier, seq: number): Promise<boolean> {
  const k = deref(sub.mm, `mmu_interval_check_retry(${sub.name}): mni->mm`).kernel;
  const ex = k.ex;
  await ex.point("READ_ONCE", `${sub.name}->invalidate_seq`);
  touch(k, sub, "mmu_interval_check_retry");
  return sub.invalidateSeq !== seq;
}

/**
 * include/linux/mmu_notifier.h: mmu_interval_set_seq() @5.5 — called unconditionally from
 * the invalidate callback, under the user lock, with the callback's cur_seq (WRITE_ONCE).
 */
export async function mmuIntervalSetSeq(sub: MmuIntervalNotifier, curSeq: number): Promise<void> {
  const k = deref(sub.mm, `mmu_interval_set_seq(${sub.name}): mni->mm`).kernel;
  const ex = k.ex;
  await ex.point("WRITE_ONCE", `${sub.name}->invalidate_seq`, String(curSeq));
  touch(k, sub, "mmu_interval_set_seq");
  coreEvents(k)?.setSeq(sub, curSeq); // oracle: core.md 6 items 9, 12
  sub.invalidateSeq = curSeq;
  sub.lastGoodRetry = null;
}

/** A kernel NULL-pointer dereference (defined with the other lifetime helpers). */
export { NullDereference };

// ---- The entry points drivers call, through the core seam (core-seam.ts): a core variant
// installed for the run replaces the bodies above; otherwise they are the merged 5.5 ones.

/** mm/mmu_notifier.c: mmu_interval_notifier_remove() @5.5, through the core seam. */
export function mmuIntervalNotifierRemove(sub: MmuIntervalNotifier): Promise<void> {
  return coreFunctions().mmu_interval_notifier_remove(sub);
}

/** mm/mmu_notifier.c: mmu_interval_read_begin() @5.5, through the core seam. */
export function mmuIntervalReadBegin(sub: MmuIntervalNotifier): Promise<number> {
  return coreFunctions().mmu_interval_read_begin(sub);
}

/** mm/mmu_notifier.c: mn_itree_inv_end() @5.5, through the core seam. */
export function mnItreeInvEnd(nmm: MmuNotifierMm): Promise<void> {
  return coreFunctions().mn_itree_inv_end(nmm);
}

/** mm/mmu_notifier.c: mn_itree_invalidate() @5.5, through the core seam. */
export function mnItreeInvalidate(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<number> {
  return coreFunctions().mn_itree_invalidate(nmm, range);
}
