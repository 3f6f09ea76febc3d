/**
 * @mnlab/rdma-odp — RDMA on-demand paging: the ib_umem_odp core and the mlx5 page-fault and
 * invalidation paths, modelled twice on @mnlab/core (reference rdma-xen-drivers.md 1):
 *   legacy        Linux 5.4: one mmu_notifier per mm (ib_ucontext_per_mm) with an interval
 *                 tree of umems under umem_rwsem, held for read from invalidate_range_start
 *                 to _end; notifiers_seq/notifiers_count/notifier_completion for faults.
 *   legacy-pre52  the same with 7608bf40cf24 reverted (the non-blockable -EAGAIN path keeps
 *                 umem_rwsem): the historical behaviour of 5.0-5.1.
 *   interval      Linux 5.5 (f25a546e6529 on the odp_rework series): one
 *                 mmu_interval_notifier per umem, read_begin/read_retry under umem_mutex.
 *
 * Both variants install the dma_list check (dma-list-check.ts): at rest, every DMA-mapped
 * page of a live umem is the page the CPU maps there, which umem_mutex guarantees by
 * serialising the fault's dma_list stores with the invalidation's DMA unmap.
 *
 * Implicit MRs are not modelled in either variant: the DriverModel contract registers
 * explicit VA ranges and has no way to express a whole-address-space MR whose children
 * appear from faults; the bugs that live there (reference 1.4 items 6 and 7) were fixed
 * before 5.4. Explicit MRs carry every reference row (O1-O4).
 */
import type { DriverPackage } from "@mnlab/core";
import { interval } from "./interval/driver.ts";
import { legacy, legacyPre52 } from "./legacy/driver.ts";
import { conformanceExpectations, conformanceScenarios, referenceScenarios, scenarios } from "./scenarios.ts";

export { interval } from "./interval/driver.ts";
export { legacy, legacyPre52 } from "./legacy/driver.ts";
export { conformanceExpectations, conformanceScenarios, referenceScenarios, scenarios };

export const variants = [legacy, legacyPre52, interval];

export const driverPackage: DriverPackage = {
  name: "rdma-odp",
  title:
    "RDMA on-demand paging: ib_umem_odp (drivers/infiniband/core/umem_odp.c) and mlx5 page faults " +
    "(drivers/infiniband/hw/mlx5/odp.c, mr.c)",
  design: {
    legacy: [
      "- One `mmu_notifier` per mm (`ib_ucontext_per_mm`, `mmu_notifier_get`/`put`) with an interval tree of every ODP umem under `umem_rwsem`.",
      "- `invalidate_range_start` takes `umem_rwsem` for read (trylock when non-blockable) and keeps it until `invalidate_range_end`, which re-walks the tree: the tree must not change inside a bracket, so MR registration and deregistration (`down_write`) wait for every open invalidation of the mm — and deadlock against a nested start (THP split) once queued between the two (`ca748c39ea3f`).",
      "- Faults snapshot `notifiers_seq`, GUP, and write MTTs under `umem_mutex` only if `notifiers_count == 0` and the seq did not move; else `-EAGAIN` and a wait of up to 1 s on `notifier_completion`.",
    ].join("\n"),
    interval: [
      "- One `mmu_interval_notifier` per umem over its own span; `mlx5_ib_invalidate_range` is the op: `false` when non-blockable, else `umem_mutex`, `set_seq`, and — unless `npages == 0` — zap the MTTs and unmap DMA.",
      "- `pagefault_real_mr`: `read_begin` (sleeps while the umem is inside an open invalidation), GUP + DMA map with `check_retry`, then `read_retry` under `umem_mutex` before the MTT write; `-EAGAIN` no longer waits.",
      "- No driver lock spans a bracket: insert and remove are deferred by the core, teardown fences the mkey, unmaps under `umem_mutex`, then removes the notifier. The per-mm object, its tree, rwsem, seq/count and completion are gone (odp_rework 14/15 and 15/15: +93/−59 and +19/−19).",
    ].join("\n"),
  },
  patches: [
    {
      commit: "f25a546e6529",
      title:
        "RDMA/odp: Use mmu_interval_notifier_insert() (434 changed lines; the +/− split is inferred from v1's ratio)",
      insertions: 75,
      deletions: 360,
    },
    {
      commit: "odp_rework",
      title: "RDMA/odp and RDMA/mlx5 rework, 15 patches landed before the conversion (11 files)",
      insertions: 627,
      deletions: 660,
    },
  ],
  variants,
  scenarios,
};
