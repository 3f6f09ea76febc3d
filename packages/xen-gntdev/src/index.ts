/**
 * @mnlab/xen-gntdev — Xen grant-device mappings (drivers/xen/gntdev.c, gntdev-common.h)
 * modelled twice on @mnlab/core, each on both guest kinds (reference rdma-xen-drivers.md 3):
 *   legacy / legacy-hvm        Linux 5.4: one mmu_notifier per open file over priv->mm; every
 *                              invalidation scans maps and freeable_maps under priv->lock.
 *   interval / interval-hvm    Linux 5.5 (d3eeb1d77c5d): one mmu_interval_notifier per mmapped
 *                              map over its VMA's range at mmap time.
 * The device is the hypervisor (src/xen/hypervisor.ts): it keeps every grant mapping and the
 * PTE pointers of PV mappings, and reports an implicit unmap of a grant PTE.
 */
import type { DriverPackage } from "@mnlab/core";
import { interval, intervalHvm } from "./interval/index.ts";
import { legacy, legacyHvm } from "./legacy/index.ts";
import { conformanceExpectations, conformanceScenarios, referenceScenarios, scenarios } from "./scenarios.ts";

export { type GntdevContext, type GuestMode, gntdevOf } from "./common/gntdev-file.ts";
export { gntdevVariant } from "./driver.ts";
export { interval, intervalHvm } from "./interval/index.ts";
export { legacy, legacyHvm } from "./legacy/index.ts";
export { Xen } from "./xen/hypervisor.ts";
export { conformanceExpectations, conformanceScenarios, referenceScenarios, scenarios };

export const variants = [legacy, interval, legacyHvm, intervalHvm];

export const driverPackage: DriverPackage = {
  name: "xen-gntdev",
  title:
    "Xen grant device: a backend maps another domain's granted pages (drivers/xen/gntdev.c, gntdev-common.h); " +
    "variants legacy/interval are PV (Xen writes the grant PTEs), -hvm auto-translated",
  design: {
    legacy: [
      "- One classic `mmu_notifier` per open file (`priv->mn` on `priv->mm`, registered at open in PV); `mn_invl_range_start` takes `priv->lock` (a mutex; `mutex_trylock` or `-EAGAIN` when non-blockable) and scans `priv->maps` then `priv->freeable_maps` linearly for every invalidation of the mm.",
      "- `unmap_if_in_range` skips a map without a `vma` or whose `map->vma` misses the range, answers `-EAGAIN` for an overlap in non-blockable mode, else unmaps the overlap (computed from `map->vma`'s current bounds) by hypercall before Linux zaps the PTEs Xen wrote. `mn_release` unmaps every mmapped map at exit.",
      "- mmap (mmap_sem write) records the PTE addresses (`find_grant_ptes`) and has Xen write them (`GNTMAP_contains_pte`); refuses a second mmap and another mm. The unmap ioctl parks a still-mapped map on `freeable_maps`; `gntdev_vma_close` clears `map->vma` under `priv->lock`.",
      "- HVM/PVH: no notifier; grants go onto ballooned pages inserted with `vm_map_pages`, unmapped at the last `gntdev_put_map`.",
    ].join("\n"),
    interval: [
      '- `priv` loses `mm`, `mn` and `freeable_maps`; each mmapped map (PV) gets an `mmu_interval_notifier` over the VMA\'s range at mmap time, inserted with `insert_locked` under `priv->lock`, and `mmu_interval_read_begin` is called once "for form".',
      "- `gntdev_invalidate`: `false` when non-blockable; `true` if the range misses `map->vma`'s current bounds (the FIXME on split VMAs); else unmap the overlap computed from `map->vma` — no lock, no `set_seq`, no `read_retry`.",
      "- `gntdev_vma_close`: `WARN_ON(map->vma != vma)`, remove the notifier (waits out a running callback), clear `map->vma`, put. The mmap error path unmaps the grants and removes the notifier if it was inserted.",
    ].join("\n"),
  },
  patches: [
    {
      commit: "d3eeb1d77c5d",
      title: "xen/gntdev: use mmu_interval_notifier_insert (gntdev.c 48/131, gntdev-common.h 1/7)",
      insertions: 49,
      deletions: 138,
    },
  ],
  variants,
  scenarios,
};
