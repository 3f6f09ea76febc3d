/**
 * The ODP umem core as of Linux 5.5: drivers/infiniband/core/umem_odp.c and
 * include/rdma/ib_umem_odp.h after f25a546e6529 ("RDMA/odp: Use
 * mmu_interval_notifier_insert()") and the odp_rework series it builds on (reference
 * rdma-xen-drivers.md 1.2).
 *
 * Each umem embeds one mmu_interval_notifier over exactly its page-aligned span of the
 * owning mm; the driver's ops (mlx5_mn_ops) come with ib_umem_odp_get. The per-mm object,
 * its tree and rwsem, notifiers_seq/count and notifier_completion are gone: the collision
 * test is the core's read_begin / check_retry / read_retry, and the driver's invalidate
 * callback stores cur_seq with set_seq under umem_mutex, the lock read_retry is called
 * under. No driver lock is held across an invalidation bracket.
 *
 * Implicit MRs (one notifier per MLX5_IMR_MTT_SIZE child, none for the parent) are not
 * modelled: the contract registers explicit VA ranges (see the package index).
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
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  mmgetNotZero,
  mmput,
  mmuIntervalCheckRetry,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  PAGE_SHIFT,
  PAGE_SIZE,
  type Page,
  releaseUserPages,
  touch,
  ULONG_MAX,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";
import { dmaListObject } from "../dma-list-check.ts";

/** include/rdma/ib_umem_odp.h @5.5: the access bits kept in the low bits of dma_list[]. */
export const ODP_READ_ALLOWED_BIT = 1 << 0;
export const ODP_WRITE_ALLOWED_BIT = 1 << 1;

/** The mmu_interval_notifier embedded in an ib_umem_odp: `umem` is container_of(). */
export class UmemOdpNotifier extends MmuIntervalNotifier {
  constructor(readonly umem: IbUmemOdp) {
    super(`${umem.name}->notifier`);
  }
}

/**
 * struct ib_umem_odp @5.5 (explicit MRs; is_implicit_odp is never set in the model). Its
 * lifetime is the embedded notifier's too: kfree(umem_odp) at the end of ib_umem_odp_release.
 */
export class IbUmemOdp implements HasLifetime {
  readonly name: string;
  readonly lifetime: Lifetime;
  readonly notifier: UmemOdpNotifier;
  /** The user lock of the collision-retry protocol: set_seq and read_retry run under it. */
  readonly umemMutex: Mutex;
  start = 0;
  end = 0;
  pageList: (Page | null)[] = [];
  dmaList: number[] = [];
  /** Zero until the first page is DMA-mapped: the callback's "MR may not be set up" test. */
  npages = 0;
  /** umem_odp->private: the driver's MR. */
  priv: object | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly id: number,
    readonly owningMm: MmStruct,
    readonly address: number,
    readonly length: number,
    readonly writable: boolean,
  ) {
    this.name = `umem_odp${id}`;
    this.lifetime = new Lifetime(`struct ib_umem_odp ${this.name}`);
    this.notifier = new UmemOdpNotifier(this);
    this.notifier.lifetime = this.lifetime; // embedded: container_of(mni, struct ib_umem_odp, notifier)
    this.umemMutex = new Mutex(kernel.ex, `${this.name}->umem_mutex`, "umem_odp->umem_mutex");
  }

  /** Freed by ib_umem_odp_release (oracles and tests). */
  get freed(): boolean {
    return this.lifetime.isFreed;
  }
}

/** drivers/infiniband/core/umem_odp.c: ib_init_umem_odp() @5.5 */
async function ibInitUmemOdp(umem: IbUmemOdp, ops: MmuIntervalNotifierOps): Promise<number> {
  umem.start = Math.floor(umem.address / PAGE_SIZE) * PAGE_SIZE;
  const end = umem.address + umem.length;
  if (end >= ULONG_MAX) return EOVERFLOW;
  umem.end = Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
  const pages = (umem.end - umem.start) >> PAGE_SHIFT;
  if (pages === 0) return EINVAL;
  umem.pageList = new Array<Page | null>(pages).fill(null);
  umem.dmaList = new Array<number>(pages).fill(0);
  // Insert may return with the notifier still deferred: mappings only via read_begin/retry.
  return mmuIntervalNotifierInsert(umem.notifier, umem.owningMm, umem.start, umem.end - umem.start, ops);
}

/** drivers/infiniband/core/umem_odp.c: ib_umem_odp_get() @5.5 — explicit ODP umem of current->mm. */
export async function ibUmemOdpGet(
  k: Kernel,
  mm: MmStruct,
  addr: number,
  size: number,
  writable: boolean,
  id: number,
  ops: MmuIntervalNotifierOps,
): Promise<IbUmemOdp | number> {
  const umem = new IbUmemOdp(k, id, mm, addr, size, writable);
  // umem_odp->tgid = get_task_pid(current->group_leader): not modelled (see map_dma_pages).
  const ret = await ibInitUmemOdp(umem, ops);
  k.ex.trace("note", "ib_umem_odp_get", umem.name, `[${hex(umem.start)}, ${hex(umem.end)}) ${errname(ret)}`);
  return ret === 0 ? umem : ret;
}

/**
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_release() @5.5 — the driver has fenced
 * the mkey. Unmap under umem_mutex, drop it, then remove the notifier: remove waits out a
 * running invalidation and guarantees no callback afterwards, so it must not be called with
 * umem_mutex held (the callback takes it).
 */
export async function ibUmemOdpRelease(umem: IbUmemOdp): Promise<void> {
  await umem.umemMutex.lock();
  ibUmemOdpUnmapDmaPages(umem, umem.start, umem.end);
  await umem.umemMutex.unlock();
  await mmuIntervalNotifierRemove(umem.notifier);
  // kvfree(dma_list), kvfree(page_list), put_pid(tgid), kfree(umem_odp)
  kfree(umem.kernel, umem, "ib_umem_odp_release: kfree(umem_odp)");
}

/** dma_list as a step reads it: named for the partial-order reduction (no scheduling point). */
function readDmaList(umem: IbUmemOdp): readonly number[] {
  umem.kernel.ex.touch(dmaListObject(umem));
  return umem.dmaList;
}

/**
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_map_dma_single_page() @5.5 — under
 * umem_mutex. check_retry is the cheap early exit; the decisive test is the caller's
 * read_retry. A different page in a used slot is a WARN and -EAGAIN since odp_rework 15/15.
 */
async function ibUmemOdpMapDmaSinglePage(
  umem: IbUmemOdp,
  pageIndex: number,
  gp: GupPage,
  accessMask: number,
  currentSeq: number,
): Promise<number> {
  let ret = 0;
  if (await mmuIntervalCheckRetry(umem.notifier, currentSeq)) {
    ret = EAGAIN;
  } else if (readDmaList(umem)[pageIndex] === 0) {
    // ib_dma_map_page(): the DMA address is the page itself in the model. The mapping is
    // work between the check_retry hint and the store (an IOMMU page-table update): its
    // scheduling point is where a callback on another CPU can run when umem_mutex is not held.
    await umem.kernel.ex.point("ib_dma_map_page", dmaListObject(umem), hex(gp.page.pfn));
    umem.dmaList[pageIndex] = accessMask;
    umem.pageList[pageIndex] = gp.page;
    umem.npages++;
  } else if (umem.pageList[pageIndex] === gp.page) {
    umem.dmaList[pageIndex]! |= accessMask;
  } else {
    umem.kernel.warn(`${umem.name}: got different pages in IB device and from get_user_pages`);
    ret = EAGAIN;
  }
  releaseUserPages(umem.owningMm, [gp], false); // put_user_page()
  return ret;
}

/**
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_map_dma_pages() @5.5 — GUP under mmap_sem
 * (dropped before mapping), then DMA-map each page under umem_mutex unless check_retry
 * already says the read section collided. Returns the pages mapped from user_virt on.
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
  // get_pid_task(umem_odp->tgid): the registering process is alive in every scenario; only
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
 * drivers/infiniband/core/umem_odp.c: ib_umem_odp_unmap_dma_pages() @5.5 — under umem_mutex,
 * after the device's view is gone. set_page_dirty() is not modelled.
 */
export function ibUmemOdpUnmapDmaPages(umem: IbUmemOdp, virt: number, bound: number): void {
  const k = umem.kernel;
  if (!umem.umemMutex.heldBySelf()) k.warn("ib_umem_odp_unmap_dma_pages without umem_mutex");
  k.ex.touch(dmaListObject(umem));
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
