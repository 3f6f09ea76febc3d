/**
 * The /dev/xen/gntdev file behind the DriverModel contract, common to both versions: the
 * struct file's reference count (open, one per VMA: get_file at mmap, vm_area_dup at split
 * and fork; fput at close(2) and remove_vma), the vm_operations gntdev installs, and the
 * contract's steps in the calls a Xen backend makes (libxengnttab's map/unmap):
 *   register    IOCTL_GNTDEV_MAP_GRANT_REF, then mmap(MAP_SHARED | MAP_FIXED) at the buffer;
 *   populate    the process touches the mapping (gntdev has no fault handler: an unmapped
 *               page is SIGBUS, returned as -EFAULT);
 *   access      a load or store through the mapping (PV: through the grant PTE Xen wrote);
 *   unregister  munmap(), then IOCTL_GNTDEV_UNMAP_GRANT_REF;
 *   close       close(2): the last fput runs gntdev_release.
 * The version (5.4 or 5.5) supplies the file operations; the guest kind is the Xen knob.
 */
import {
  type AccessResult,
  type BufferHandle,
  type DeviceContext,
  EFAULT,
  type Kernel,
  type MmStruct,
  mmap,
  munmap,
  PAGE_SHIFT,
  PAGE_SIZE,
  type Vma,
  type VmOperations,
} from "@mnlab/core";
import { DOMID_FRONTEND, Xen } from "../xen/hypervisor.ts";
import type { GntdevGrantMap, GrantRef } from "./grant-map.ts";

/** The guest kind: PV (use_ptemod: Xen writes grant PTEs) or HVM/PVH (auto-translated). */
export type GuestMode = "pv" | "hvm";

/** What a gntdev version provides (drivers/xen/gntdev.c file operations and vm_ops). */
export interface GntdevImpl<P> {
  /** gntdev_open() */
  open(k: Kernel, xen: Xen, mm: MmStruct): Promise<P | number>;
  /** gntdev_release() */
  release(priv: P): Promise<void>;
  /** gntdev_ioctl_map_grant_ref(): op.index (the map's offset in the file, in bytes) or -errno. */
  ioctlMapGrantRef(priv: P, grants: readonly GrantRef[]): Promise<number>;
  /** gntdev_ioctl_unmap_grant_ref(): op.index in bytes. */
  ioctlUnmapGrantRef(priv: P, index: number, count: number): Promise<number>;
  /** gntdev_mmap(): sets vma->vm_ops = vmops; mm is vma->vm_mm. Called with mmap_sem held for write. */
  mmap(priv: P, vma: Vma, vmops: VmOperations, mm: MmStruct): Promise<number>;
  /** gntdev_vma_open() */
  vmaOpen(priv: P, vma: Vma): void;
  /** gntdev_vma_close() */
  vmaClose(priv: P, vma: Vma): Promise<void>;
  /** Every map the file allocated, for end-of-run checks. */
  allMaps(priv: P): readonly GntdevGrantMap[];
}

export interface GntdevBuffer extends BufferHandle {
  /** op.index of the map: its offset in the file, in bytes. */
  readonly index: number;
  readonly count: number;
}

/** A gntdev context: the contract, plus the raw calls scenarios make (the ioctl first, MAP_PRIVATE). */
export interface GntdevContext extends DeviceContext {
  readonly xen: Xen;
  readonly mode: GuestMode;
  mapGrantRef(count: number): Promise<number>;
  unmapGrantRef(index: number, count: number): Promise<number>;
  /** mmap(MAP_FIXED) of the file at offset `index` (bytes), in the process's mm or another (a forked child's). */
  mmapGrants(
    index: number,
    start: number,
    len: number,
    prot: { write: boolean; shared: boolean },
    inMm?: MmStruct,
  ): Promise<number>;
}

const contexts = new WeakMap<Kernel, GntdevContext>();

/** The gntdev context opened on this machine (scenarios reach the raw calls through it). */
export function gntdevOf(k: Kernel): GntdevContext {
  const c = contexts.get(k);
  if (c === undefined) throw new Error("xen-gntdev: no gntdev context is open on this kernel");
  return c;
}

export async function openGntdev<P>(
  impl: GntdevImpl<P>,
  mode: GuestMode,
  k: Kernel,
  mm: MmStruct,
): Promise<GntdevContext | number> {
  const xen = new Xen(k, mode === "hvm");
  const opened = await impl.open(k, xen, mm);
  if (typeof opened === "number") return opened;
  const priv = opened;
  let nextRef = 1;
  // struct file: f_count
  let fCount = 1;
  const fput = async (from: "close" | "vma") => {
    if (--fCount > 0) return;
    if (from === "close")
      await impl.release(priv); // task work before close(2) returns
    else {
      // The last reference dropped by remove_vma: the model runs __fput in the delayed_fput
      // worker (fs/file_table.c); a task's task_work would run it at return to user space,
      // a point the model does not have.
      k.ex.spawn("delayed_fput", () => impl.release(priv));
    }
  };
  // drivers/xen/gntdev.c: gntdev_vmops @5.4/@5.5, with remove_vma's fput and vm_area_dup's get_file.
  const vmops: VmOperations = {
    open(vma) {
      fCount++;
      impl.vmaOpen(priv, vma);
    },
    async close(vma) {
      await impl.vmaClose(priv, vma);
      await fput("vma");
    },
  };
  // The same struct file, mmapped from mm `vmMm` (the opener's, or a child's after fork).
  const fileIn = (vmMm: MmStruct) => ({
    name: "/dev/xen/gntdev",
    async mmap(vma: Vma) {
      fCount++; // get_file() in mmap_region
      const err = await impl.mmap(priv, vma, vmops, vmMm);
      if (err !== 0) fCount--; // unmap_and_free_vma: fput (never the last: the fd holds one)
      return err;
    },
  });
  k.ex.atExit("leak", () => {
    for (const m of impl.allMaps(priv)) {
      if (m.lifetime.freed !== null) continue;
      const mapped = k.mms.some((o) => !o.exited && o.vmas.some((v) => v.vmPrivateData === m));
      if (!mapped) return `${m.name} (index ${m.index}) never freed: users ${m.users}, no VMA maps it`;
    }
    return null;
  });
  const ctx: GntdevContext = {
    xen,
    mode,
    get mmus() {
      return mode === "pv" ? [xen.ptesOf(mm)] : [];
    },
    async mapGrantRef(count) {
      const grants: GrantRef[] = [];
      for (let i = 0; i < count; i++) grants.push({ domid: DOMID_FRONTEND, ref: nextRef++ });
      return impl.ioctlMapGrantRef(priv, grants);
    },
    unmapGrantRef: (index, count) => impl.ioctlUnmapGrantRef(priv, index, count),
    mmapGrants: (index, start, len, prot, inMm = mm) =>
      mmap(inMm, start, len, {
        read: true,
        write: prot.write,
        shared: prot.shared,
        file: fileIn(inMm),
        pgoff: index >> PAGE_SHIFT,
      }),
    async register(start, len, opts) {
      const count = Math.ceil(len / PAGE_SIZE);
      const index = await ctx.mapGrantRef(count);
      if (index < 0) return index;
      const err = await ctx.mmapGrants(index, start, count * PAGE_SIZE, { write: opts.write, shared: true });
      if (err !== 0) {
        await ctx.unmapGrantRef(index, count);
        return err;
      }
      const b: GntdevBuffer = { start, end: start + count * PAGE_SIZE, index, count };
      return b;
    },
    async populate(_buf, start, end, write) {
      await k.ex.point("touch", mm.name, `[${start.toString(16)}, ${end.toString(16)})`);
      for (let a = start; a < end; a += PAGE_SIZE) {
        const pte = mm.pt.get(a);
        if (pte === undefined || (write && !pte.write)) return EFAULT;
      }
      return 0;
    },
    async access(_buf, addr, write): Promise<AccessResult | number> {
      if (mode === "pv") return xen.ptesOf(mm).access(addr, write);
      await k.ex.point(write ? "store" : "load", mm.name, `0x${addr.toString(16)}`);
      const pte = mm.pt.get(addr);
      if (pte === undefined) return { ok: false, fault: "not-mapped" };
      if (write && !pte.write) return { ok: false, fault: "read-only" };
      if (pte.page.freed)
        k.ex.fail("use-after-free", `load through a PTE of freed pfn 0x${pte.page.pfn.toString(16)}`);
      if (write) pte.page.data++;
      return { ok: true, data: pte.page.data };
    },
    async unregister(buf) {
      const b = buf as GntdevBuffer;
      await munmap(mm, b.start, b.end - b.start);
      await ctx.unmapGrantRef(b.index, b.count);
    },
    async close() {
      await fput("close");
    },
  };
  contexts.set(k, ctx);
  return ctx;
}
