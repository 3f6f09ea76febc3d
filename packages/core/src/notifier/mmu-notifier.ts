/**
 * The classic mmu_notifier (mm/mmu_notifier.c, include/linux/mmu_notifier.h as of 5.5; the
 * hlist path is unchanged from 5.4) and the invalidate_range_start/end entry points every
 * CPU-side page-table change goes through, which also drive the 5.5 interval tree.
 *
 * Subscribers sit on an hlist walked under SRCU. invalidate_range_start calls run
 * inside the `mmu_notifier_invalidate_range_start` lockdep map, so a lock a callback takes
 * is ordered after it; a non-blockable start (the OOM reaper) runs callbacks in a
 * non-blocking context, where sleeping is a bug.
 */
import { EAGAIN, ENOMEM, errname } from "../errno.ts";
import { type HasLifetime, kfree, Lifetime, touch } from "../lifetime.ts";
import { type MmStruct, mmdrop, mmgrab } from "../mm/mm.ts";
import { coreFunctions } from "./core-seam.ts";
import { MmuNotifierMm } from "./notifier-mm.ts";
import { describeRange, type MmuNotifierRange } from "./range.ts";

/** struct mmu_notifier_ops @5.5 (the callbacks the models use). */
export interface MmuNotifierOps {
  /** Called once when the mm is torn down (exit_mmap) or at unregister. */
  release?(sub: MmuNotifier, mm: MmStruct): Promise<void>;
  /** 0, or -EAGAIN only when the range is non-blockable and it would have to sleep. */
  invalidateRangeStart?(sub: MmuNotifier, range: MmuNotifierRange): Promise<number>;
  invalidateRangeEnd?(sub: MmuNotifier, range: MmuNotifierRange): Promise<void>;
  /** For mmu_notifier_get(): allocate the driver's structure embedding the notifier. */
  allocNotifier?(mm: MmStruct): MmuNotifier;
  /**
   * For mmu_notifier_put(): free it, after an SRCU grace period. Every 5.4/5.5 free_notifier
   * kfree()s the struct embedding the notifier; when the op does not free the notifier's
   * lifetime itself, the core marks it freed right after calling it.
   */
  freeNotifier?(sub: MmuNotifier): void;
}

/**
 * struct mmu_notifier: one subscription of a driver to an mm. Embedded in a driver struct
 * (struct hmm, nouveau_svmm): its lifetime is the container's, freed by ->free_notifier after
 * the SRCU grace period of the last mmu_notifier_put(), or by the driver after
 * mmu_notifier_unregister(). The hlist walks touch every entry they reach.
 */
export class MmuNotifier implements HasLifetime {
  mm: MmStruct | null = null;
  /** Reference count for mmu_notifier_get/put. */
  users = 0;
  /** On the mm's hlist (hlist_unhashed() is false). */
  hashed = false;
  /**
   * Core-internal subscriber (5.4's struct hmm): its calls are not driver callbacks, so the
   * `callbacks` metric skips them and counts the mirrors' sync calls instead.
   */
  internal = false;
  /** The embedding struct's lifetime. */
  lifetime: Lifetime;

  constructor(
    readonly name: string,
    readonly ops: MmuNotifierOps,
  ) {
    this.lifetime = new Lifetime(`struct mmu_notifier ${name}`, { heap: false }); // embedded
  }
}

/**
 * mm/mmu_notifier.c: __mmu_notifier_register() @5.5 — caller holds mmap_sem for write.
 * A null `sub` registers the mm for interval notifiers (has_itree). mm_take_all_locks()
 * is the rmap lock taken for write: with mmap_sem it excludes every invalidation, so none
 * can straddle the moment the mm gains notifiers.
 */
export async function __mmuNotifierRegister(sub: MmuNotifier | null, mm: MmStruct): Promise<number> {
  const k = mm.kernel;
  if (!mm.mmapSem.isWriteLocked) k.warn("__mmu_notifier_register without mmap_sem held for write");
  // atomic_read(&mm->mm_users) with no scheduling point: named, for partial-order reduction.
  k.ex.touch(mm.mmUsers.name);
  if (!mm.alive) k.bug("__mmu_notifier_register on an mm with mm_users == 0");
  // Lockdep priming (CONFIG_LOCKDEP): allocation may reclaim, reclaim invalidates.
  k.fsReclaimMap.acquire();
  k.invalidateStartMap.touch();
  k.fsReclaimMap.release();
  const nmm = mm.notifierMm ?? new MmuNotifierMm(k, mm.name);
  await mm.rmapLock.downWrite(); // mm_take_all_locks()
  k.ex.touch(mm.notifierMmObject);
  mm.notifierMm = nmm; // smp_store_release(&mm->mmu_notifier_mm, ...)
  if (sub !== null) {
    await mmgrab(mm);
    sub.mm = mm;
    sub.users = 1;
    await nmm.lock.lock();
    nmm.list.unshift(sub);
    sub.hashed = true;
    await nmm.lock.unlock();
  } else {
    k.ex.touch(mm.notifierMmObject);
    nmm.hasItree = true;
  }
  await mm.rmapLock.upWrite(); // mm_drop_all_locks()
  return 0;
}

/** mm/mmu_notifier.c: mmu_notifier_register() @5.5 — takes mmap_sem for write itself. */
export async function mmuNotifierRegister(sub: MmuNotifier | null, mm: MmStruct): Promise<number> {
  await mm.mmapSem.downWrite();
  const ret = await __mmuNotifierRegister(sub, mm);
  await mm.mmapSem.upWrite();
  return ret;
}

/**
 * mm/mmu_notifier.c: mmu_notifier_get_locked() @5.4 — find this ops' live subscription on
 * the mm and take a reference, or allocate and register one. Caller holds mmap_sem (write).
 */
export async function mmuNotifierGetLocked(
  ops: MmuNotifierOps,
  mm: MmStruct,
): Promise<MmuNotifier | { err: number }> {
  const nmm = mm.notifierMm;
  if (nmm !== null) {
    await nmm.lock.lock();
    const found = nmm.list.find((s) => {
      touch(mm.kernel, s, "mmu_notifier_get_locked: hlist_for_each_entry");
      return s.ops === ops && s.users > 0;
    });
    if (found !== undefined) found.users++;
    await nmm.lock.unlock();
    if (found !== undefined) return found;
  }
  if (ops.allocNotifier === undefined) return { err: ENOMEM };
  const sub = ops.allocNotifier(mm);
  const ret = await __mmuNotifierRegister(sub, mm);
  if (ret !== 0) {
    ops.freeNotifier?.(sub);
    return { err: ret };
  }
  return sub;
}

/**
 * mm/mmu_notifier.c: mmu_notifier_put() @5.4 — drop a reference; the last one unhooks the
 * subscription and frees it after an SRCU grace period (call_srcu), without blocking.
 */
export async function mmuNotifierPut(sub: MmuNotifier): Promise<void> {
  const mm = sub.mm;
  if (mm === null || mm.notifierMm === null)
    return mm?.kernel.bug("mmu_notifier_put of an unregistered notifier");
  const nmm = mm.notifierMm;
  touch(mm.kernel, sub, "mmu_notifier_put");
  await nmm.lock.lock();
  if (sub.users <= 0) mm.kernel.warn("mmu_notifier_put: users already 0");
  const last = --sub.users === 0;
  if (last) unhash(nmm, sub);
  await nmm.lock.unlock();
  if (!last) return;
  const k = mm.kernel;
  // mm/mmu_notifier.c: mmu_notifier_free_rcu() @5.4 — ->free_notifier, then mmdrop.
  k.ex.spawn("call_srcu(mmu_notifier_free_rcu)", async () => {
    await k.srcu.synchronize();
    sub.ops.freeNotifier?.(sub);
    if (!sub.lifetime.isFreed) kfree(k, sub, "mmu_notifier_free_rcu: ->free_notifier");
    await mmdrop(mm);
  });
}

/**
 * mm/mmu_notifier.c: mmu_notifier_unregister() @5.5 — if not already released, call
 * ->release under SRCU, unhook, wait for SRCU readers, drop the mm_count.
 */
export async function mmuNotifierUnregister(sub: MmuNotifier, mm: MmStruct): Promise<void> {
  const k = mm.kernel;
  const nmm = mm.notifierMm;
  if (nmm === null) return k.bug("mmu_notifier_unregister on an mm without notifiers");
  touch(k, sub, "mmu_notifier_unregister");
  if (sub.hashed) {
    const idx = await k.srcu.readLock();
    if (sub.ops.release !== undefined) await sub.ops.release(sub, mm);
    await k.srcu.readUnlock(idx);
    await nmm.lock.lock();
    unhash(nmm, sub);
    await nmm.lock.unlock();
  }
  await k.srcu.synchronize();
  await mmdrop(mm);
}

function unhash(nmm: MmuNotifierMm, sub: MmuNotifier): void {
  const i = nmm.list.indexOf(sub);
  if (i >= 0) nmm.list.splice(i, 1);
  sub.hashed = false;
}

/** mm/mmu_notifier.c: mn_hlist_invalidate_range_start() @5.5 (same loop as 5.4's). Called through the core seam. */
export async function mnHlistInvalidateRangeStart55(
  nmm: MmuNotifierMm,
  range: MmuNotifierRange,
): Promise<number> {
  const k = range.mm.kernel;
  let ret = 0;
  const idx = await k.srcu.readLock();
  // hlist_for_each_entry_rcu: a snapshot is one valid view for an SRCU reader.
  for (const sub of [...nmm.list]) {
    touch(k, sub, "mn_hlist_invalidate_range_start: hlist_for_each_entry_rcu");
    const start = sub.ops.invalidateRangeStart;
    if (start === undefined) continue;
    if (!sub.internal) k.ex.count("callbacks");
    k.ex.trace("call", "invalidate_range_start", sub.name, describeRange(range));
    const r = range.blockable
      ? await start(sub, range)
      : await k.ex.nonBlocking("invalidate_range_start_nonblock", () => start(sub, range));
    k.ex.trace("ret", "invalidate_range_start", sub.name, errname(r));
    if (r !== 0) {
      // "%pS callback failed with %d in %sblockable context."
      if (range.blockable || r !== EAGAIN)
        k.warn(`${sub.name} invalidate_range_start failed with ${errname(r)}`);
      ret = r;
    }
  }
  await k.srcu.readUnlock(idx);
  return ret;
}

/** mm/mmu_notifier.c: __mmu_notifier_invalidate_range_start() @5.5 — called through the core seam (core-seam.ts). */
export async function __mmuNotifierInvalidateRangeStart55(range: MmuNotifierRange): Promise<number> {
  range.mm.kernel.ex.touch(range.mm.notifierMmObject);
  const nmm = range.mm.notifierMm!;
  const core = coreFunctions();
  if (nmm.hasItree) {
    const ret = await core.mn_itree_invalidate(nmm, range);
    if (ret !== 0) return ret;
  }
  if (nmm.list.length > 0) return core.mn_hlist_invalidate_range_start(nmm, range);
  return 0;
}

/**
 * include/linux/mmu_notifier.h: mmu_notifier_invalidate_range_start() @5.5 — blockable;
 * the return value is ignored by every caller.
 */
export async function mmuNotifierInvalidateRangeStart(range: MmuNotifierRange): Promise<void> {
  const k = range.mm.kernel;
  k.ex.mightSleep("mmu_notifier_invalidate_range_start");
  k.ex.trace("call", "mmu_notifier_invalidate_range_start", range.mm.name, describeRange(range));
  range.mm.activeInvalidations++;
  k.invalidateStartMap.acquire();
  if (range.mm.hasNotifiers) {
    range.blockable = true;
    await coreFunctions().__mmu_notifier_invalidate_range_start(range);
  }
  k.invalidateStartMap.release();
}

/**
 * include/linux/mmu_notifier.h: mmu_notifier_invalidate_range_start_nonblock() @5.5 — for
 * the OOM reaper. On -EAGAIN the caller must not change the PTEs and must not call end.
 */
export async function mmuNotifierInvalidateRangeStartNonblock(range: MmuNotifierRange): Promise<number> {
  const k = range.mm.kernel;
  k.ex.trace("call", "mmu_notifier_invalidate_range_start_nonblock", range.mm.name, describeRange(range));
  range.mm.activeInvalidations++;
  k.invalidateStartMap.acquire();
  let ret = 0;
  if (range.mm.hasNotifiers) {
    range.blockable = false;
    ret = await coreFunctions().__mmu_notifier_invalidate_range_start(range);
  }
  k.invalidateStartMap.release();
  if (ret !== 0) range.mm.activeInvalidations--;
  k.ex.trace("ret", "mmu_notifier_invalidate_range_start_nonblock", range.mm.name, errname(ret));
  return ret;
}

/** mm/mmu_notifier.c: mn_hlist_invalidate_end() @5.5 — called through the core seam. */
export async function mnHlistInvalidateEnd55(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<void> {
  const k = range.mm.kernel;
  const idx = await k.srcu.readLock();
  for (const sub of [...nmm.list]) {
    touch(k, sub, "mn_hlist_invalidate_end: hlist_for_each_entry_rcu");
    const end = sub.ops.invalidateRangeEnd;
    if (end === undefined) continue;
    k.ex.trace("call", "invalidate_range_end", sub.name, describeRange(range));
    if (range.blockable) await end(sub, range);
    else await k.ex.nonBlocking("invalidate_range_end_nonblock", () => end(sub, range));
  }
  await k.srcu.readUnlock(idx);
}

/**
 * mm/mmu_notifier.c: __mmu_notifier_invalidate_range_end(range, only_end) @5.5 — called
 * through the core seam. The model has no ->invalidate_range op (the secondary-TLB flush
 * only_end skips), so it takes the range alone.
 */
export async function __mmuNotifierInvalidateRangeEnd55(range: MmuNotifierRange): Promise<void> {
  range.mm.kernel.ex.touch(range.mm.notifierMmObject);
  const nmm = range.mm.notifierMm!;
  if (nmm.hasItree) await coreFunctions().mn_itree_inv_end(nmm);
  if (nmm.list.length > 0) await coreFunctions().mn_hlist_invalidate_end(nmm, range);
}

/** include/linux/mmu_notifier.h: mmu_notifier_invalidate_range_end() @5.5 */
export async function mmuNotifierInvalidateRangeEnd(range: MmuNotifierRange): Promise<void> {
  const k = range.mm.kernel;
  if (range.blockable) k.ex.mightSleep("mmu_notifier_invalidate_range_end");
  k.ex.trace("call", "mmu_notifier_invalidate_range_end", range.mm.name, describeRange(range));
  if (range.mm.hasNotifiers) {
    k.invalidateStartMap.acquire();
    await coreFunctions().__mmu_notifier_invalidate_range_end(range);
    k.invalidateStartMap.release();
  }
  range.mm.activeInvalidations--;
}

/** mm/mmu_notifier.c: mn_hlist_release() @5.5 */
async function mnHlistRelease(nmm: MmuNotifierMm, mm: MmStruct): Promise<void> {
  const k = mm.kernel;
  const idx = await k.srcu.readLock();
  for (const sub of [...nmm.list]) {
    touch(k, sub, "mn_hlist_release: hlist_for_each_entry_rcu");
    if (sub.ops.release === undefined) continue;
    k.ex.trace("call", "mmu_notifier release", sub.name);
    await sub.ops.release(sub, mm);
  }
  await nmm.lock.lock();
  while (nmm.list.length > 0) unhash(nmm, nmm.list[0]!);
  await nmm.lock.unlock();
  await k.srcu.readUnlock(idx);
  await k.srcu.synchronize();
}

/** mm/mmu_notifier.c: __mmu_notifier_release() @5.5 — from exit_mmap(). */
export async function mmuNotifierRelease(mm: MmStruct): Promise<void> {
  const nmm = mm.notifierMm;
  if (nmm === null) return;
  mm.kernel.ex.trace("call", "__mmu_notifier_release", mm.name);
  if (nmm.hasItree) await coreFunctions().mn_itree_release(nmm, mm);
  if (nmm.list.length > 0) await mnHlistRelease(nmm, mm);
}
