/**
 * The 5.5 variant (reference gpu-drivers.md 3.2, 3506ff69c3ec): radeon_mn.c on one
 * mmu_interval_notifier per userptr BO; TTM, CS and GEM in ../common/ (unchanged by the patch).
 */
import type { DriverModel } from "@mnlab/core";
import { radeonModel } from "../common/model.ts";
import { radeonMn55 } from "./radeon-mn.ts";

export const interval: DriverModel = radeonModel(
  {
    driver: "radeon",
    id: "interval",
    kernel: "5.5",
    files: [
      "drivers/gpu/drm/radeon/radeon_mn.c",
      "drivers/gpu/drm/radeon/radeon_ttm.c",
      "drivers/gpu/drm/radeon/radeon_cs.c",
      "drivers/gpu/drm/radeon/radeon_gem.c",
    ],
    commits: ["3506ff69c3ec"],
    source: new URL(".", import.meta.url).href,
    summary:
      "one mmu_interval_notifier per userptr BO; callback reserves, fence-waits and unbinds with no driver lock and no set_seq; read_begin once at register (value discarded), GUP without read_retry",
  },
  radeonMn55,
);
