/**
 * The 5.5 hfi1 TID cache (3889551db212) behind the DriverModel contract (see ../context.ts
 * for the mapping of the contract's steps onto hfi1's ioctls and PSM).
 */
import { fileURLToPath } from "node:url";
import type { DeviceContext, DriverModel, Kernel, MmStruct } from "@mnlab/core";
import { HfiCtxtData, hfi1FileCloseMm, hfi1FileOpenMm } from "../common/hfi.ts";
import { EXPECTED_COUNT, hfi1Context } from "../context.ts";
import { hfi1UserExpRcvFree55, hfi1UserExpRcvInit55, tidFree55, tidUpdate55 } from "./user-exp-rcv.ts";

export const interval: DriverModel = {
  info: {
    driver: "hfi1",
    id: "interval",
    kernel: "5.5",
    files: [
      "drivers/infiniband/hw/hfi1/user_exp_rcv.c",
      "drivers/infiniband/hw/hfi1/user_exp_rcv.h",
      "drivers/infiniband/hw/hfi1/hfi.h",
      "drivers/infiniband/hw/hfi1/file_ops.c",
    ],
    commits: ["3889551db212", "99cb252f5e68"],
    source: fileURLToPath(new URL(".", import.meta.url)),
    summary:
      "5.5 hfi1 TIDs: one mmu_interval_notifier per programmed TID, read_begin discarded, no read_retry",
  },
  async open(k: Kernel, mm: MmStruct): Promise<DeviceContext> {
    await hfi1FileOpenMm(mm);
    const uctxt = new HfiCtxtData(k, 0, EXPECTED_COUNT);
    const fd = hfi1UserExpRcvInit55(k, uctxt, mm);
    return hfi1Context(
      k,
      mm,
      uctxt,
      {
        fd,
        tidUpdate: (current, vaddr, length) => tidUpdate55(fd, current, vaddr, length),
        tidFree: (tidlist) => tidFree55(fd, tidlist),
        free: () => hfi1UserExpRcvFree55(fd),
      },
      () => hfi1FileCloseMm(fd.mm),
    );
  },
};
