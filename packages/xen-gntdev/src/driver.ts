/**
 * The variant factory: each gntdev version on each guest kind (the variants themselves are
 * declared in legacy/index.ts and interval/index.ts, next to the code they run, so a copy of
 * a version's directory — new-variant, mutate — runs its own copy of that code). The guest kind is the
 * hypervisor's knob (xen_feature(XENFEAT_auto_translated_physmap), read into gntdev's
 * use_ptemod at module init), so it is fixed per variant; every scenario states what it
 * expects in both kinds and runs in both.
 *   legacy, interval           PV: Xen writes grant PTEs; the notifier is in use.
 *   legacy-hvm, interval-hvm   HVM/PVH: ballooned pages inserted with vm_map_pages; no notifier.
 */
import { fileURLToPath } from "node:url";
import type { DriverModel } from "@mnlab/core";
import { type GntdevImpl, type GuestMode, openGntdev } from "./common/gntdev-file.ts";

const FILES = ["drivers/xen/gntdev.c", "drivers/xen/gntdev-common.h"];

export function gntdevVariant<M>(
  version: "legacy" | "interval",
  mode: GuestMode,
  gntdev: GntdevImpl<M>,
): DriverModel {
  const impl = gntdev as GntdevImpl<unknown>;
  const kind = mode === "pv" ? "PV (use_ptemod)" : "HVM/PVH (auto-translated)";
  return {
    info: {
      driver: "xen-gntdev",
      id: mode === "pv" ? version : `${version}-hvm`,
      kernel: version === "legacy" ? "5.4" : "5.5",
      files: FILES,
      commits: version === "legacy" ? [] : ["d3eeb1d77c5d", "99cb252f5e68"],
      source: fileURLToPath(new URL(version === "legacy" ? "./legacy/" : "./interval/", import.meta.url)),
      summary:
        version === "legacy"
          ? `5.4 gntdev, ${kind}: one mmu_notifier per file, linear scans of maps and freeable_maps under priv->lock`
          : `5.5 gntdev, ${kind}: one mmu_interval_notifier per mmapped map over the VMA's range at mmap time`,
    },
    open: (k, mm) => openGntdev(impl, mode, k, mm),
  };
}
