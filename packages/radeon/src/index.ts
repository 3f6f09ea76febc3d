/**
 * @mnlab/radeon — radeon userptr BOs (drivers/gpu/drm/radeon/radeon_mn.c with radeon_ttm.c,
 * radeon_cs.c, radeon_gem.c) as Linux 5.4 had them — a per-mm radeon_mn with merged nodes
 * under a mutex — and as 3506ff69c3ec converted them for 5.5: one mmu_interval_notifier per
 * BO, no driver lock, no collision retry. Reference: gpu-drivers.md section 3.
 */
import type { DriverModel, DriverPackage } from "@mnlab/core";
import { interval } from "./interval/index.ts";
import { legacy } from "./legacy/index.ts";
import { scenarios } from "./scenarios.ts";

export { isRadeonBuffer, type RadeonBuffer, type RadeonContext, radeonSubmit } from "./common/model.ts";
export { interval } from "./interval/index.ts";
export { type AllocationModel, allocationModel, RADEON_JOB_TICKS, setAllocationModel } from "./knobs.ts";
export { legacy } from "./legacy/index.ts";
export {
  conformanceScenarios,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R6_COUNTERS,
  R6_VMA2,
  R8,
  referenceScenarios,
  scenarios,
} from "./scenarios.ts";

export const variants: DriverModel[] = [legacy, interval];

export const driverPackage: DriverPackage = {
  name: "radeon",
  title:
    "radeon userptr BOs: GTT buffers backed by process memory, pinned with get_user_pages (radeon_mn.c, radeon_ttm.c, radeon_cs.c, radeon_gem.c)",
  design: {
    legacy: [
      "- One `struct radeon_mn` per mm (`mmu_notifier_get`), an interval tree of nodes, each with a list of BOs,",
      "  all under the `rmn->lock` **mutex**; registering a BO merges every node it overlaps (nodes never shrink),",
      "  and allocates a node with `GFP_KERNEL` while holding the mutex.",
      "- `invalidate_range_start` runs for every invalidation of the mm; it holds `rmn->lock` throughout and, for",
      "  **every BO of every overlapping node** (no per-BO check) that is bound: reserve, wait for all fences, move",
      "  to the CPU domain (GART unbind, `put_page`). Non-blockable: trylock, then `-EAGAIN` if any node overlaps.",
      "- `release` invalidates `[0, ULONG_MAX)` with `flags = 0` — non-blockable — so at exit it bails at the first",
      "  node: nothing is waited for or unbound.",
      "- Binding pins with `get_user_pages` under `mmap_sem` (read) in the CS; nothing detects an invalidation",
      "  that found the BO still unbound (O2).",
    ].join("\n"),
    interval: [
      "- Each userptr BO embeds an `mmu_interval_notifier` over exactly its range; no driver lock, no node tree.",
      "- `radeon_mn_invalidate`: not bound → true; non-blockable → false; else reserve, wait for the fences, move",
      "  to the CPU domain, unreserve. **No `set_seq`**: the reservation alone serialises it against CS.",
      "- Registration inserts and calls `mmu_interval_read_begin` once, discarding the value, under a FIXME: GUP",
      "  still runs between `invalidate_range_start` and `_end` without `read_retry`, so O2 stays.",
      "- Exit: the core's release pass calls every BO's notifier, blocking — it waits for the GPU and unbinds.",
      "  `radeon_mn.c` shrinks from 257 to 127 lines.",
    ].join("\n"),
  },
  patches: [
    {
      commit: "3506ff69c3ec",
      title: "drm/radeon: use mmu_interval_notifier_insert",
      insertions: 51,
      deletions: 176,
    },
  ],
  variants,
  scenarios,
};
