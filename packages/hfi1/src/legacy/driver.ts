/**
 * The 5.4 hfi1 TID cache behind the DriverModel contract (see ../context.ts for the mapping
 * of the contract's steps onto hfi1's ioctls and PSM).
 */
import { fileURLToPath } from "node:url";
import type { DeviceContext, DriverModel, Kernel, MmStruct } from "@mnlab/core";
import { HfiCtxtData, hfi1FileCloseMm, hfi1FileOpenMm } from "../common/hfi.ts";
import { EXPECTED_COUNT, hfi1Context } from "../context.ts";
import { hfi1UserExpRcvFree54, hfi1UserExpRcvInit54, tidFree54, tidUpdate54 } from "./user-exp-rcv.ts";

export const legacy: DriverModel = {
  info: {
    driver: "hfi1",
    id: "legacy",
    kernel: "5.4",
    files: [
      "drivers/infiniband/hw/hfi1/user_exp_rcv.c",
      "drivers/infiniband/hw/hfi1/user_exp_rcv.h",
      "drivers/infiniband/hw/hfi1/mmu_rb.c",
      "drivers/infiniband/hw/hfi1/file_ops.c",
    ],
    commits: [],
    source: fileURLToPath(new URL(".", import.meta.url)),
    summary: "5.4 hfi1 TIDs: one mmu_rb handler (own mmu_notifier, interval tree under a spinlock) per file",
  },
  async open(k: Kernel, mm: MmStruct): Promise<DeviceContext> {
    await hfi1FileOpenMm(mm);
    const uctxt = new HfiCtxtData(k, 0, EXPECTED_COUNT);
    const fd = await hfi1UserExpRcvInit54(k, uctxt, mm);
    return hfi1Context(
      k,
      mm,
      uctxt,
      {
        fd,
        tidUpdate: (current, vaddr, length) => tidUpdate54(fd, current, vaddr, length),
        tidFree: (tidlist) => tidFree54(fd, tidlist),
        free: () => hfi1UserExpRcvFree54(fd),
      },
      () => hfi1FileCloseMm(fd.mm),
    );
  },
};
