/**
 * struct gntdev_grant_map and the grant mapping code d3eeb1d77c5d did not change
 * (drivers/xen/gntdev.c, drivers/xen/grant-table.c @5.4 = @5.5): allocation and free of a
 * map, find_grant_ptes, gntdev_map_grant_pages, unmap_grant_pages / __unmap_grant_pages and
 * gnttab_unmap_refs_sync, which sleeps until nobody else holds a page reference.
 * Fields only one version has live in that version's subclass (5.5's `notifier`).
 */
import {
  type HasLifetime,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  PAGE_SHIFT,
  PAGE_SIZE,
  type Page,
  touch,
  type Vma,
} from "@mnlab/core";
import type { GnttabMapOp, GnttabUnmapOp, Xen } from "../xen/hypervisor.ts";

/** include/xen/interface/grant_table.h GNTMAP_* flags the model uses. */
export const GNTMAP_host_map = 1 << 1;
export const GNTMAP_readonly = 1 << 2;

/** drivers/xen/grant-table.c: GNTTAB_UNMAP_REFS_DELAY (ms, one virtual tick each). */
export const GNTTAB_UNMAP_REFS_DELAY = 5;

/** struct ioctl_gntdev_grant_ref */
export interface GrantRef {
  domid: number;
  ref: number;
}

/** drivers/xen/gntdev-common.h: struct gntdev_grant_map @5.4/@5.5 (the common fields). */
export class GntdevGrantMap implements HasLifetime {
  readonly lifetime: Lifetime;
  /** map->vma: the vm_area_struct it is mmapped by (PV only; the original object after splits). */
  vma: Vma | null = null;
  index = 0;
  flags = 0;
  /** refcount_t users: the ioctl's reference plus one per VMA (gntdev_vma_open). */
  users = 1;
  readonly mapOps: GnttabMapOp[];
  readonly unmapOps: GnttabUnmapOp[];
  readonly kmapOps: GnttabMapOp[];
  readonly kunmapOps: GnttabUnmapOp[];
  pagesVmStart = 0;

  constructor(
    readonly xen: Xen,
    readonly count: number,
    readonly grants: readonly GrantRef[],
    /** map->pages: ballooned pages (gnttab_alloc_pages). */
    readonly pages: Page[],
    id: number,
  ) {
    this.lifetime = new Lifetime(`gntdev_grant_map#${id}`);
    const mk = (i: number): GnttabMapOp => ({
      host: null,
      readonly: false,
      ref: grants[i]!.ref,
      domid: grants[i]!.domid,
      page: pages[i]!,
      handle: -1,
      status: 0,
    });
    this.mapOps = pages.map((_, i) => mk(i));
    this.kmapOps = pages.map((_, i) => mk(i));
    this.unmapOps = pages.map(() => ({ host: null, handle: -1, status: 0 }));
    this.kunmapOps = pages.map(() => ({ host: null, handle: -1, status: 0 }));
  }

  get name(): string {
    return this.lifetime.name;
  }
}

/** Map ids per simulated machine, so names do not depend on what ran before. */
const mapIds = new WeakMap<Kernel, number>();

/** drivers/xen/gntdev.c: gntdev_alloc_map() @5.4 — grants copied in, pages ballooned out. */
export function gntdevAllocMap<M extends GntdevGrantMap>(
  k: Kernel,
  make: (pages: Page[], id: number) => M,
  count: number,
): M {
  const id = (mapIds.get(k) ?? 0) + 1;
  mapIds.set(k, id);
  k.gfpKernelAlloc();
  // gnttab_alloc_pages(): ballooned pages, one reference each (the balloon's).
  const pages: Page[] = [];
  for (let i = 0; i < count; i++) {
    const p = k.pages.allocPage(0);
    p.lru = false; // a balloon page: on no LRU list
    pages.push(p);
  }
  return make(pages, id);
}

/** drivers/xen/gntdev.c: gntdev_free_map() @5.4 — pages back to the balloon, then kfree. */
export function gntdevFreeMap(k: Kernel, map: GntdevGrantMap): void {
  for (const p of map.pages) k.pages.putPage(p); // gnttab_free_pages()
  kfree(k, map, "gntdev_free_map");
}

/**
 * drivers/xen/gntdev.c: find_grant_ptes() @5.4, the apply_to_page_range() callback over the
 * VMA: record the machine address of each PTE as the map op's host address (contains_pte).
 */
export function findGrantPtes(k: Kernel, map: GntdevGrantMap, mm: MmStruct, vma: Vma): number {
  touch(k, map, "find_grant_ptes");
  for (let addr = vma.start; addr < vma.end; addr += PAGE_SIZE) {
    const pgnr = (addr - map.vma!.start) >> PAGE_SHIFT;
    if (pgnr >= map.count) k.bug(`find_grant_ptes: pgnr ${pgnr} >= map->count ${map.count}`);
    const op = map.mapOps[pgnr]!;
    op.host = { kind: "pte", mm, addr };
    op.readonly = (map.flags & GNTMAP_readonly) !== 0;
    map.unmapOps[pgnr] = { host: op.host, handle: -1, status: 0 };
  }
  return 0;
}

/** drivers/xen/gntdev.c: gntdev_map_grant_pages() @5.4 */
export async function gntdevMapGrantPages(
  k: Kernel,
  map: GntdevGrantMap,
  usePtemod: boolean,
): Promise<number> {
  touch(k, map, "gntdev_map_grant_pages");
  const readonly = (map.flags & GNTMAP_readonly) !== 0;
  if (!usePtemod) {
    // "Note: it could already be mapped"
    if (map.mapOps[0]!.handle !== -1) return 0;
    for (let i = 0; i < map.count; i++) {
      const op = map.mapOps[i]!;
      op.host = { kind: "host", page: map.pages[i]! };
      op.readonly = readonly;
      map.unmapOps[i] = { host: op.host, handle: -1, status: 0 };
    }
  } else {
    // The kernel linear mapping of each page (kmap_ops), apart from the user PTEs.
    for (let i = 0; i < map.count; i++) {
      const op = map.kmapOps[i]!;
      op.host = { kind: "host", page: map.pages[i]! };
      op.readonly = readonly;
      map.kunmapOps[i] = { host: op.host, handle: -1, status: 0 };
    }
  }
  // gnttab_map_refs(map_ops, use_ptemod ? kmap_ops : NULL, pages, count)
  await map.xen.mapGrantRef(usePtemod ? [...map.mapOps, ...map.kmapOps] : map.mapOps, map.lifetime);
  let err = 0;
  for (let i = 0; i < map.count; i++) {
    const op = map.mapOps[i]!;
    if (op.status !== 0) {
      err = -22; // -EINVAL
      continue;
    }
    map.unmapOps[i]!.handle = op.handle;
    if (usePtemod) map.kunmapOps[i]!.handle = map.kmapOps[i]!.handle;
  }
  return err;
}

/**
 * drivers/xen/grant-table.c: gnttab_unmap_refs_sync() @5.4 — __gnttab_unmap_refs_async()
 * defers while any page has page_count() > 1 (someone else, a GUP user, holds it), retrying
 * from delayed work after GNTTAB_UNMAP_REFS_DELAY * (age + 1) ms; the caller sleeps on a
 * completion until the unmap is done. No bound: it waits as long as the reference is held.
 */
async function gnttabUnmapRefsSync(
  k: Kernel,
  map: GntdevGrantMap,
  ops: GnttabUnmapOp[],
  pages: readonly Page[],
): Promise<number> {
  k.ex.mightSleep("gnttab_unmap_refs_sync");
  for (let age = 0; pages.some((p) => map.xen.pageCount(p) > 1); age++) {
    k.ex.count("gnttab_unmap_deferred");
    await k.ex.sleep(GNTTAB_UNMAP_REFS_DELAY * (age + 1));
  }
  await map.xen.unmapGrantRef(ops, map.name);
  return 0;
}

/** drivers/xen/gntdev.c: __unmap_grant_pages() @5.4 (no unmap_notify in the model). */
async function __unmapGrantPages(
  k: Kernel,
  map: GntdevGrantMap,
  offset: number,
  pages: number,
  usePtemod: boolean,
): Promise<number> {
  const ops = map.unmapOps.slice(offset, offset + pages);
  const kops = usePtemod ? map.kunmapOps.slice(offset, offset + pages) : [];
  const err = await gnttabUnmapRefsSync(k, map, [...ops, ...kops], map.pages.slice(offset, offset + pages));
  if (err !== 0) return err;
  let ret = 0;
  for (let i = 0; i < pages; i++) {
    const op = map.unmapOps[offset + i]!;
    if (op.status !== 0) ret = -22; // -EINVAL
    op.handle = -1;
    if (usePtemod) map.kunmapOps[offset + i]!.handle = -1;
  }
  return ret;
}

/**
 * drivers/xen/gntdev.c: unmap_grant_pages() @5.4 — "the requested range may have a hole
 * where we already unmapped some of the grants": only runs of valid handles are unmapped.
 */
export async function unmapGrantPages(
  k: Kernel,
  map: GntdevGrantMap,
  offset: number,
  pages: number,
  usePtemod: boolean,
): Promise<number> {
  touch(k, map, "unmap_grant_pages");
  k.ex.trace("call", "unmap_grant_pages", map.name, `offset ${offset} pages ${pages}`);
  let err = 0;
  while (pages > 0 && err === 0) {
    while (pages > 0 && map.unmapOps[offset]!.handle === -1) {
      offset++;
      pages--;
    }
    let range = 0;
    while (range < pages) {
      if (map.unmapOps[offset + range]!.handle === -1) break;
      range++;
    }
    if (range > 0) err = await __unmapGrantPages(k, map, offset, range, usePtemod);
    offset += range;
    pages -= range;
  }
  return err;
}

/** drivers/xen/gntdev.c: gntdev_find_map_index() @5.4 */
export function gntdevFindMapIndex<M extends GntdevGrantMap>(
  maps: readonly M[],
  index: number,
  count: number,
): M | undefined {
  return maps.find((m) => m.index === index && (count === 0 || m.count === count));
}

/** drivers/xen/gntdev.c: gntdev_add_map() @5.4 — first index gap, list kept in index order. */
export function gntdevAddMap<M extends GntdevGrantMap>(maps: M[], add: M): void {
  add.index = 0;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    if (add.index + add.count < m.index) {
      maps.splice(i, 0, add);
      return;
    }
    add.index = m.index + m.count;
  }
  maps.push(add);
}
