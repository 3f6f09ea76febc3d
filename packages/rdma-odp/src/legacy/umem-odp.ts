/**
 * The ODP umem core as of Linux 5.4: drivers/infiniband/core/umem_odp.c and
 * include/rdma/ib_umem_odp.h (reference rdma-xen-drivers.md 1.1).
 *
 * One `ib_ucontext_per_mm` per mm (an mmu_notifier obtained with mmu_notifier_get(), the
 * get/put scheme ODP adopted in c571feca2dc9) holds an interval tree of every ODP umem of
 * that mm under `umem_rwsem`. The protocol:
 *   invalidate_range_start  down_read(umem_rwsem) — trylock when non-blockable — and, for
 *                           each umem in the range: start_account (notifiers_count++, the
 *                           completion re-armed on 0 -> 1) and the device's invalidate_range
 *                           (zap the MTTs, unmap the DMA pages). The read lock is KEPT.
 *   invalidate_range_end    walk the tree again for the same range: end_account
 *                           (notifiers_seq++, notifiers_count--, complete_all at 0); up_read.
 *   fault                   snapshot notifiers_seq, GUP, and map only while
 *                           ib_umem_mmu_notifier_retry() is false under umem_mutex; else
 *                           -EAGAIN and wait (<= 1 s) on notifier_completion.
 * Because end re-walks the tree, the tree must not change inside a bracket (reference 1.4
 * item 3): registration and teardown take umem_rwsem for write, so they wait for every open
 * bracket of the mm — and a writer queued between a nested start/start blocks the inner
 * down_read (1.4 item 1, the O2 deadlock, kept here as the kernel had it).
 *
 * ODP keeps no page reference once a page is DMA-mapped: correctness rests on the notifier.
 */
import {
  EAGAIN,
  EFAULT,
  EINVAL,
  EOVERFLOW,
  errname,
  type GupPage,
  getUserPages,
  type HasLifetime,
  hex,
  IntervalTree,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuNotifier,
  type MmuNotifierOps,
  type MmuNotifierRange,
  mmdrop,
  mmgetNotZero,
  mmgrab,
  mmput,
  mmuNotifierGetLocked,
  mmuNotifierPut,
  PAGE_SHIFT,
  PAGE_SIZE,
  type Page,
  rangeBlockable,
  releaseUserPages,
  touch,
  ULONG_MAX,
} from "@mnlab/core";
import { Completion, LocklessField, Mutex, RwSemaphore } from "@mnlab/sim";

/** Counter: a notifier invalidation reached one umem (metrics, not kernel state). */
export const UMEM_INVALIDATIONS = "umem_invalidations";

/** include/rdma/ib_umem_odp.h @5.4: the access bits kept in the low bits of dma_list[]. */
export const ODP_READ_ALLOWED_BIT = 1 << 0;
export const ODP_WRITE_ALLOWED_BIT = 1 << 1;

/** The one driver hook umem_odp.c calls: ib_device_ops.invalidate_range @5.4. */
export interface IbDeviceOdpOps {
  invalidateRange(umem: IbUmemOdp, start: number, end: number): Promise<void>;
}

/**
 * The one modelled difference between 5.4 and a kernel before 7608bf40cf24 ("RDMA/odp: Fix
 * missed unlock in non-blocking invalidate_start", 5.2). The rest of 5.1 (per_mm on a
 * ucontext list, per_mm->active instead of mn.users, no mmu_notifier_get) is not modelled:
 * the historical variant is 5.4 with that one fix reverted.
 */
export interface OdpLegacyQuirks {
  /** Before 7608bf40cf24: a non-blockable start that answers -EAGAIN keeps umem_rwsem. */
  missedUnlockOnEagain: boolean;
}

/** struct ib_ucontext_per_mm @5.4 — embeds the mmu_notifier (container_of). */
export class IbUcontextPerMm extends MmuNotifier {
  readonly umemTree = new IntervalTree<IbUmemOdp>();
  readonly umemRwsem: RwSemaphore;
  /** Oracle bookkeeping: brackets whose start kept umem_rwsem and whose end has not run. */
  openBrackets = 0;

  constructor(
    readonly kernel: Kernel,
    ops: MmuNotifierOps,
    readonly quirks: OdpLegacyQuirks,
  ) {
    super("ib_ucontext_per_mm", ops);
    this.umemRwsem = new RwSemaphore(kernel.ex, "per_mm->umem_rwsem", "per_mm->umem_rwsem");
  }
}

/** struct ib_umem_odp @5.4 (explicit MRs; is_implicit_odp is never set in the model). */
export class IbUmemOdp implements HasLifetime {
  readonly name: string;
  /** kfree(umem_odp) at the end of ib_umem_odp_release. */
  readonly lifetime: Lifetime;
  readonly umemMutex: Mutex;
  readonly notifierCompletion: Completion;
  perMm: IbUcontextPerMm | null = null;
  /**
   * notifiers_seq, bumped by every end_account under umem_mutex: a fault that snapshotted an
   * older value must retry. pagefault_mr() samples it without the mutex (READ_ONCE, then
   * smp_rmb): a lockless field, so the bump is its own scheduling point.
   */
  readonly seq: LocklessField<number>;
  /** Invalidations between their start_account and end_account. */
  notifiersCount = 0;
  /** interval_tree.start / .last + 1: ib_umem_start() / ib_umem_end(). */
  start = 0;
  end = 0;
  pageList: (Page | null)[] = [];
  /** The page's DMA address (the page itself here) is implied; the access bits are kept. */
  dmaList: number[] = [];
  npages = 0;
  /** umem_odp->private: the driver's MR (mlx5_ib_mr), set once the MR exists. */
  priv: { readonly pdSet: boolean } | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly id: number,
    readonly owningMm: MmStruct,
    readonly address: number,
    readonly length: number,
    readonly writable: boolean,
    readonly device: IbDeviceOdpOps,
  ) {
    this.name = `umem_odp${id}`;
    this.lifetime = new Lifetime(`struct ib_umem_odp ${this.name}`);
    this.umemMutex = new Mutex(kernel.ex, `${this.name}->umem_mutex`, "umem_odp->umem_mutex");
    this.seq = new LocklessField(kernel.ex, `${this.name}->notifiers_seq`, 0, this.umemMutex);
    this.notifierCompletion = new Completion(kernel.ex, `${this.name}->notifier_completion`);
  }

  /** notifiers_seq read plainly (under umem_mutex, or by oracles). */
  get notifiersSeq(): number {
    return this.seq.get();
  }

  /** Freed by ib_umem_odp_release (oracles and tests). */
  get freed(): boolean {
    return this.lifetime.isFreed;
  }
}

// ---------------------------------------------------------------- notifier accounting

/** drivers/infiniband/core/umem_odp.c: ib_umem_notifier_start_account() @5.4 */
async function ibUmemNotifierStartAccount(umem: IbUmemOdp): Promise<void> {
  await umem.umemMutex.lock();
  // Re-arm the completion: nobody can be waiting on it while the count is zero.
  if (umem.notifiersCount++ === 0) await umem.notifierCompletion.reinit();
  await umem.umemMutex.unlock();
}

/** drivers/infiniband/core/umem_odp.c: ib_umem_notifier_end_account() @5.4 */
async function ibUmemNotifierEndAccount(umem: IbUmemOdp): Promise<void> {
  await umem.umemMutex.lock();
  // The seq bump tells a racing fault that the page it is about to map may be gone.
  await umem.seq.set(umem.notifiersSeq + 1);
  if (--umem.notifiersCount === 0) await umem.notifierCompletion.completeAll();
  await umem.umemMutex.unlock();
}

/** include/rdma/ib_umem_odp.h: ib_umem_mmu_notifier_retry() @5.4 — under umem_mutex. */
export function ibUmemMmuNotifierRetry(umem: IbUmemOdp, mmuSeq: number): boolean {
  return umem.notifiersCount !== 0 || umem.notifiersSeq !== mmuSeq;
}

/**
 * drivers/infiniband/core/umem_odp.c: rbt_ib_umem_for_each_in_range() @5.4 — a
 * non-blockable walk refuses at the first umem in range, before calling anything. (It lived
 * in umem_rbtree.c before that file was folded away; in which release is not in the
 * reference, the behaviour is the same.)
 */
async function rbtIbUmemForEachInRange(
  tree: IntervalTree<IbUmemOdp>,
  start: number,
  end: number,
  cb: (umem: IbUmemOdp, start: number, end: number) => Promise<number>,
  blockable: boolean,
): Promise<number> {
  let ret = 0;
  if (start === end) return ret;
  // interval_tree_iter_first(root, start, last - 1): the kernel's "last" is the range end.
  for (const umem of tree.iterOverlapping(start, end)) {
    if (!blockable) return EAGAIN;
    ret = (await cb(umem, start, end)) || ret;
  }
  return ret;
}

// ---------------------------------------------------------------- the per-mm mmu_notifier

/** drivers/infiniband/core/umem_odp.c: invalidate_range_start_trampoline() @5.4 */
async function invalidateRangeStartTrampoline(umem: IbUmemOdp, start: number, end: number) {
  umem.kernel.ex.count(UMEM_INVALIDATIONS);
  await ibUmemNotifierStartAccount(umem);
  await umem.device.invalidateRange(umem, start, end);
  return 0;
}

/** drivers/infiniband/core/umem_odp.c: invalidate_range_end_trampoline() @5.4 */
async function invalidateRangeEndTrampoline(umem: IbUmemOdp) {
  await ibUmemNotifierEndAccount(umem);
  return 0;
}

/** drivers/infiniband/core/umem_odp.c: ib_umem_notifier_invalidate_range_start() @5.4 */
async function ibUmemNotifierInvalidateRangeStart(mn: MmuNotifier, range: MmuNotifierRange) {
  const perMm = mn as IbUcontextPerMm;
  if (rangeBlockable(range)) await perMm.umemRwsem.downRead();
  else if (!(await perMm.umemRwsem.downReadTrylock())) return EAGAIN;
  if (perMm.users === 0) {
    // users is now permanently zero and visible without a lock: range_end relies on that
    // to skip its up_read.
    await perMm.umemRwsem.upRead();
    return 0;
  }
  const rc = await rbtIbUmemForEachInRange(
    perMm.umemTree,
    range.start,
    range.end,
    invalidateRangeStartTrampoline,
    rangeBlockable(range),
  );
  if (rc !== 0) {
    // 7608bf40cf24 (5.2): no end follows an -EAGAIN, so the lock must go now. Before it,
    // the read lock leaked and the next down_write (MR reg/dereg) hung for ever.
    if (!perMm.quirks.missedUnlockOnEagain) await perMm.umemRwsem.upRead();
    return rc;
  }
  perMm.openBrackets++;
  return rc;
}

/** drivers/infiniband/core/umem_odp.c: ib_umem_notifier_invalidate_range_end() @5.4 */
async function ibUmemNotifierInvalidateRangeEnd(mn: MmuNotifier, range: MmuNotifierRange) {
  const perMm = mn as IbUcontextPerMm;
  if (perMm.users === 0) return;
  // The second walk must see exactly the umems the first one saw: the tree is frozen by
  // the read lock held since start.
  await rbtIbUmemForEachInRange(perMm.umemTree, range.start, range.end, invalidateRangeEndTrampoline, true);
  perMm.openBrackets--;
  await perMm.umemRwsem.upRead();
}

/** drivers/infiniband/core/umem_odp.c: ib_umem_notifier_release() @5.4 — from exit_mmap. */
async function ibUmemNotifierRelease(mn: MmuNotifier, _mm: MmStruct) {
  const perMm = mn as IbUcontextPerMm;
  await perMm.umemRwsem.downRead();
  if (perMm.users !== 0) {
    for (const umem of perMm.umemTree.items()) {
      umem.kernel.ex.count(UMEM_INVALIDATIONS);
      // Never balanced by an end: faults on this umem stay refused from now on.
      await ibUmemNotifierStartAccount(umem);
      await umem.notifierCompletion.completeAll();
      await umem.device.invalidateRange(umem, umem.start, umem.end);
    }
  }
  await perMm.umemRwsem.upRead();
}

/** drivers/infiniband/core/umem_odp.c: ib_umem_free_notifier() @5.4 — after SRCU. */
function ibUmemFreeNotifier(mn: MmuNotifier) {
  const perMm = mn as IbUcontextPerMm;
  if (perMm.umemTree.size !== 0) perMm.kernel.warn("ib_umem_free_notifier: umem_tree not empty");
}

const opsByQuirks = new Map<boolean, MmuNotifierOps>();

/** drivers/infiniband/core/umem_odp.c: static const struct mmu_notifier_ops ib_umem_notifiers @5.4 */
export function ibUmemNotifiers(quirks: OdpLegacyQuirks): MmuNotifierOps {
  const known = opsByQuirks.get(quirks.missedUnlockOnEagain);
  if (known !== undefined) return known;
  const ops: MmuNotifierOps = {
    release: ibUmemNotifierRelease,
    invalidateRangeStart: ibUmemNotifierInvalidateRangeStart,
    invalidateRangeEnd: ibUmemNotifierInvalidateRangeEnd,
    // drivers/infiniband/core/umem_odp.c: ib_umem_alloc_notifier() @5.4
    allocNotifier: (mm) => new IbUcontextPerMm(mm.kernel, ops, { ...quirks }),
    freeNotifier: ibUmemFreeNotifier,
  };
  opsByQuirks.set(quirks.missedUnlockOnEagain, ops);
  return ops;
}

// ---------------------------------------------------------------- umem life cycle

/** drivers/infiniband/core/umem_odp.c: ib_init_umem_odp() @5.4 */
async function ibInitUmemOdp(umem: IbUmemOdp, quirks: OdpLegacyQuirks): Promise<number> {
  const k = umem.kernel;
  const mm = umem.owningMm;
  umem.start = Math.floor(umem.address / PAGE_SIZE) * PAGE_SIZE;
  const end = umem.address + umem.length;
  if (end >= ULONG_MAX) return EOVERFLOW;
  umem.end = Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
  const pages = (umem.end - umem.start) >> PAGE_SHIFT;
  if (pages === 0) return EINVAL;
  umem.pageList = new Array<Page | null>(pages).fill(null);
  umem.dmaList = new Array<number>(pages).fill(0);
  // mm/mmu_notifier.c: mmu_notifier_get() @5.4 — mmap_sem for write around _get_locked.
  await mm.mmapSem.downWrite();
  const mn = await mmuNotifierGetLocked(ibUmemNotifiers(quirks), mm);
  await mm.mmapSem.upWrite();
  if ("err" in mn) return mn.err;
  const perMm = mn as IbUcontextPerMm;
  umem.perMm = perMm;
  await perMm.umemRwsem.downWrite();
  if (perMm.openBrackets !== 0) k.bug("umem_tree changed inside an invalidate bracket");
  perMm.umemTree.insert(umem, umem.start, umem.end);
  await perMm.umemRwsem.upWrite();
  await mmgrab(mm);
  k.ex.trace("note", "ib_init_umem_odp", umem.name, `[${hex(umem.start)}, ${hex(umem.end)})`);
  return 0;
}

/** drivers/infiniband/core/umem_odp.c: ib_umem_odp_get() @5.4 — explicit ODP umem of current->mm. */
export async function ibUmemOdpGet(
  k: Kernel,
  device: IbDeviceOdpOps,
  mm: MmStruct,
  addr: number,
  size: number,
  writable: boolean,
  id: number,
  quirks: OdpLegacyQuirks,
): Promise<IbUmemOdp | number> {
  const umem = new IbUmemOdp(k, id, mm, addr, size, writable, device);
  const ret = await ibInitUmemOdp(umem, quirks);
  return ret === 0 ? umem : ret;
}

/**
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_release() @5.4 — the driver has made the
 * hardware stop using the MR. mmu_notifier_put() runs under the rwsem: an unregister between
 * a start and its end would leave the read lock unbalanced, and checking mn.users under the
 * lock is how start/end tell (the kernel's own comment).
 */
export async function ibUmemOdpRelease(umem: IbUmemOdp): Promise<void> {
  const perMm = umem.perMm!;
  await umem.umemMutex.lock();
  ibUmemOdpUnmapDmaPages(umem, umem.start, umem.end);
  await umem.umemMutex.unlock();
  await perMm.umemRwsem.downWrite();
  if (perMm.openBrackets !== 0) umem.kernel.bug("umem_tree changed inside an invalidate bracket");
  perMm.umemTree.remove(umem);
  await umem.notifierCompletion.completeAll();
  await mmuNotifierPut(perMm);
  await perMm.umemRwsem.upWrite();
  await mmdrop(umem.owningMm);
  kfree(umem.kernel, umem, "ib_umem_odp_release: kfree(umem_odp)");
}

// ---------------------------------------------------------------- DMA mapping

/**
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_map_dma_single_page() @5.4 — under
 * umem_mutex; the GUP reference is dropped in every case.
 */
async function ibUmemOdpMapDmaSinglePage(
  umem: IbUmemOdp,
  pageIndex: number,
  gp: GupPage,
  accessMask: number,
  currentSeq: number,
): Promise<number> {
  let ret = 0;
  let removeExistingMapping = false;
  // Refuse to write once the seq moved: also an early exit when a notifier runs alongside.
  if (ibUmemMmuNotifierRetry(umem, currentSeq)) {
    ret = EAGAIN;
  } else if (umem.dmaList[pageIndex] === 0) {
    // ib_dma_map_page(): the DMA address is the page itself in the model. Unlike the 5.5
    // model, no scheduling point between the retry test and the store: every 5.4 path runs
    // this under umem_mutex, which the invalidation's DMA unmap needs too, so no other thread
    // can see or change dma_list in between and a point would only multiply interleavings.
    umem.dmaList[pageIndex] = accessMask;
    umem.pageList[pageIndex] = gp.page;
    umem.npages++;
  } else if (umem.pageList[pageIndex] === gp.page) {
    umem.dmaList[pageIndex]! |= accessMask;
  } else {
    // pr_err("error: got different pages in IB device and from get_user_pages...")
    removeExistingMapping = true;
  }
  releaseUserPages(umem.owningMm, [gp], false); // put_user_page()
  if (removeExistingMapping) {
    // Reference 1.4 item 5: start_account takes umem_mutex, which the caller holds — a
    // self-deadlock on a path judged dead (odp_rework 15/15 replaced it by WARN + -EAGAIN).
    await ibUmemNotifierStartAccount(umem);
    const a = umem.start + pageIndex * PAGE_SIZE;
    await umem.device.invalidateRange(umem, a, a + PAGE_SIZE);
    await ibUmemNotifierEndAccount(umem);
    ret = EAGAIN;
  }
  return ret;
}

/**
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_map_dma_pages() @5.4 — GUP under mmap_sem
 * (dropped before mapping), then DMA-map each page under umem_mutex while the snapshot of
 * notifiers_seq still holds. Returns the pages mapped from user_virt on, or -errno.
 */
export async function ibUmemOdpMapDmaPages(
  umem: IbUmemOdp,
  userVirt: number,
  bcnt: number,
  accessMask: number,
  currentSeq: number,
): Promise<number> {
  const k = umem.kernel;
  touch(k, umem, "ib_umem_odp_map_dma_pages");
  const mm = umem.owningMm;
  if (accessMask === 0) return EINVAL;
  if (userVirt < umem.start || userVirt + bcnt > umem.end) return EFAULT;
  k.ex.trace(
    "call",
    "ib_umem_odp_map_dma_pages",
    umem.name,
    `${hex(userVirt)} +${hex(bcnt)} seq=${currentSeq}`,
  );
  // get_pid_task(per_mm->tgid): the registering process is alive in every scenario; only
  // mmget_not_zero() is modelled.
  if (!(await mmgetNotZero(mm))) return EINVAL;
  const flags = { write: (accessMask & ODP_WRITE_ALLOWED_BIT) !== 0 };
  const startIdx = (userVirt - umem.start) >> PAGE_SHIFT;
  let idx = startIdx;
  let ret = 0;
  let npages = 0;
  let left = bcnt + (userVirt % PAGE_SIZE);
  let va = userVirt - (userVirt % PAGE_SIZE);
  while (left > 0) {
    const gupNumPages = Math.min(Math.ceil(left / PAGE_SIZE), PAGE_SIZE / 8);
    await mm.mmapSem.downRead();
    const gup = await getUserPages(mm, va, gupNumPages, flags); // get_user_pages_remote()
    await mm.mmapSem.upRead();
    npages = gup.ret;
    if (npages < 0) break;
    left -= Math.min(npages * PAGE_SIZE, left);
    await umem.umemMutex.lock();
    let j = 0;
    // page_shift == PAGE_SHIFT: the "user_virt & ~page_mask" sub-page branch never runs.
    for (; j < npages; j++, va += PAGE_SIZE) {
      ret = await ibUmemOdpMapDmaSinglePage(umem, idx, gup.pages[j]!, accessMask, currentSeq);
      if (ret < 0) break;
      idx++;
    }
    await umem.umemMutex.unlock();
    if (ret < 0) {
      // The page that failed was already put by map_dma_single_page.
      releaseUserPages(mm, gup.pages.slice(j + 1), false);
      break;
    }
  }
  if (ret >= 0) ret = npages < 0 && idx === startIdx ? npages : idx - startIdx;
  await mmput(mm);
  k.ex.trace("ret", "ib_umem_odp_map_dma_pages", umem.name, errname(ret));
  return ret;
}

/**
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_unmap_dma_pages() @5.4 — under
 * umem_mutex; callers have zapped the device's view first. set_page_dirty() of writable
 * pages is not modelled (pages carry no dirty state).
 */
export function ibUmemOdpUnmapDmaPages(umem: IbUmemOdp, virt: number, bound: number): void {
  const k = umem.kernel;
  if (!umem.umemMutex.heldBySelf()) k.warn("ib_umem_odp_unmap_dma_pages without umem_mutex");
  const from = Math.max(virt, umem.start);
  const to = Math.min(bound, umem.end);
  for (let addr = from; addr < to; addr += PAGE_SIZE) {
    const idx = (addr - umem.start) >> PAGE_SHIFT;
    if (umem.pageList[idx] === null) continue;
    if (umem.dmaList[idx] === 0) k.warn("ib_umem_odp_unmap_dma_pages: page without a DMA address");
    umem.pageList[idx] = null;
    umem.dmaList[idx] = 0;
    umem.npages--;
  }
}
