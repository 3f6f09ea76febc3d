/**
 * The 5.4 ODP model behind the DriverModel contract:
 *   open        ib_alloc_ucontext (mlx5_ib_alloc_ucontext): no ODP state yet — the per-mm
 *               notifier and its umem tree come with the first ODP MR (mmu_notifier_get)
 *               and go with the last (mmu_notifier_put), as in the kernel;
 *   register    ib_reg_user_mr(IB_ACCESS_ON_DEMAND) -> mlx5_ib_reg_user_mr;
 *   populate    a NIC page fault over the range (pagefault_single_data_segment); on -EAGAIN
 *               the QP is resumed without error and the NIC faults again — retaken here up
 *               to PF_MAX_ATTEMPTS times, each retake counted as a populate retry;
 *   access      a NIC DMA through the mkey's MTT (a missing entry is a page fault, returned);
 *   unregister  ib_dereg_mr -> mlx5_ib_dereg_mr;
 *   close       ib_uverbs close: MRs still registered are destroyed
 *               (uverbs_destroy_ufile_hw), then mlx5_ib_dealloc_ucontext.
 */
import { fileURLToPath } from "node:url";
import {
  type AccessResult,
  type BufferHandle,
  type DeviceContext,
  type DriverModel,
  EAGAIN,
  EINVAL,
  type Kernel,
  type MmStruct,
  POPULATE_RETRY,
} from "@mnlab/core";
import { installDmaListCheck } from "../dma-list-check.ts";
import {
  Mlx5IbDev54,
  type Mlx5IbMr54,
  mlx5IbDeregMr,
  mlx5IbRegUserMr,
  pagefaultSingleDataSegment,
} from "./mlx5-odp.ts";
import { ODP_WRITE_ALLOWED_BIT, type OdpLegacyQuirks } from "./umem-odp.ts";

/** How many times the model lets the NIC retake one fault before it reports -EAGAIN. */
export const PF_MAX_ATTEMPTS = 3;

interface OdpBuffer54 extends BufferHandle {
  readonly mr: Mlx5IbMr54;
}

/**
 * The oracles the reference asks for in every OLD run (1.5): notifiers_count >= 0. The
 * dma_list check (dma-list-check.ts) is installed next to it, as in the 5.5 model.
 */
function installOdpInvariants(k: Kernel, dev: Mlx5IbDev54): void {
  // notifiers_count is umem_mutex's: checked only while no umem_mutex is held.
  k.ex.addCheck(
    "core-invariant",
    () => {
      for (const u of dev.umems) {
        if (u.notifiersCount < 0) return `${u.name}: notifiers_count is ${u.notifiersCount}`;
      }
      return null;
    },
    { protectedBy: () => dev.umems.map((u) => u.umemMutex) },
  );
}

function legacyModel(id: string, quirks: OdpLegacyQuirks, summary: string, commits: string[]): DriverModel {
  return {
    info: {
      driver: "rdma-odp",
      id,
      kernel: "5.4",
      files: [
        "drivers/infiniband/core/umem_odp.c",
        "include/rdma/ib_umem_odp.h",
        "drivers/infiniband/hw/mlx5/odp.c",
        "drivers/infiniband/hw/mlx5/mr.c",
      ],
      commits,
      source: fileURLToPath(new URL(".", import.meta.url)),
      summary,
    },
    async open(k: Kernel, mm: MmStruct): Promise<DeviceContext> {
      const dev = new Mlx5IbDev54(k, quirks);
      installOdpInvariants(k, dev);
      installDmaListCheck(k, () => dev.umems, ODP_WRITE_ALLOWED_BIT);
      const registered = new Set<Mlx5IbMr54>();
      return {
        get mmus() {
          return dev.mtts;
        },
        async register(start, len, opts) {
          const mr = await mlx5IbRegUserMr(dev, mm, start, len, opts.write);
          if (typeof mr === "number") return mr;
          mr.pdSet = true; // ib_uverbs_reg_mr(): mr->pd = pd
          registered.add(mr);
          const b: OdpBuffer54 = { start, end: start + len, mr };
          return b;
        },
        async populate(buf, start, end) {
          const { mr } = buf as OdpBuffer54;
          for (let attempt = 1; ; attempt++) {
            const ret = await pagefaultSingleDataSegment(dev, mr.key, start, end - start);
            if (ret !== EAGAIN) return Math.min(ret, 0);
            k.ex.count(POPULATE_RETRY);
            if (attempt === PF_MAX_ATTEMPTS) return ret;
          }
        },
        async access(buf, addr, write): Promise<AccessResult | number> {
          const { mr } = buf as OdpBuffer54;
          if (mr.mkeyDestroyed) return EINVAL;
          return mr.mtt.access(addr, write);
        },
        async unregister(buf) {
          const { mr } = buf as OdpBuffer54;
          registered.delete(mr);
          await mlx5IbDeregMr(dev, mr);
        },
        async close() {
          for (const mr of [...registered]) {
            registered.delete(mr);
            await mlx5IbDeregMr(dev, mr);
          }
        },
      };
    },
  };
}

/** Linux 5.4 as released: 7608bf40cf24 is in, the O2 deadlock is not fixed yet. */
export const legacy: DriverModel = legacyModel(
  "legacy",
  { missedUnlockOnEagain: false },
  "5.4 ODP: per-mm umem interval tree under umem_rwsem held from start to end, notifiers_seq/count retry",
  ["c571feca2dc9", "ca748c39ea3f", "7608bf40cf24"],
);

/** 5.4 with 7608bf40cf24 reverted: the non-blockable -EAGAIN path leaks umem_rwsem (5.0-5.1). */
export const legacyPre52: DriverModel = legacyModel(
  "legacy-pre52",
  { missedUnlockOnEagain: true },
  "5.4 ODP without 7608bf40cf24: a non-blockable start answering -EAGAIN keeps umem_rwsem for read",
  ["c571feca2dc9", "ca748c39ea3f"],
);
