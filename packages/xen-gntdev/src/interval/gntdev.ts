/**
 * drivers/xen/gntdev.c @5.5 after d3eeb1d77c5d ("xen/gntdev: use mmu_interval_notifier_insert"):
 * priv loses mm, mn and freeable_maps; each mmapped map (PV only) carries an
 * mmu_interval_notifier over its VMA's range as it was at mmap time, inserted with
 * insert_locked under priv->lock and removed by gntdev_vma_close (reference 3.2).
 *
 *   lock order  mmap_sem (write) -> priv->lock -> (first insert on the mm)
 *               __mmu_notifier_register / mm_take_all_locks; the callback takes no gntdev lock.
 */

import type { Page } from "@mnlab/core";
import {
  deref,
  EINVAL,
  ENOENT,
  type HasLifetime,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalNotifierInsertLocked,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  PAGE_SHIFT,
  rangeBlockable,
  touch,
  type Vma,
  type VmOperations,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";
import type { GntdevImpl } from "../common/gntdev-file.ts";
import {
  findGrantPtes,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GntdevGrantMap,
  type GrantRef,
  gntdevAddMap,
  gntdevAllocMap,
  gntdevFindMapIndex,
  gntdevFreeMap,
  gntdevMapGrantPages,
  unmapGrantPages,
} from "../common/grant-map.ts";
import { vmMapPages } from "../common/vm-map-pages.ts";
import type { Xen } from "../xen/hypervisor.ts";

/** drivers/xen/gntdev-common.h: struct gntdev_grant_map @5.5 — gains `notifier`. */
export class GntdevGrantMap55 extends GntdevGrantMap {
  readonly notifier: MmuIntervalNotifier;
  constructor(xen: Xen, count: number, grants: readonly GrantRef[], pages: Page[], id: number) {
    super(xen, count, grants, pages, id);
    this.notifier = new MmuIntervalNotifier(`${this.name}->notifier`);
    this.notifier.lifetime = this.lifetime; // embedded: freed with the map
  }
}

/** drivers/xen/gntdev-common.h: struct gntdev_priv @5.5 */
export class GntdevPriv55 implements HasLifetime {
  readonly lifetime = new Lifetime("gntdev_priv");
  readonly maps: GntdevGrantMap55[] = [];
  readonly lock: Mutex;
  readonly all: GntdevGrantMap55[] = [];

  constructor(
    readonly k: Kernel,
    readonly xen: Xen,
  ) {
    this.lock = new Mutex(k.ex, "priv->lock", "gntdev_priv->lock");
  }

  get usePtemod(): boolean {
    return !this.xen.autoTranslated;
  }
}

/** drivers/xen/gntdev.c: gntdev_put_map() @5.5 — the freeable_maps block is gone. */
async function gntdevPutMap(map: GntdevGrantMap55, k: Kernel): Promise<void> {
  touch(k, map, "gntdev_put_map");
  if (--map.users !== 0) return;
  const usePtemod = !map.xen.autoTranslated;
  if (!usePtemod) await unmapGrantPages(k, map, 0, map.count, usePtemod);
  gntdevFreeMap(k, map);
}

/**
 * drivers/xen/gntdev.c: gntdev_invalidate() @5.5, as merged. "If the VMA is split or otherwise
 * changed the notifier is not updated, but we don't want to process VA's outside the modified
 * VMA. FIXME: It would be much more understandable to just prevent modifying the VMA in the
 * first place." The overlap is taken from map->vma's current bounds.
 */
async function gntdevInvalidate(
  k: Kernel,
  map: GntdevGrantMap55,
  range: MmuNotifierRange,
  _curSeq: number,
): Promise<boolean> {
  touch(k, map, "gntdev_invalidate");
  k.ex.count("gntdev_invalidations");
  k.ex.count("gntdev_maps_scanned");
  if (!rangeBlockable(range)) {
    k.ex.count("gntdev_eagain");
    return false;
  }
  const vma = deref(map.vma, `gntdev_invalidate: map->vma (${map.name})`);
  if (vma.start >= range.end || vma.end <= range.start) return true;
  const mstart = Math.max(range.start, vma.start);
  const mend = Math.min(range.end, vma.end);
  const err = await unmapGrantPages(
    k,
    map,
    (mstart - vma.start) >> PAGE_SHIFT,
    (mend - mstart) >> PAGE_SHIFT,
    true,
  );
  if (err !== 0) k.warn(`gntdev_invalidate: WARN_ON(err) err=${err} (${map.name})`);
  return true;
}

export const gntdev55: GntdevImpl<GntdevPriv55> = {
  /** drivers/xen/gntdev.c: gntdev_open() @5.5 — no notifier, no mm. */
  async open(k, xen) {
    k.gfpKernelAlloc();
    return new GntdevPriv55(k, xen);
  },

  /** drivers/xen/gntdev.c: gntdev_release() @5.5 */
  async release(priv) {
    const k = priv.k;
    touch(k, priv, "gntdev_release");
    await priv.lock.lock();
    while (priv.maps.length > 0) {
      const map = priv.maps.shift()!;
      await gntdevPutMap(map, k);
    }
    await priv.lock.unlock();
    kfree(k, priv);
  },

  /** drivers/xen/gntdev.c: gntdev_ioctl_map_grant_ref() @5.5 (unchanged) */
  async ioctlMapGrantRef(priv, grants) {
    const k = priv.k;
    touch(k, priv, "gntdev_ioctl_map_grant_ref");
    if (grants.length <= 0) return EINVAL;
    const map = gntdevAllocMap(
      k,
      (pages, id) => new GntdevGrantMap55(priv.xen, grants.length, grants, pages, id),
      grants.length,
    );
    priv.all.push(map);
    await priv.lock.lock();
    gntdevAddMap(priv.maps, map);
    const index = map.index << PAGE_SHIFT;
    await priv.lock.unlock();
    return index;
  },

  /** drivers/xen/gntdev.c: gntdev_ioctl_unmap_grant_ref() @5.5 — list_del only. */
  async ioctlUnmapGrantRef(priv, index, count) {
    const k = priv.k;
    touch(k, priv, "gntdev_ioctl_unmap_grant_ref");
    let err = ENOENT;
    await priv.lock.lock();
    const map = gntdevFindMapIndex(priv.maps, index >> PAGE_SHIFT, count);
    if (map !== undefined) {
      priv.maps.splice(priv.maps.indexOf(map), 1);
      err = 0;
    }
    await priv.lock.unlock();
    if (map !== undefined) await gntdevPutMap(map, k);
    return err;
  },

  /** drivers/xen/gntdev.c: gntdev_mmap() @5.5 — mmap_sem held for write; no "other mm" check. */
  async mmap(priv, vma: Vma, vmops: VmOperations, vmMm: MmStruct) {
    const k = priv.k;
    touch(k, priv, "gntdev_mmap");
    const index = vma.vmPgoff;
    const count = (vma.end - vma.start) >> PAGE_SHIFT;
    if (vma.flags.write && !vma.flags.shared) return EINVAL;
    await priv.lock.lock();
    const map = gntdevFindMapIndex(priv.maps, index, count);
    if (map === undefined || (priv.usePtemod && map.vma !== null)) {
      await priv.lock.unlock(); // unlock_out
      return EINVAL;
    }
    map.users++;
    vma.vmOps = vmops;
    if (priv.usePtemod) vma.flags.dontcopy = true;
    vma.vmPrivateData = map;
    let err = EINVAL;
    let failed = false;
    if (map.flags !== 0) {
      if (vma.flags.write && (map.flags & GNTMAP_readonly) !== 0) failed = true; // out_unlock_put
    } else {
      map.flags = GNTMAP_host_map;
      if (!vma.flags.write) map.flags |= GNTMAP_readonly;
    }
    if (!failed && priv.usePtemod) {
      map.vma = vma;
      err = await mmuIntervalNotifierInsertLocked(map.notifier, vmMm, vma.start, vma.end - vma.start, {
        invalidate: (_sub, range, curSeq) => gntdevInvalidate(k, map, range, curSeq),
      });
      if (err !== 0) {
        map.vma = null;
        failed = true; // goto out_unlock_put
      }
    }
    await priv.lock.unlock();
    if (!failed) {
      err = 0;
      if (priv.usePtemod) {
        // "Since this vma's mappings can't be touched without the mmap_sem, and we are holding
        // it now, there is no need for the notifier_range locking pattern."
        await mmuIntervalReadBegin(map.notifier);
        map.pagesVmStart = vma.start;
        err = findGrantPtes(k, map, vmMm, vma);
      }
      if (err === 0) err = await gntdevMapGrantPages(k, map, priv.usePtemod);
      if (err === 0) {
        if (!priv.usePtemod) await vmMapPages(k, vmMm, vma, map);
        return 0;
      }
    }
    // out_put_map:
    if (priv.usePtemod) {
      await unmapGrantPages(k, map, 0, map.count, true);
      if (map.vma !== null) {
        await mmuIntervalNotifierRemove(map.notifier);
        map.vma = null;
      }
    }
    await gntdevPutMap(map, k);
    return err;
  },

  /** drivers/xen/gntdev.c: gntdev_vma_open() @5.5 */
  vmaOpen(priv, vma) {
    const map = vma.vmPrivateData as GntdevGrantMap55;
    touch(priv.k, map, "gntdev_vma_open");
    map.users++;
  },

  /** drivers/xen/gntdev.c: gntdev_vma_close() @5.5 — WARN, remove, clear vma, put. */
  async vmaClose(priv, vma) {
    const k = priv.k;
    const map = vma.vmPrivateData as GntdevGrantMap55;
    k.ex.trace("call", "gntdev_vma_close", map.name);
    touch(k, map, "gntdev_vma_close");
    if (priv.usePtemod) {
      if (map.vma !== vma) k.warn(`gntdev_vma_close: WARN_ON(map->vma != vma) (${map.name})`);
      await mmuIntervalNotifierRemove(map.notifier);
      map.vma = null;
    }
    vma.vmPrivateData = null;
    await gntdevPutMap(map, k);
  },

  allMaps: (priv) => priv.all,
};
