/**
 * drivers/xen/gntdev.c @5.4: one classic mmu_notifier per open file (priv->mn on priv->mm),
 * invalidations scan the file's map lists under priv->lock (reference rdma-xen-drivers.md 3.1).
 *
 *   gntdev_priv  maps, freeable_maps (maps the unmap ioctl removed while still mmapped; PV
 *                only: populate_freeable_maps == use_ptemod), lock (a mutex: the unmap path
 *                sleeps), mm, mn.
 *   lock order   mmap_sem -> priv->lock -> grant unmap (may sleep on page references).
 */
import {
  EINVAL,
  ENOENT,
  type HasLifetime,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuNotifier,
  type MmuNotifierRange,
  mmget,
  mmput,
  mmuNotifierRegister,
  mmuNotifierUnregister,
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

const EAGAIN = -11;

/** drivers/xen/gntdev-common.h: struct gntdev_priv @5.4 */
export class GntdevPriv54 implements HasLifetime {
  readonly lifetime = new Lifetime("gntdev_priv");
  readonly maps: GntdevGrantMap[] = [];
  readonly freeableMaps: GntdevGrantMap[] = [];
  readonly lock: Mutex;
  mm: MmStruct | null = null;
  readonly mn: MmuNotifier;
  /** Model bookkeeping: every map ever allocated (end-of-run checks). */
  readonly all: GntdevGrantMap[] = [];

  constructor(
    readonly k: Kernel,
    readonly xen: Xen,
  ) {
    this.lock = new Mutex(k.ex, "priv->lock", "gntdev_priv->lock");
    this.mn = new MmuNotifier("gntdev priv->mn", {
      invalidateRangeStart: (_sub, range) => mnInvlRangeStart(this, range),
      release: () => mnRelease(this),
    });
  }

  /** use_ptemod = !xen_feature(XENFEAT_auto_translated_physmap) */
  get usePtemod(): boolean {
    return !this.xen.autoTranslated;
  }
}

/** drivers/xen/gntdev.c: gntdev_put_map() @5.4 */
async function gntdevPutMap(priv: GntdevPriv54 | null, map: GntdevGrantMap, k: Kernel): Promise<void> {
  touch(k, map, "gntdev_put_map");
  if (--map.users !== 0) return; // refcount_dec_and_test
  const usePtemod = !map.xen.autoTranslated;
  // populate_freeable_maps && priv: the map is on freeable_maps (or, put from vma_close
  // without the unmap ioctl, still on maps: list_del unlinks it from whichever list).
  if (usePtemod && priv !== null) {
    await priv.lock.lock();
    for (const l of [priv.maps, priv.freeableMaps]) {
      const i = l.indexOf(map);
      if (i >= 0) l.splice(i, 1);
    }
    await priv.lock.unlock();
  }
  if (!usePtemod) await unmapGrantPages(k, map, 0, map.count, usePtemod);
  gntdevFreeMap(k, map);
}

/** drivers/xen/gntdev.c: in_range() @5.4 */
function inRange(map: GntdevGrantMap, start: number, end: number): boolean {
  if (map.vma === null) return false;
  if (map.vma.start >= end) return false;
  if (map.vma.end <= start) return false;
  return true;
}

/**
 * drivers/xen/gntdev.c: unmap_if_in_range() @5.4 — the overlap is computed from map->vma's
 * current bounds and its offset from map->vma->vm_start, not from pages_vm_start.
 */
async function unmapIfInRange(
  k: Kernel,
  map: GntdevGrantMap,
  start: number,
  end: number,
  blockable: boolean,
): Promise<number> {
  k.ex.count("gntdev_maps_scanned");
  if (!inRange(map, start, end)) return 0;
  if (!blockable) return EAGAIN;
  const vma = map.vma!;
  const mstart = Math.max(start, vma.start);
  const mend = Math.min(end, vma.end);
  const err = await unmapGrantPages(
    k,
    map,
    (mstart - vma.start) >> PAGE_SHIFT,
    (mend - mstart) >> PAGE_SHIFT,
    true,
  );
  if (err !== 0) k.warn(`unmap_if_in_range: WARN_ON(err) err=${err} (${map.name})`);
  return 0;
}

/** drivers/xen/gntdev.c: mn_invl_range_start() @5.4 */
async function mnInvlRangeStart(priv: GntdevPriv54, range: MmuNotifierRange): Promise<number> {
  const k = priv.k;
  touch(k, priv, "mn_invl_range_start");
  k.ex.count("gntdev_invalidations");
  const blockable = rangeBlockable(range);
  if (blockable) await priv.lock.lock();
  else if (!(await priv.lock.trylock())) {
    k.ex.count("gntdev_eagain");
    return EAGAIN;
  }
  let ret = 0;
  for (const map of priv.maps) {
    ret = await unmapIfInRange(k, map, range.start, range.end, blockable);
    if (ret !== 0) break;
  }
  if (ret === 0) {
    for (const map of priv.freeableMaps) {
      ret = await unmapIfInRange(k, map, range.start, range.end, blockable);
      if (ret !== 0) break;
    }
  }
  await priv.lock.unlock();
  if (ret !== 0) k.ex.count("gntdev_eagain");
  return ret;
}

/** drivers/xen/gntdev.c: mn_release() @5.4 — unmap every mmapped map, on both lists. */
async function mnRelease(priv: GntdevPriv54): Promise<void> {
  const k = priv.k;
  touch(k, priv, "mn_release");
  await priv.lock.lock();
  for (const list of [priv.maps, priv.freeableMaps]) {
    for (const map of list) {
      if (map.vma === null) continue;
      const err = await unmapGrantPages(k, map, 0, map.count, true);
      if (err !== 0) k.warn(`mn_release: WARN_ON(err) err=${err} (${map.name})`);
    }
  }
  await priv.lock.unlock();
}

export const gntdev54: GntdevImpl<GntdevPriv54> = {
  /** drivers/xen/gntdev.c: gntdev_open() @5.4 */
  async open(k, xen, mm) {
    k.gfpKernelAlloc();
    const priv = new GntdevPriv54(k, xen);
    if (priv.usePtemod) {
      await mmget(mm); // get_task_mm(current)
      priv.mm = mm;
      const ret = await mmuNotifierRegister(priv.mn, mm);
      await mmput(mm);
      if (ret !== 0) {
        kfree(k, priv);
        return ret;
      }
    }
    return priv;
  },

  /** drivers/xen/gntdev.c: gntdev_release() @5.4 */
  async release(priv) {
    const k = priv.k;
    touch(k, priv, "gntdev_release");
    await priv.lock.lock();
    while (priv.maps.length > 0) {
      const map = priv.maps.shift()!;
      await gntdevPutMap(null /* already removed */, map, k);
    }
    if (priv.freeableMaps.length > 0) k.warn("gntdev_release: WARN_ON(!list_empty(&priv->freeable_maps))");
    await priv.lock.unlock();
    if (priv.usePtemod) await mmuNotifierUnregister(priv.mn, priv.mm!);
    kfree(k, priv);
  },

  /** drivers/xen/gntdev.c: gntdev_ioctl_map_grant_ref() @5.4 */
  async ioctlMapGrantRef(priv, grants: readonly GrantRef[]) {
    const k = priv.k;
    touch(k, priv, "gntdev_ioctl_map_grant_ref");
    if (grants.length <= 0) return EINVAL;
    const map = gntdevAllocMap(
      k,
      (pages, id) => new GntdevGrantMap(priv.xen, grants.length, grants, pages, id),
      grants.length,
    );
    priv.all.push(map);
    await priv.lock.lock();
    gntdevAddMap(priv.maps, map);
    const index = map.index << PAGE_SHIFT;
    await priv.lock.unlock();
    return index;
  },

  /** drivers/xen/gntdev.c: gntdev_ioctl_unmap_grant_ref() @5.4 */
  async ioctlUnmapGrantRef(priv, index, count) {
    const k = priv.k;
    touch(k, priv, "gntdev_ioctl_unmap_grant_ref");
    let err = ENOENT;
    await priv.lock.lock();
    const map = gntdevFindMapIndex(priv.maps, index >> PAGE_SHIFT, count);
    if (map !== undefined) {
      priv.maps.splice(priv.maps.indexOf(map), 1);
      if (priv.usePtemod) priv.freeableMaps.push(map); // populate_freeable_maps
      err = 0;
    }
    await priv.lock.unlock();
    if (map !== undefined) await gntdevPutMap(priv, map, k);
    return err;
  },

  /** drivers/xen/gntdev.c: gntdev_mmap() @5.4 — mmap_sem held for write. */
  async mmap(priv, vma: Vma, vmops: VmOperations, vmMm: MmStruct) {
    const k = priv.k;
    touch(k, priv, "gntdev_mmap");
    const index = vma.vmPgoff;
    const count = (vma.end - vma.start) >> PAGE_SHIFT;
    if (vma.flags.write && !vma.flags.shared) return EINVAL;
    await priv.lock.lock();
    const map = gntdevFindMapIndex(priv.maps, index, count);
    const unlockOut = async () => {
      await priv.lock.unlock();
      return EINVAL;
    };
    if (map === undefined) return unlockOut();
    if (priv.usePtemod && map.vma !== null) return unlockOut();
    if (priv.usePtemod && priv.mm !== vmMm) {
      k.ex.trace("note", "pr_warn", "gntdev", "Huh? Other mm?");
      return unlockOut();
    }
    map.users++; // refcount_inc(&map->users)
    vma.vmOps = vmops;
    // VM_DONTEXPAND | VM_DONTDUMP | VM_MIXEDMAP; VM_DONTCOPY in PV
    if (priv.usePtemod) vma.flags.dontcopy = true;
    vma.vmPrivateData = map;
    if (priv.usePtemod) map.vma = vma;
    let err = EINVAL;
    let putOnly = false;
    if (map.flags !== 0) {
      if (vma.flags.write && (map.flags & GNTMAP_readonly) !== 0) putOnly = true; // out_unlock_put
    } else {
      map.flags = GNTMAP_host_map;
      if (!vma.flags.write) map.flags |= GNTMAP_readonly;
    }
    await priv.lock.unlock();
    if (!putOnly) {
      err = 0;
      if (priv.usePtemod) {
        map.pagesVmStart = vma.start;
        // apply_to_page_range(vma->vm_mm, ..., find_grant_ptes, map)
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
      map.vma = null;
      await unmapGrantPages(k, map, 0, map.count, true);
    }
    await gntdevPutMap(priv, map, k);
    return err;
  },

  /** drivers/xen/gntdev.c: gntdev_vma_open() @5.4 */
  vmaOpen(priv, vma) {
    const map = vma.vmPrivateData as GntdevGrantMap;
    touch(priv.k, map, "gntdev_vma_open");
    map.users++;
  },

  /** drivers/xen/gntdev.c: gntdev_vma_close() @5.4 */
  async vmaClose(priv, vma) {
    const k = priv.k;
    const map = vma.vmPrivateData as GntdevGrantMap;
    k.ex.trace("call", "gntdev_vma_close", map.name);
    if (priv.usePtemod) {
      // "It is possible that an mmu notifier could be running concurrently, so take
      // priv->lock to ensure that the vma won't vanishing during the unmap_if_in_range call."
      await priv.lock.lock();
      touch(k, map, "gntdev_vma_close");
      map.vma = null;
      await priv.lock.unlock();
    }
    vma.vmPrivateData = null;
    await gntdevPutMap(priv, map, k);
  },

  allMaps: (priv) => priv.all,
};
