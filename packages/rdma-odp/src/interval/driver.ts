/**
 * The 5.5 ODP model behind the DriverModel contract:
 *   open        ib_alloc_ucontext: no ODP state (each umem brings its own notifier);
 *   register    ib_reg_user_mr(IB_ACCESS_ON_DEMAND) -> mlx5_ib_reg_user_mr;
 *   populate    a NIC page fault over the range (pagefault_single_data_segment), retaken
 *               after -EAGAIN up to PF_MAX_ATTEMPTS times, each retake a populate retry;
 *   access      a NIC DMA through the mkey's MTT (a missing entry is a page fault, returned);
 *   unregister  ib_dereg_mr -> mlx5_ib_dereg_mr;
 *   close       MRs still registered are destroyed, then mlx5_ib_dealloc_ucontext.
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
  Mlx5IbDev55,
  type Mlx5IbMr55,
  mlx5IbDeregMr,
  mlx5IbRegUserMr,
  pagefaultSingleDataSegment,
} from "./mlx5-odp.ts";
import { ODP_WRITE_ALLOWED_BIT } from "./umem-odp.ts";

/** How many times the model lets the NIC retake one fault before it reports -EAGAIN. */
export const PF_MAX_ATTEMPTS = 3;

interface OdpBuffer55 extends BufferHandle {
  readonly mr: Mlx5IbMr55;
}

export const interval: DriverModel = {
  info: {
    driver: "rdma-odp",
    id: "interval",
    kernel: "5.5",
    files: [
      "drivers/infiniband/core/umem_odp.c",
      "include/rdma/ib_umem_odp.h",
      "drivers/infiniband/hw/mlx5/odp.c",
      "drivers/infiniband/hw/mlx5/mr.c",
    ],
    commits: ["f25a546e6529", "99cb252f5e68"],
    source: fileURLToPath(new URL(".", import.meta.url)),
    summary: "5.5 ODP: one mmu_interval_notifier per umem, read_begin/read_retry under umem_mutex",
  },
  async open(k: Kernel, mm: MmStruct): Promise<DeviceContext> {
    const dev = new Mlx5IbDev55(k);
    installDmaListCheck(k, () => dev.umems, ODP_WRITE_ALLOWED_BIT);
    const registered = new Set<Mlx5IbMr55>();
    return {
      get mmus() {
        return dev.mtts;
      },
      async register(start, len, opts) {
        const mr = await mlx5IbRegUserMr(dev, mm, start, len, opts.write);
        if (typeof mr === "number") return mr;
        registered.add(mr);
        const b: OdpBuffer55 = { start, end: start + len, mr };
        return b;
      },
      async populate(buf, start, end) {
        const { mr } = buf as OdpBuffer55;
        for (let attempt = 1; ; attempt++) {
          const ret = await pagefaultSingleDataSegment(dev, mr.key, start, end - start);
          if (ret !== EAGAIN) return Math.min(ret, 0);
          k.ex.count(POPULATE_RETRY);
          if (attempt === PF_MAX_ATTEMPTS) return ret;
        }
      },
      async access(buf, addr, write): Promise<AccessResult | number> {
        const { mr } = buf as OdpBuffer55;
        if (mr.mkeyDestroyed) return EINVAL;
        return mr.mtt.access(addr, write);
      },
      async unregister(buf) {
        const { mr } = buf as OdpBuffer55;
        registered.delete(mr);
        await mlx5IbDeregMr(mr);
      },
      async close() {
        for (const mr of [...registered]) {
          registered.delete(mr);
          await mlx5IbDeregMr(mr);
        }
      },
    };
  },
};
