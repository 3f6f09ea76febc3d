/**
 * The mlx5 half of ODP as of Linux 5.5: drivers/infiniband/hw/mlx5/odp.c and mr.c after the
 * odp_rework series and f25a546e6529. The MTT of each mkey is the device page table (a
 * DeviceMmu); MTT writes go through DeviceMmu.map with the read-side section they come from,
 * so the oracle checks that each one follows a false read_retry under umem_mutex.
 *
 *   mlx5_ib_invalidate_range   the interval notifier's invalidate op: false when it may not
 *                              sleep; else umem_mutex, set_seq, and — unless nothing is
 *                              mapped (npages == 0, the MR may still be under construction or
 *                              already fenced) — zap the MTTs and unmap the DMA pages.
 *   pagefault_real_mr          read_begin (sleeps while this umem is inside an open
 *                              invalidation), GUP + DMA map (check_retry per page), then under
 *                              umem_mutex read_retry and only if false the MTT write; -EAGAIN
 *                              no longer waits: the waiting moved into the next read_begin.
 *   dereg                      fence the mkey (out of odp_mkeys, synchronize_srcu, then under
 *                              umem_mutex revoke it and unmap everything so npages is 0), free
 *                              the MR, then ib_umem_odp_release (notifier remove).
 *
 * Not modelled: implicit MRs and their per-child notifiers, prefetch work (num_deferred_work),
 * the MR cache, UMR completion errors.
 */
import {
  DeviceMmu,
  EAGAIN,
  EFAULT,
  errname,
  type Kernel,
  type MappablePage,
  type MmStruct,
  type MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  PAGE_SHIFT,
  PAGE_SIZE,
  rangeBlockable,
  touch,
} from "@mnlab/core";
import { Srcu } from "@mnlab/sim";
import { dmaListObject } from "../dma-list-check.ts";
import {
  type IbUmemOdp,
  ibUmemOdpGet,
  ibUmemOdpMapDmaPages,
  ibUmemOdpRelease,
  ibUmemOdpUnmapDmaPages,
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  type UmemOdpNotifier,
} from "./umem-odp.ts";

/** struct mlx5_ib_dev @5.5, reduced to what ODP uses: odp_mkeys and odp_srcu. */
export class Mlx5IbDev55 {
  readonly odpSrcu: Srcu;
  /** The odp_mkeys xarray: faults find an MR here; fencing erases it first. */
  readonly odpMkeys = new Map<number, Mlx5IbMr55>();
  /** Every MTT this context created, for the end-of-run checks. */
  readonly mtts: DeviceMmu[] = [];
  /** Every umem this context created, for the dma_list check (dma-list-check.ts). */
  readonly umems: IbUmemOdp[] = [];
  private nextKey = 1;
  private nextUmem = 0;

  constructor(readonly kernel: Kernel) {
    this.odpSrcu = new Srcu(kernel.ex, "mlx5_ib_dev->odp_srcu");
  }

  // drivers/net/ethernet/mellanox/mlx5/core/mr.c: mlx5_core_create_mkey() @5.5 — the key it returns (a counter here)
  allocKey(): number {
    return this.nextKey++;
  }

  allocUmemId(): number {
    return this.nextUmem++;
  }
}

/** struct mlx5_ib_mr @5.5 for an explicit ODP MR. */
export class Mlx5IbMr55 {
  readonly mtt: DeviceMmu;
  /** The mkey was destroyed by the fence: the NIC rejects any access through it. */
  mkeyDestroyed = false;

  constructor(
    readonly dev: Mlx5IbDev55,
    readonly key: number,
    readonly umem: IbUmemOdp,
  ) {
    this.mtt = new DeviceMmu(dev.kernel, `mlx5_0.mkey${key}.mtt`, umem.owningMm);
    dev.mtts.push(this.mtt);
  }
}

/**
 * drivers/infiniband/hw/mlx5/odp.c: mlx5_ib_invalidate_range() @5.5 — the mmu_interval
 * notifier's invalidate op (mlx5_mn_ops). When it returns, the NIC cannot reach the range.
 */
async function mlx5IbInvalidateRange(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const umem = (mni as UmemOdpNotifier).umem;
  const k = umem.kernel;
  k.ex.count("umem_invalidations"); // metrics: a notifier invalidation reached one umem
  touch(k, umem, "mlx5_ib_invalidate_range");
  if (!rangeBlockable(range)) return false;
  await umem.umemMutex.lock();
  await mmuIntervalSetSeq(mni, curSeq);
  k.ex.touch(dmaListObject(umem)); // npages, dma_list: what a fault stores under umem_mutex
  // If npages is zero then umem_odp->private may not be set up yet (odp_rework 14/15).
  if (umem.npages !== 0) {
    const mr = umem.priv as Mlx5IbMr55;
    const from = Math.max(umem.start, range.start);
    const to = Math.min(umem.end, range.end);
    let present = false;
    for (let a = from; a < to; a += PAGE_SIZE) {
      if (umem.dmaList[(a - umem.start) >> PAGE_SHIFT]! & (ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT))
        present = true;
    }
    if (present) await mr.mtt.unmap(from, to); // mlx5_ib_update_xlt(..., ZAP | ATOMIC)
    ibUmemOdpUnmapDmaPages(umem, from, to);
    // !npages && mr->parent: destroy_unused_implicit_child_mr() — implicit MRs not modelled.
  }
  await umem.umemMutex.unlock();
  return true;
}

/** drivers/infiniband/hw/mlx5/odp.c: static const struct mmu_interval_notifier_ops mlx5_mn_ops @5.5 */
export const mlx5MnOps: MmuIntervalNotifierOps = { invalidate: mlx5IbInvalidateRange };

/**
 * drivers/infiniband/hw/mlx5/mr.c: mlx5_ib_update_xlt() @5.5 for an ODP MR — one UMR writing
 * MTT entries [idx, idx + npages) from dma_list, inside the read-side section `seq`.
 */
async function mlx5IbUpdateXlt(mr: Mlx5IbMr55, idx: number, npages: number, seq: number): Promise<number> {
  const umem = mr.umem;
  const entries: MappablePage[] = [];
  for (let i = idx; i < idx + npages; i++) {
    const page = umem.pageList[i] ?? null;
    if (page === null) continue;
    entries.push({
      addr: umem.start + i * PAGE_SIZE,
      page,
      write: (umem.dmaList[i]! & ODP_WRITE_ALLOWED_BIT) !== 0,
    });
  }
  await mr.mtt.map(entries, { via: { notifier: umem.notifier, seq, lock: umem.umemMutex } });
  return 0;
}

/** drivers/infiniband/hw/mlx5/odp.c: pagefault_real_mr() @5.5 */
async function pagefaultRealMr(
  mr: Mlx5IbMr55,
  odp: IbUmemOdp,
  userVa: number,
  bcnt: number,
): Promise<number> {
  const startIdx = (userVa - odp.start) >> PAGE_SHIFT;
  // A NIC fault is never a downgrade (only prefetch is): a writable MR is faulted for write.
  let accessMask = ODP_READ_ALLOWED_BIT;
  if (odp.writable) accessMask |= ODP_WRITE_ALLOWED_BIT;
  const currentSeq = await mmuIntervalReadBegin(odp.notifier);
  const np = await ibUmemOdpMapDmaPages(odp, userVa, bcnt, accessMask, currentSeq);
  if (np < 0) return np;
  let ret: number;
  await odp.umemMutex.lock();
  if (!mmuIntervalReadRetry(odp.notifier, currentSeq))
    ret = await mlx5IbUpdateXlt(mr, startIdx, np, currentSeq);
  else ret = EAGAIN;
  await odp.umemMutex.unlock();
  return ret < 0 ? ret : np;
}

/** drivers/infiniband/hw/mlx5/odp.c: pagefault_mr() @5.5 for an explicit MR. */
async function pagefaultMr(mr: Mlx5IbMr55, ioVirt: number, bcnt: number): Promise<number> {
  const odp = mr.umem;
  if (ioVirt < odp.start || odp.end - ioVirt < bcnt) return EFAULT;
  return pagefaultRealMr(mr, odp, ioVirt, bcnt);
}

/**
 * drivers/infiniband/hw/mlx5/odp.c: pagefault_single_data_segment() @5.5, the MR part — look
 * the mkey up in odp_mkeys under odp_srcu and fault the MR. A missing mkey is skipped in the
 * kernel (the WQE is resumed with an error); the model reports -EFAULT.
 */
export async function pagefaultSingleDataSegment(
  dev: Mlx5IbDev55,
  key: number,
  ioVirt: number,
  bcnt: number,
): Promise<number> {
  const k = dev.kernel;
  k.ex.trace("call", "pagefault_single_data_segment", `mkey${key}`, `0x${ioVirt.toString(16)} +${bcnt}`);
  const srcuKey = await dev.odpSrcu.readLock();
  await k.ex.point("xa_load", "odp_mkeys", `mkey${key}`);
  const mr = dev.odpMkeys.get(key);
  const ret = mr === undefined ? EFAULT : await pagefaultMr(mr, ioVirt, bcnt);
  await dev.odpSrcu.readUnlock(srcuKey);
  k.ex.trace("ret", "pagefault_single_data_segment", `mkey${key}`, errname(ret));
  return ret;
}

/**
 * drivers/infiniband/hw/mlx5/mr.c: mlx5_ib_reg_user_mr() @5.5 with IB_ACCESS_ON_DEMAND — the
 * umem with its notifier (mr_umem_get -> ib_umem_odp_get(..., &mlx5_mn_ops)), an mkey whose
 * MTT starts empty, umem_odp->private, and last the odp_mkeys entry that lets faults in.
 */
export async function mlx5IbRegUserMr(
  dev: Mlx5IbDev55,
  mm: MmStruct,
  start: number,
  length: number,
  writable: boolean,
): Promise<Mlx5IbMr55 | number> {
  const k = dev.kernel;
  const umem = await ibUmemOdpGet(k, mm, start, length, writable, dev.allocUmemId(), mlx5MnOps);
  if (typeof umem === "number") return umem;
  dev.umems.push(umem);
  const mr = new Mlx5IbMr55(dev, dev.allocKey(), umem); // reg_create() / alloc_mr_from_cache()
  umem.priv = mr;
  await k.ex.point("xa_store", "odp_mkeys", `mkey${mr.key}`);
  dev.odpMkeys.set(mr.key, mr);
  return mr;
}

/**
 * drivers/infiniband/hw/mlx5/odp.c: mlx5_ib_fence_odp_mr() and dma_fence_odp_mr() @5.5 —
 * after this no fault can start, none is running, and the callback finds npages == 0.
 */
async function mlx5IbFenceOdpMr(mr: Mlx5IbMr55): Promise<void> {
  const dev = mr.dev;
  const k = dev.kernel;
  const odp = mr.umem;
  await k.ex.point("xa_erase", "odp_mkeys", `mkey${mr.key}`);
  dev.odpMkeys.delete(mr.key);
  await dev.odpSrcu.synchronize();
  // wait_event(q_deferred_work, !num_deferred_work): prefetch work is not modelled.
  await odp.umemMutex.lock();
  if (odp.npages !== 0) {
    await mr.mtt.unmap(odp.start, odp.end); // mlx5_mr_cache_invalidate(): revoke the mkey
    ibUmemOdpUnmapDmaPages(odp, odp.start, odp.end);
    if (odp.npages !== 0) k.warn(`${odp.name}: npages ${odp.npages} after dma_fence_odp_mr`);
  }
  odp.priv = null;
  await odp.umemMutex.unlock();
  mr.mkeyDestroyed = true; // mlx5_core_destroy_mkey()
}

/** drivers/infiniband/hw/mlx5/mr.c: dereg_mr() @5.5 for an explicit ODP MR. */
export async function mlx5IbDeregMr(mr: Mlx5IbMr55): Promise<void> {
  const k = mr.dev.kernel;
  k.ex.trace("call", "mlx5_ib_dereg_mr", `mkey${mr.key}`);
  await mlx5IbFenceOdpMr(mr);
  // kfree(mr), then ib_umem_release(umem) -> ib_umem_odp_release().
  await ibUmemOdpRelease(mr.umem);
  k.ex.trace("ret", "mlx5_ib_dereg_mr", `mkey${mr.key}`);
}
