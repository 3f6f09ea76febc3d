/**
 * The 5.4 variant (reference gpu-drivers.md 3.1): radeon_mn.c with its per-mm radeon_mn, the
 * node tree under rmn->lock, the non-blockable release; TTM, CS and GEM in ../common/.
 */
import type { DriverModel } from "@mnlab/core";
import { radeonModel } from "../common/model.ts";
import { radeonMn54 } from "./radeon-mn.ts";

export const legacy: DriverModel = radeonModel(
  {
    driver: "radeon",
    id: "legacy",
    kernel: "5.4",
    files: [
      "drivers/gpu/drm/radeon/radeon_mn.c",
      "drivers/gpu/drm/radeon/radeon_ttm.c",
      "drivers/gpu/drm/radeon/radeon_cs.c",
      "drivers/gpu/drm/radeon/radeon_gem.c",
    ],
    commits: [],
    source: new URL(".", import.meta.url).href,
    summary:
      "per-mm radeon_mn (mmu_notifier_get) with merged nodes under the rmn->lock mutex; every BO of an overlapping node reserved, fence-waited and unbound; non-blockable release",
  },
  radeonMn54,
);
