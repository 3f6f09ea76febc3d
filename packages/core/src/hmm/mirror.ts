/**
 * The Linux 5.4 hmm_mirror API (mm/hmm.c, include/linux/hmm.h @5.4), removed in 5.5 by
 * a22dd506400d. One `struct hmm` per mm, obtained through mmu_notifier_get; drivers attach
 * mirrors and register ranges.
 *
 * Its validity scheme is a level, not a generation: every invalidation increments the
 * mm-global `notifiers` count and marks overlapping ranges invalid; when the count returns
 * to zero every range is marked valid again, whether or not anyone re-read it. Two
 * documented consequences the models keep (reference core.md 3.4):
 *  - ABA: a driver that read PTEs before a complete start/end pair sees `valid` true again
 *    and programs stale pfns (the bug that ended hmm_mirror, 04ec32fbc2b2);
 *  - the global gate: a range can become valid only when no invalidation at all is running
 *    in the mm, so unrelated traffic delays faults up to the 1000 ms timeout.
 * The pre-5.3 error flow of hmm_invalidate_range_start (fixed by "mm/hmm: Fix error flows in
 * hmm_invalidate_range_start", merged for 5.3) is selectable as a historical variant.
 */
import { LocklessField, RwSemaphore, SpinLock, WaitQueue } from "@mnlab/sim";
import { EAGAIN, EBUSY, EFAULT, EINVAL, EPERM, errname } from "../errno.ts";
import type { Kernel } from "../kernel.ts";
import { deref, type HasLifetime, kfree, Lifetime, touch } from "../lifetime.ts";
import { type MmStruct, mmgetNotZero, mmput } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import {
  MmuNotifier,
  type MmuNotifierOps,
  mmuNotifierGetLocked,
  mmuNotifierPut,
} from "../notifier/mmu-notifier.ts";
import { describeRange, type MmuNotifierRange } from "../notifier/range.ts";
import { type HmmPfn, type HmmRequest, nonePfn } from "./pfn.ts";
import { hmmWalk } from "./walk.ts";

/** HMM_RANGE_DEFAULT_TIMEOUT, in ms; the models' virtual tick is one millisecond. */
export const HMM_RANGE_DEFAULT_TIMEOUT = 1000;

/** Which hmm_invalidate_range_start error flow to run. */
export type HmmStartVariant = "5.4" | "pre-5.3";

/** struct hmm_mirror_ops @5.4 */
export interface HmmMirrorOps {
  release(mirror: HmmMirror): Promise<void>;
  /** 0, or -EAGAIN when the update is non-blockable and it would have to sleep. */
  syncCpuDevicePagetables(mirror: HmmMirror, update: MmuNotifierRange): Promise<number>;
}

/**
 * struct hmm_mirror @5.4. Embedded in a driver struct (nouveau_svmm): its lifetime is the
 * container's, and a freed mirror still on hmm->mirrors is a use-after-free on the next walk.
 */
export class HmmMirror implements HasLifetime {
  hmm: Hmm | null = null;
  /** The embedding struct's lifetime. */
  lifetime: Lifetime;
  constructor(
    readonly name: string,
    readonly ops: HmmMirrorOps,
  ) {
    this.lifetime = new Lifetime(`struct hmm_mirror ${name}`, { heap: false }); // embedded
  }
}

/** struct hmm @5.4: embeds the mmu_notifier the core calls. */
export class Hmm extends MmuNotifier {
  readonly rangesLock: SpinLock;
  readonly ranges: HmmRange[] = [];
  readonly mirrors: HmmMirror[] = [];
  readonly mirrorsSem: RwSemaphore;
  readonly wq: WaitQueue;
  /** Invalidations in progress in the whole mm. */
  notifiers = 0;

  constructor(
    kernel: Kernel,
    mm: MmStruct,
    ops: MmuNotifierOps,
    readonly variant: HmmStartVariant,
  ) {
    super(`hmm(${mm.name})`, ops);
    this.internal = true;
    // Freed by hmm_free_notifier() after the SRCU grace period of the last put.
    this.lifetime = new Lifetime(`struct hmm of ${mm.name}`);
    this.rangesLock = new SpinLock(kernel.ex, `hmm(${mm.name})->ranges_lock`, "hmm->ranges_lock");
    this.mirrorsSem = new RwSemaphore(kernel.ex, `hmm(${mm.name})->mirrors_sem`, "hmm->mirrors_sem");
    this.wq = new WaitQueue(kernel.ex, `hmm(${mm.name})->wq`);
  }
}

/**
 * struct hmm_range @5.4 (pfns, flags and values tables reduced to HmmPfn/HmmRequest). Drivers
 * declare it on their fault function's stack: the driver calls frameReturned() on it when that
 * function returns, and a range left on hmm->ranges after that is a use-after-free the next
 * invalidation's walk reports.
 */
export class HmmRange implements HasLifetime {
  hmm: Hmm | null = null;
  pfns: HmmPfn[];
  /** Registered on hmm->ranges. */
  linked = false;
  readonly lifetime: Lifetime;
  /**
   * range->valid: written under hmm->ranges_lock by every invalidation (start: false; the
   * last end: true) and at register, but read without it — by hmm_range_wait_until_valid's
   * wait_event condition, by hmm_range_fault, and by hmm_range_valid under the driver's lock.
   * A lockless field (each store a scheduling point); created at register, when the range
   * first becomes visible to other threads.
   */
  private validField: LocklessField<boolean> | null = null;
  private validBefore = false;

  constructor(
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

  /** range->valid, read plainly (a condition, code holding ranges_lock, an oracle). */
  get valid(): boolean {
    return this.validField?.get() ?? this.validBefore;
  }

  /** A store no other thread can observe (before register, after unregister). */
  set valid(v: boolean) {
    if (this.validField === null) this.validBefore = v;
    else this.validField.poke(v);
  }

  /** The lockless field, once the range is registered. */
  validCell(k: Kernel): LocklessField<boolean> {
    this.validField ??= new LocklessField(
      k.ex,
      `${this.lifetime.name}->valid`,
      this.validBefore,
      this.hmm?.rangesLock,
    );
    return this.validField;
  }
}

/** mm/hmm.c: notifiers_decrement() @5.4 — the last one re-validates every range. */
async function notifiersDecrement(hmm: Hmm): Promise<void> {
  const k = hmm.mm!.kernel;
  await hmm.rangesLock.lock();
  hmm.notifiers--;
  if (hmm.notifiers === 0) {
    for (const r of [...hmm.ranges]) {
      touch(k, r, "notifiers_decrement: range->valid = true");
      await r.validCell(k).set(true);
    }
    await hmm.wq.wakeUpAll();
  }
  await hmm.rangesLock.unlock();
}

/** mm/hmm.c: hmm_invalidate_range_start() @5.4 — the ranges walk under ranges_lock. */
async function markRangesInvalid(hmm: Hmm, nrange: MmuNotifierRange): Promise<void> {
  const k = nrange.mm.kernel;
  for (const r of [...hmm.ranges]) {
    touch(k, r, "hmm_invalidate_range_start: list_for_each_entry(range, &hmm->ranges)");
    // The kernel's test: `nrange->end < range->start || nrange->start >= range->end`.
    if (nrange.end < r.start || nrange.start >= r.end) continue;
    await r.validCell(k).set(false);
  }
}

async function syncMirrors(hmm: Hmm, nrange: MmuNotifierRange): Promise<number> {
  const k = nrange.mm.kernel;
  for (const mirror of [...hmm.mirrors]) {
    touch(k, mirror, "hmm_invalidate_range_start: list_for_each_entry(mirror, &hmm->mirrors)");
    k.ex.count("callbacks");
    k.ex.trace("call", "sync_cpu_device_pagetables", mirror.name, describeRange(nrange));
    const rc = await mirror.ops.syncCpuDevicePagetables(mirror, nrange);
    k.ex.trace("ret", "sync_cpu_device_pagetables", mirror.name, errname(rc));
    if (rc !== 0) {
      if (nrange.blockable || rc !== EAGAIN) {
        k.warn(`${mirror.name}: sync_cpu_device_pagetables returned ${errname(rc)}`);
        continue;
      }
      return EAGAIN;
    }
  }
  return 0;
}

/** mm/hmm.c: hmm_invalidate_range_start() @5.4 */
async function hmmInvalidateRangeStart(hmm: Hmm, nrange: MmuNotifierRange): Promise<number> {
  await hmm.rangesLock.lock();
  hmm.notifiers++;
  await markRangesInvalid(hmm, nrange);
  await hmm.rangesLock.unlock();
  let ret = 0;
  if (nrange.blockable) await hmm.mirrorsSem.downRead();
  else if (!(await hmm.mirrorsSem.downReadTrylock())) ret = EAGAIN;
  if (ret === 0) {
    ret = await syncMirrors(hmm, nrange);
    await hmm.mirrorsSem.upRead();
  }
  if (ret !== 0) await notifiersDecrement(hmm);
  return ret;
}

/**
 * mm/hmm.c: hmm_invalidate_range_start() @5.2 (before "mm/hmm: Fix error flows in
 * hmm_invalidate_range_start", 5.3). The count is raised under the (then) mutex `hmm->lock`
 * — modelled here by ranges_lock — and (a) a failed mirrors_sem trylock returns -EAGAIN
 * without lowering it again, so no range ever becomes valid; (b) a sync callback's -EAGAIN
 * lands in a shadowing inner `ret`, so the function returns 0 while the device may still
 * use the pages.
 */
async function hmmInvalidateRangeStartPre53(hmm: Hmm, nrange: MmuNotifierRange): Promise<number> {
  if (nrange.blockable) await hmm.rangesLock.lock();
  else if (!(await hmm.rangesLock.trylock())) return EAGAIN;
  hmm.notifiers++;
  await markRangesInvalid(hmm, nrange);
  await hmm.rangesLock.unlock();
  if (nrange.blockable) await hmm.mirrorsSem.downRead();
  else if (!(await hmm.mirrorsSem.downReadTrylock())) return EAGAIN; // (a): notifiers stays raised
  const k = nrange.mm.kernel;
  for (const mirror of [...hmm.mirrors]) {
    touch(k, mirror, "hmm_invalidate_range_start: list_for_each_entry(mirror, &hmm->mirrors)");
    k.ex.count("callbacks");
    const rc = await mirror.ops.syncCpuDevicePagetables(mirror, nrange);
    if (!nrange.blockable && rc === EAGAIN) {
      await hmm.mirrorsSem.upRead();
      return 0; // (b): the inner `int ret` shadowed the returned one
    }
  }
  await hmm.mirrorsSem.upRead();
  return 0;
}

/** mm/hmm.c: hmm_release() @5.4 */
async function hmmRelease(hmm: Hmm): Promise<void> {
  const k = hmm.mm!.kernel;
  // Ranges hold an mmget, so none can exist when release runs.
  if (hmm.ranges.length > 0) k.warn("hmm_release with ranges still registered");
  await hmm.mirrorsSem.downRead();
  for (const mirror of [...hmm.mirrors]) {
    touch(k, mirror, "hmm_release: list_for_each_entry(mirror, &hmm->mirrors)");
    await mirror.ops.release(mirror);
  }
  await hmm.mirrorsSem.upRead();
}

function makeOps(variant: HmmStartVariant): MmuNotifierOps {
  const ops: MmuNotifierOps = {
    release: (sub) => hmmRelease(sub as Hmm),
    invalidateRangeStart: (sub, r) =>
      variant === "5.4"
        ? hmmInvalidateRangeStart(sub as Hmm, r)
        : hmmInvalidateRangeStartPre53(sub as Hmm, r),
    invalidateRangeEnd: (sub) => notifiersDecrement(sub as Hmm),
    // mm/hmm.c: hmm_alloc_notifier() @5.4
    allocNotifier: (mm) => new Hmm(mm.kernel, mm, ops, variant),
    // mm/hmm.c: hmm_free_notifier() @5.4 — kfree(hmm)
    freeNotifier: (sub) => kfree(sub.mm!.kernel, sub, "hmm_free_notifier"),
  };
  return ops;
}

/** One ops table per variant: mmu_notifier_get finds the mm's struct hmm by ops identity. */
const HMM_OPS: Record<HmmStartVariant, MmuNotifierOps> = {
  "5.4": makeOps("5.4"),
  "pre-5.3": makeOps("pre-5.3"),
};

/** mm/hmm.c: hmm_mirror_register() @5.4 — caller holds mmap_sem for write. */
export async function hmmMirrorRegister(
  mirror: HmmMirror,
  mm: MmStruct,
  variant: HmmStartVariant = "5.4",
): Promise<number> {
  const k = mm.kernel;
  k.ex.trace("call", "hmm_mirror_register", mirror.name);
  if (!mm.mmapSem.isWriteLocked) k.warn("hmm_mirror_register without mmap_sem held for write");
  const mn = await mmuNotifierGetLocked(HMM_OPS[variant], mm);
  if ("err" in mn) return mn.err;
  const hmm = mn as Hmm;
  mirror.hmm = hmm;
  await hmm.mirrorsSem.downWrite();
  hmm.mirrors.unshift(mirror);
  await hmm.mirrorsSem.upWrite();
  return 0;
}

/** mm/hmm.c: hmm_mirror_unregister() @5.4 — waits for running callbacks (mirrors_sem write). */
export async function hmmMirrorUnregister(mirror: HmmMirror): Promise<void> {
  const hmm = mirror.hmm!;
  hmm.mm!.kernel.ex.trace("call", "hmm_mirror_unregister", mirror.name);
  await hmm.mirrorsSem.downWrite();
  hmm.mirrors.splice(hmm.mirrors.indexOf(mirror), 1);
  await hmm.mirrorsSem.upWrite();
  await mmuNotifierPut(hmm);
}

/** mm/hmm.c: hmm_range_register() @5.4 — valid at once only if no invalidation is running. */
export async function hmmRangeRegister(range: HmmRange, mirror: HmmMirror): Promise<number> {
  const hmm = deref(mirror.hmm, `hmm_range_register: ${mirror.name}->hmm`);
  const mm = hmm.mm!;
  touch(mm.kernel, hmm, "hmm_range_register: mirror->hmm");
  touch(mm.kernel, range, "hmm_range_register");
  range.valid = false;
  range.hmm = null;
  if (range.start % PAGE_SIZE !== 0 || range.end % PAGE_SIZE !== 0) return EINVAL;
  if (range.start >= range.end) return EINVAL;
  // Prevent hmm_release() from running while the range is valid.
  if (!(await mmgetNotZero(mm))) return EFAULT;
  await hmm.rangesLock.lock();
  range.hmm = hmm;
  hmm.ranges.unshift(range);
  range.linked = true;
  if (hmm.notifiers === 0) await range.validCell(mm.kernel).set(true);
  await hmm.rangesLock.unlock();
  mm.kernel.ex.trace("note", "hmm_range_register", mirror.name, `valid=${range.valid}`);
  return 0;
}

/** mm/hmm.c: hmm_range_unregister() @5.4 */
export async function hmmRangeUnregister(range: HmmRange): Promise<void> {
  const hmm = range.hmm;
  if (hmm === null) return;
  touch(hmm.mm!.kernel, range, "hmm_range_unregister");
  await hmm.rangesLock.lock();
  const i = hmm.ranges.indexOf(range);
  if (i >= 0) hmm.ranges.splice(i, 1);
  range.linked = false;
  await hmm.rangesLock.unlock();
  await mmput(hmm.mm!);
  range.valid = false; // unlinked: only the owner reads it now
  range.hmm = null; // memset(&range->hmm, POISON_INUSE, ...)
}

/** include/linux/hmm.h: hmm_range_wait_until_valid() @5.4 — false on timeout (ms = ticks). */
export async function hmmRangeWaitUntilValid(range: HmmRange, timeout: number): Promise<boolean> {
  // range->hmm is poisoned by unregister: a wait on an unregistered range oopses.
  const hmm = deref(range.hmm, "hmm_range_wait_until_valid: range->hmm");
  touch(hmm.mm!.kernel, range, "hmm_range_wait_until_valid");
  const r = await hmm.wq.waitEventTimeout(() => range.valid, timeout);
  hmm.mm!.kernel.ex.trace("note", "hmm_range_wait_until_valid", undefined, r !== 0 ? "valid" : "timed out");
  return r !== 0;
}

/** include/linux/hmm.h: hmm_range_valid() @5.4 — under the driver's update lock. */
export function hmmRangeValid(range: HmmRange): boolean {
  // The driver lock was just taken (a scheduling point): the plain read sees every store made
  // before it, and a store made while the lock is held is the same as one made before it.
  if (range.hmm !== null) touch(range.hmm.mm!.kernel, range, "hmm_range_valid");
  return range.valid;
}

/** hmm_range_fault() flags @5.4 */
export interface HmmFaultFlags54 {
  /** HMM_FAULT_SNAPSHOT */
  snapshot?: boolean;
}

/**
 * mm/hmm.c: hmm_range_fault() @5.4 — mmap_sem held for read. Walks VMA by VMA; -EBUSY as
 * soon as the range is invalid; -EPERM for a VMA without VM_READ; otherwise the number of
 * pages filled from range->start (possibly 0).
 */
export async function hmmRangeFault54(range: HmmRange, flags: HmmFaultFlags54 = {}): Promise<number> {
  const hmm = deref(range.hmm, "hmm_range_fault: range->hmm");
  const mm = hmm.mm!;
  const k = mm.kernel;
  touch(k, range, "hmm_range_fault");
  const valid = range.validCell(k);
  if (mm.mmapSem.readerCount === 0 && !mm.mmapSem.isWriteLocked) k.warn("hmm_range_fault without mmap_sem");
  let start = range.start;
  let last = start;
  const opts = { snapshot: flags.snapshot === true, noReadVma: EPERM };
  do {
    if (!(await valid.load())) return done(k, EBUSY);
    const vma = mm.findVma(start);
    if (vma === undefined) return done(k, EFAULT);
    if (!vma.flags.read) {
      range.pfns = range.pfns.map((p) => nonePfn(p.addr));
      return done(k, EPERM);
    }
    const end = Math.min(range.end, vma.end);
    let ret: number;
    do {
      const w = await hmmWalk(mm, range, start, end, opts);
      ret = w.ret;
      last = w.last;
      start = last;
    } while (ret === EBUSY && (await valid.load()));
    if (ret !== 0) {
      for (let a = last; a < range.end; a += PAGE_SIZE)
        range.pfns[(a - range.start) / PAGE_SIZE] = nonePfn(a);
      return done(k, ret);
    }
    start = end;
  } while (start < range.end);
  return done(k, (last - range.start) / PAGE_SIZE);
}

function done(k: Kernel, ret: number): number {
  k.ex.trace("ret", "hmm_range_fault", undefined, errname(ret));
  return ret;
}
