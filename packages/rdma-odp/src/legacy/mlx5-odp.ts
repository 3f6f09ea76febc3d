/**
 * The mlx5 half of ODP as of Linux 5.4: drivers/infiniband/hw/mlx5/odp.c (the page-fault
 * handler and mlx5_ib_invalidate_range) and mr.c (registration and deregistration of an
 * explicit ODP MR). The MTT of each mkey is the device page table (a DeviceMmu): UMR writes
 * that fill it (mlx5_ib_update_xlt) and zap it are device_map / device_unmap.
 *
 * Page faults run inside the device-wide `mr_srcu` read section and refuse an MR whose
 * `live` flag is clear; deregistration clears `live` and waits out the faults with
 * synchronize_srcu before it tears the umem down.
 *
 * Not modelled: implicit MRs (their KLM parent and leaf children, `dying`, the leaf-free
 * work: bugs 1.4 items 6 and 7 live there), prefetch work items (num_pending_prefetch), the
 * MR cache, and UMR completion errors.
 */
import {
  DeviceMmu,
  EAGAIN,
  EFAULT,
  errname,
  type Kernel,
  type MappablePage,
  type MmStruct,
  PAGE_SHIFT,
  PAGE_SIZE,
  touch,
} from "@mnlab/core";
import { SharedCell, Srcu } from "@mnlab/sim";
import {
  type IbDeviceOdpOps,
  type IbUmemOdp,
  ibUmemMmuNotifierRetry,
  ibUmemOdpGet,
  ibUmemOdpMapDmaPages,
  ibUmemOdpRelease,
  ibUmemOdpUnmapDmaPages,
  ODP_READ_ALLOWED_BIT,
  ODP_WRITE_ALLOWED_BIT,
  type OdpLegacyQuirks,
} from "./umem-odp.ts";

/** drivers/infiniband/hw/mlx5/odp.c: MMU_NOTIFIER_TIMEOUT @5.4 — ms, one tick each. */
export const MMU_NOTIFIER_TIMEOUT = 1000;

/** struct mlx5_ib_dev @5.4, reduced to what ODP uses: the mkey table and mr_srcu. */
export class Mlx5IbDev54 {
  readonly mrSrcu: Srcu;
  /** The mkey radix tree (__mlx5_mr_lookup). */
  readonly mkeys = new Map<number, Mlx5IbMr54>();
  /** Every MTT this context created, for the end-of-run checks. */
  readonly mtts: DeviceMmu[] = [];
  /** Every umem this context created (oracle bookkeeping). */
  readonly umems: IbUmemOdp[] = [];
  private nextKey = 1;
  private nextUmem = 0;
  /** ib_device_ops.invalidate_range */
  readonly ops: IbDeviceOdpOps = { invalidateRange: mlx5IbInvalidateRange };

  constructor(
    readonly kernel: Kernel,
    readonly quirks: OdpLegacyQuirks,
  ) {
    this.mrSrcu = new Srcu(kernel.ex, "mlx5_ib_dev->mr_srcu");
  }

  // drivers/net/ethernet/mellanox/mlx5/core/mr.c: mlx5_core_create_mkey() @5.4 — the key it returns (a counter here)
  allocKey(): number {
    return this.nextKey++;
  }

  allocUmemId(): number {
    return this.nextUmem++;
  }
}

/** struct mlx5_ib_mr @5.4 for an explicit ODP MR. */
export class Mlx5IbMr54 {
  /** mr->live: set last at registration, cleared first at deregistration. */
  readonly live: SharedCell<boolean>;
  /** The mkey's translation table. */
  readonly mtt: DeviceMmu;
  /** mr->ibmr.pd: set by ib_uverbs_reg_mr() once the driver returned. */
  pdSet = false;
  /** The mkey was destroyed (clean_mr): the NIC rejects any access through it. */
  mkeyDestroyed = false;

  constructor(
    readonly dev: Mlx5IbDev54,
    readonly key: number,
    readonly umem: IbUmemOdp,
  ) {
    const k = dev.kernel;
    this.live = new SharedCell(k.ex, `mkey${key}->live`, false);
    this.mtt = new DeviceMmu(k, `mlx5_0.mkey${key}.mtt`, umem.owningMm);
    dev.mtts.push(this.mtt);
  }
}

/**
 * drivers/infiniband/hw/mlx5/mr.c: mlx5_ib_update_xlt() @5.4 for an ODP MR — one UMR that
 * writes MTT entries [idx, idx + npages) from dma_list (mlx5_odp_populate_xlt): the access
 * bits become the MTT's read/write permission. Caller holds umem_mutex.
 */
async function mlx5IbUpdateXlt(mr: Mlx5IbMr54, idx: number, npages: number): Promise<number> {
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
  await mr.mtt.map(entries);
  return 0;
}

/**
 * drivers/infiniband/hw/mlx5/odp.c: mlx5_ib_invalidate_range() @5.4 — ib_device_ops
 * invalidate_range, called by umem_odp.c with start_account done. The MR test is unlocked
 * (reference 1.4 item 4: it cannot make creation or destruction safe by itself; with the
 * contract's ordering and a sequentially consistent memory model the window does not open).
 */
export async function mlx5IbInvalidateRange(umem: IbUmemOdp, start: number, end: number): Promise<void> {
  const k = umem.kernel;
  touch(k, umem, "mlx5_ib_invalidate_range");
  const mr = umem.priv as Mlx5IbMr54 | null;
  if (mr === null || !mr.pdSet) return;
  const from = Math.max(umem.start, start);
  const to = Math.min(umem.end, end);
  await umem.umemMutex.lock();
  // Iteration one: zap the MTT blocks that hold present entries (one UMR in the model).
  let present = false;
  for (let a = from; a < to; a += PAGE_SIZE) {
    if (umem.dmaList[(a - umem.start) >> PAGE_SHIFT]! & (ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT))
      present = true;
  }
  if (present) await mr.mtt.unmap(from, to); // mlx5_ib_update_xlt(..., ZAP | ATOMIC)
  // The device no longer reaches the pages: unmap them (and, in the kernel, dirty them).
  ibUmemOdpUnmapDmaPages(umem, from, to);
  // The implicit-child "dying" branch needs mr->parent: implicit MRs are not modelled.
  await umem.umemMutex.unlock();
}

/**
 * drivers/infiniband/hw/mlx5/odp.c: pagefault_mr() @5.4 for an explicit MR — snapshot
 * notifiers_seq, GUP and DMA-map, then write the MTTs under umem_mutex only if no
 * invalidation started or ended since. On -EAGAIN wait for the running invalidation(s) to
 * end, at most MMU_NOTIFIER_TIMEOUT, and let the caller retake the fault.
 */
async function pagefaultMr(mr: Mlx5IbMr54, ioVirt: number, bcnt: number): Promise<number> {
  const k = mr.dev.kernel;
  const odp = mr.umem;
  const size = Math.min(bcnt, odp.end - ioVirt);
  const startIdx = (ioVirt - odp.start) >> PAGE_SHIFT;
  // A NIC fault is never a downgrade (only prefetch is): a writable MR is faulted for write.
  let accessMask = ODP_READ_ALLOWED_BIT;
  if (odp.writable) accessMask |= ODP_WRITE_ALLOWED_BIT;
  const currentSeq = await odp.seq.load(); // READ_ONCE(odp->notifiers_seq)
  // smp_rmb(): the seq is read before GUP looks at the page table.
  let ret = await ibUmemOdpMapDmaPages(odp, ioVirt, size, accessMask, currentSeq);
  if (ret >= 0) {
    const np = ret;
    await odp.umemMutex.lock();
    if (!ibUmemMmuNotifierRetry(odp, currentSeq)) ret = await mlx5IbUpdateXlt(mr, startIdx, np);
    else ret = EAGAIN;
    await odp.umemMutex.unlock();
    if (ret >= 0) return np;
  }
  if (ret === EAGAIN) {
    if (!(await odp.notifierCompletion.waitTimeout(MMU_NOTIFIER_TIMEOUT))) {
      // mlx5_ib_warn(): a printk, not a WARN_ON.
      k.ex.trace(
        "note",
        "mlx5_ib_warn",
        odp.name,
        `timeout waiting for mmu notifier. seq ${currentSeq} against ${odp.notifiersSeq}. notifiers_count=${odp.notifiersCount}`,
      );
    }
  }
  return ret;
}

/**
 * drivers/infiniband/hw/mlx5/odp.c: pagefault_single_data_segment() @5.4, the MR part — look
 * the mkey up under mr_srcu and fault the MR. A missing or dead MR is skipped in the kernel
 * (ret 0, and the WQE is resumed with an error); the model reports -EFAULT.
 */
export async function pagefaultSingleDataSegment(
  dev: Mlx5IbDev54,
  key: number,
  ioVirt: number,
  bcnt: number,
): Promise<number> {
  const k = dev.kernel;
  k.ex.trace("call", "pagefault_single_data_segment", `mkey${key}`, `0x${ioVirt.toString(16)} +${bcnt}`);
  const srcuKey = await dev.mrSrcu.readLock();
  const mr = dev.mkeys.get(key); // __mlx5_mr_lookup()
  let ret: number;
  if (mr === undefined || !(await mr.live.load()) || !mr.pdSet) ret = EFAULT;
  else ret = await pagefaultMr(mr, ioVirt, bcnt);
  await dev.mrSrcu.readUnlock(srcuKey);
  k.ex.trace("ret", "pagefault_single_data_segment", `mkey${key}`, errname(ret));
  return ret;
}

/**
 * drivers/infiniband/hw/mlx5/mr.c: mlx5_ib_reg_user_mr() @5.4 with IB_ACCESS_ON_DEMAND —
 * the umem first (mr_umem_get -> ib_umem_odp_get, which puts it in the per-mm tree), then an
 * mkey whose MTT starts empty, then umem_odp->private, then live.
 */
export async function mlx5IbRegUserMr(
  dev: Mlx5IbDev54,
  mm: MmStruct,
  start: number,
  length: number,
  writable: boolean,
): Promise<Mlx5IbMr54 | number> {
  const k = dev.kernel;
  const umem = await ibUmemOdpGet(k, dev.ops, mm, start, length, writable, dev.allocUmemId(), dev.quirks);
  if (typeof umem === "number") return umem;
  dev.umems.push(umem);
  const mr = new Mlx5IbMr54(dev, dev.allocKey(), umem); // reg_create() / alloc_mr_from_cache()
  dev.mkeys.set(mr.key, mr);
  umem.priv = mr;
  await mr.live.store(true); // smp_store_release(&mr->live, 1)
  return mr;
}

/**
 * drivers/infiniband/hw/mlx5/mr.c: dereg_mr() @5.4 for an explicit ODP MR — stop faults,
 * wait for the running ones, zap everything, release the umem (out of the tree under
 * umem_rwsem for write), and only then destroy the mkey: "we kill the umem before the MR for
 * ODP, so that there will not be any invalidations in flight, looking at the *mr struct".
 */
export async function mlx5IbDeregMr(dev: Mlx5IbDev54, mr: Mlx5IbMr54): Promise<void> {
  const k = dev.kernel;
  k.ex.trace("call", "mlx5_ib_dereg_mr", `mkey${mr.key}`);
  await mr.live.store(false);
  await dev.mrSrcu.synchronize();
  // num_pending_prefetch: prefetch work is not modelled, nothing to flush.
  await mlx5IbInvalidateRange(mr.umem, mr.umem.start, mr.umem.end);
  await ibUmemOdpRelease(mr.umem);
  // clean_mr(): destroy the mkey; mlx5_mr_cache_free() / kfree(mr).
  dev.mkeys.delete(mr.key);
  mr.mkeyDestroyed = true;
  k.ex.trace("ret", "mlx5_ib_dereg_mr", `mkey${mr.key}`);
}
