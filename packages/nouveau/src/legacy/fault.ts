/**
 * The 5.4 GPU fault path (drivers/gpu/drm/nouveau/nouveau_svm.c nouveau_svm_fault, run from
 * the fault buffer's notify work; reference gpu-drivers.md 2.2):
 *
 *   svm->mutex: map each fault's channel instance to its svmm; unlock (no reference kept, O7)
 *   per window of up to 16 pages from a fault, clipped around the unmanaged window:
 *     mmap_sem (read) WITHOUT an mmget (O2); find_vma_intersection; cancel if no VMA or the
 *     first fault is not at the clipped start
 *     again: nouveau_range_fault: hmm_range_register (mmget), wait_until_valid(1000 ms),
 *            hmm_range_fault, 0 taken as -EBUSY; every error path drops mmap_sem and the
 *            faults are cancelled; hmm_range_fault's error path unregisters the range, the
 *            wait_until_valid timeout does not (the range and its mmget leak)
 *     svmm->mutex; nouveau_range_done (valid? then unregister): invalid -> unlock, again,
 *     still holding mmap_sem; valid -> PFNMAP, unlock, drop mmap_sem
 *   cancel every fault whose page lacks V, or W when it needed it; replay the rest once.
 *
 * Validity is hmm's level (core.md 3.4): a whole start/end pair between hmm_range_fault and
 * nouveau_range_done leaves `valid` true again, and PFNMAP installs the stale pfns (O1). The
 * wait for validity is mm-global and happens under mmap_sem (O3).
 */
import {
  type CollisionSection,
  type DeviceMmu,
  EBUSY,
  EFAULT,
  ENOENT,
  frameReturned,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmRange,
  type HmmRequest,
  hex,
  hmmRangeFault54,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
  type Kernel,
  type MappablePage,
  type MmStruct,
  PAGE_SIZE,
  POPULATE_RETRY,
  reclaimPage,
  touch,
} from "@mnlab/core";
import { pfnmapAllocation } from "../knobs.ts";
import { type NouveauSvm, type NouveauSvmm, nouveauIvmmFind, svmmUse } from "./svmm.ts";

/** Fault access types in the fault buffer (only READ and PREFETCH need no write). */
export const FAULT_ACCESS_READ = 0;
export const FAULT_ACCESS_WRITE = 1;
export const FAULT_ACCESS_PREFETCH = 3;

/** struct nouveau_svm_fault @5.4: one cached fault-buffer entry. */
export interface NouveauSvmFault {
  inst: number;
  addr: number;
  access: number;
  svmm: NouveauSvmm | null;
}

/** ARRAY_SIZE(args.phys): the fault window, in pages. */
const WINDOW_PAGES = 16;

/** args.phys[] on the way in: NVIF_VMM_PFNMAP_V0_V, V|W, or NONE for a gap. */
type PfnRequest = "V" | "VW" | "NONE";

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault() @5.4 — the access test: V|W unless READ/PREFETCH
function needsWrite(f: NouveauSvmFault): boolean {
  return f.access !== FAULT_ACCESS_READ && f.access !== FAULT_ACCESS_PREFETCH;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault_cmp() @5.4 — by instance, address, writes first
function nouveauSvmFaultCmp(a: NouveauSvmFault, b: NouveauSvmFault): number {
  if (a.inst !== b.inst) return a.inst - b.inst;
  if (a.addr !== b.addr) return a.addr - b.addr;
  return (needsWrite(a) ? 0 : 1) - (needsWrite(b) ? 0 : 1);
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault_cancel_fault() @5.4
function nouveauSvmFaultCancelFault(k: Kernel, fault: NouveauSvmFault, why: string): void {
  k.ex.count("nouveau.fault_cancel");
  k.ex.trace("note", "nouveau_svm_fault_cancel_fault", hex(fault.addr), why);
}

/**
 * include/linux/mm.h: find_vma_intersection() @5.4, then the window clip's reads of
 * vma->vm_start/vm_end. These are plain loads of a VMA that exit_mmap frees (remove_vma)
 * without mmap_sem; one scheduling point stands for that window. Reading a VMA exit_mmap
 * has freed is a use-after-free (O2).
 */
export async function findVmaIntersection(
  mm: MmStruct,
  start: number,
  limit: number,
): Promise<{ start: number; end: number } | null> {
  const vma = mm.findVmaIntersection(start, limit);
  if (vma === undefined) return null;
  await mm.kernel.ex.point("find_vma_intersection", mm.name, `[${hex(start)}, ${hex(limit)})`);
  if (mm.exited && !mm.vmas.includes(vma)) {
    mm.kernel.ex.fail(
      "use-after-free",
      `nouveau_svm_fault: vma [${hex(vma.start)}, ${hex(vma.end)}) of ${mm.name} read after exit_mmap freed it ` +
        "(mmap_sem held for read, but no mm_users reference)",
    );
  }
  return { start: vma.start, end: vma.end };
}

/**
 * drivers/gpu/drm/nouveau/nvkm/subdev/mmu/vmm.c: nvkm_vmm_ref_ptes() @5.4 — PFNMAP references
 * GPU page tables for its range and allocates missing ones with GFP_KERNEL, here under
 * svmm->mutex (O4). How it is modelled is a scenario choice (knobs.ts).
 */
async function nvkmVmmRefPtes(k: Kernel, mm: MmStruct): Promise<void> {
  const mode = pfnmapAllocation(k);
  if (mode === "plain") return;
  k.gfpKernelAlloc();
  if (mode === "gfp-kernel") return;
  // __alloc_pages_direct_reclaim(): reclaim runs inside fs_reclaim and unmaps a page of this mm.
  k.fsReclaimMap.acquire();
  await reclaimPage(mm, mode.directReclaim);
  k.fsReclaimMap.release();
}

/**
 * drivers/gpu/drm/nouveau/nvkm/subdev/mmu/vmm.c: nvkm_vmm_pfn_map() @5.4, behind the
 * NVIF_VMM_V0_PFNMAP method — the one check of it the model keeps. NOUVEAU_SVM_INIT's
 * "unmanaged" window is the part SVM does not manage: nvkm_vmm_ctor() makes it the
 * NVKM-managed area (GEM and channel allocations), and only the client-managed space around
 * it gets PFN-mappable vmas (nvkm_vmm_ctor_managed). A PFNMAP there finds no such vma
 * (nvkm_vmm_node_search() NULL: -ENOENT; a BO's vma: -EINVAL) and writes no PTE. Inference from
 * nvkm, which the reference does not cover. It matters only for the one window
 * nouveau_svm_fault's clip lets into the area: a fault inside it, on a CPU VMA that starts
 * below it, still gets its first page (the window loop takes it before it looks at limit).
 */
async function nvkmVmmPfnMap(
  svmm: NouveauSvmm,
  vmm: DeviceMmu,
  pages: MappablePage[],
  opts: { via?: CollisionSection } = {},
): Promise<number> {
  const { start, limit } = svmm.unmanaged;
  if (pages.some((p) => p.addr >= start && p.addr < limit)) {
    svmm.kernel.ex.trace("ret", "nvkm_vmm_pfn_map", undefined, "-ENOENT (the NVKM-managed area)");
    return ENOENT;
  }
  await vmm.map(pages, opts);
  return 0;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_range_fault() @5.4 — called with mmap_sem held for read
async function nouveauRangeFault(svmm: NouveauSvmm, range: HmmRange, mm: MmStruct): Promise<number> {
  let ret = await hmmRangeRegister(range, svmm.mirror);
  if (ret !== 0) {
    await mm.mmapSem.upRead();
    return ret;
  }
  if (!(await hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT))) {
    // 5.4 drops mmap_sem and returns -EBUSY here WITHOUT hmm_range_unregister (reference 2.2,
    // corrected): the range stays on hmm->ranges holding its mmget, so mm_users never drops
    // back and the mm cannot exit, and later invalidations keep writing range->valid into a
    // stack frame that nouveau_svm_fault has left. (In C `range` has function scope, so the
    // next window of the same call would list_add it a second time; the model builds one
    // HmmRange per window and does not show that list corruption.)
    await mm.mmapSem.upRead();
    return EBUSY;
  }
  ret = await hmmRangeFault54(range);
  if (ret <= 0) {
    if (ret === 0) ret = EBUSY;
    await mm.mmapSem.upRead();
    await hmmRangeUnregister(range);
    return ret;
  }
  return 0;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_range_done() @5.4 — under svmm->mutex
async function nouveauRangeDone(range: HmmRange): Promise<boolean> {
  const ret = hmmRangeValid(range);
  await hmmRangeUnregister(range);
  return ret;
}

/**
 * drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault() @5.4 — handle the cached faults.
 * Returns 0 when every fault was replayed, else the first window's error (or -EFAULT for a
 * cancelled fault).
 */
export async function nouveauSvmFault(svm: NouveauSvm, faults: NouveauSvmFault[]): Promise<number> {
  const k = svm.kernel;
  k.ex.trace("call", "nouveau_svm_fault", undefined, `${faults.length} fault(s)`);
  faults.sort(nouveauSvmFaultCmp);
  // Look up the svmm of each instance; the pointers are used after the unlock (O7).
  // One nouveau_ivmm_find per run of faults from one instance (the faults are sorted by inst),
  // again after an instance no svmm was found for.
  await svm.mutex.lock();
  let found: NouveauSvmm | null = null;
  let inst = 0;
  for (const f of faults) {
    if (found === null || f.inst !== inst) {
      const ivmm = await nouveauIvmmFind(svm, f.inst);
      if (ivmm !== null) touch(k, ivmm, "nouveau_svm_fault: ivmm->svmm");
      found = ivmm?.svmm ?? null;
      inst = f.inst;
    }
    f.svmm = found;
  }
  await svm.mutex.unlock();

  let replay = 0;
  let result = 0;
  // `struct hmm_range range` has function scope in 5.4: every window's range dies with this
  // frame, and one a timeout left on hmm->ranges is then a dangling list entry.
  const frame: HmmRange[] = [];
  const fail = (ret: number) => {
    if (result === 0) result = ret < 0 ? ret : EFAULT;
  };
  for (let fi = 0, fn = 1; fi < faults.length; fi = fn) {
    fn = fi + 1;
    const first = faults[fi]!;
    const svmm = first.svmm;
    if (svmm === null) {
      nouveauSvmFaultCancelFault(k, first, "not an SVM channel");
      fail(EFAULT);
      continue;
    }
    // Group the faults within a small window into a single update.
    let start = first.addr;
    let limit = start + WINDOW_PAGES * PAGE_SIZE;
    const unmanaged = svmmUse(svmm, "svmm->unmanaged").unmanaged;
    if (start < unmanaged.limit) limit = Math.min(limit, unmanaged.start);
    else if (limit > unmanaged.start) start = Math.max(start, unmanaged.limit);

    const mm = svmmUse(svmm, "svmm->mm").mm!;
    await mm.mmapSem.downRead(); // no mmget: the address space may be exiting (O2)
    const vma = await findVmaIntersection(mm, start, limit);
    if (vma === null) {
      await mm.mmapSem.upRead();
      nouveauSvmFaultCancelFault(k, first, "no VMA in the window");
      fail(EFAULT);
      continue;
    }
    start = Math.max(start, vma.start);
    limit = Math.min(limit, vma.end);
    if (first.addr !== start) {
      await mm.mmapSem.upRead();
      nouveauSvmFaultCancelFault(k, first, "fault address outside the VMA");
      fail(EFAULT);
      continue;
    }

    // args.phys[]: the pages and permissions the pending faults need; NONE for gaps.
    const phys: PfnRequest[] = [];
    for (fn = fi; ; ) {
      phys.push(needsWrite(faults[fn]!) ? "VW" : "V");
      // Duplicates at one address: the first (a write, by the sort) covers the rest.
      while (++fn < faults.length && faults[fn]!.svmm === svmm && faults[fn]!.addr === faults[fn - 1]!.addr);
      if (fn >= faults.length || faults[fn]!.svmm !== svmm || faults[fn]!.addr >= limit) break;
      let fill = (faults[fn]!.addr - faults[fn - 1]!.addr) / PAGE_SIZE;
      while (--fill) phys.push("NONE");
    }
    const range = new HmmRange(
      start,
      start + phys.length * PAGE_SIZE,
      (i): HmmRequest => ({
        fault: phys[i] !== "NONE",
        write: phys[i] === "VW",
      }),
    );
    frame.push(range);

    let ret: number;
    for (;;) {
      // again:
      ret = await nouveauRangeFault(svmm, range, mm);
      if (ret !== 0) break;
      await svmmUse(svmm, "svmm->mutex").mutex.lock();
      if (!(await nouveauRangeDone(range))) {
        await svmm.mutex.unlock();
        k.ex.count(POPULATE_RETRY);
        continue; // goto again, mmap_sem still held
      }
      // nouveau_dmem_convert_pfn(): no device-private memory in the model.
      await nvkmVmmRefPtes(k, mm);
      const vmm = svmmUse(svmm, "svmm->vmm").vmm.vmm!;
      ret = await nvkmVmmPfnMap(
        svmm,
        vmm,
        range.pfns.map((p) => ({ addr: p.addr, page: p.state === "valid" ? p.page : null, write: p.write })),
      ); // ret = nvif_object_ioctl(PFNMAP)
      await svmm.mutex.unlock();
      await mm.mmapSem.upRead();
      break;
    }

    // Cancel the faults whose pages did not keep V, or W when needed; all of them on error.
    while (fi < fn) {
      const fault = faults[fi++]!;
      const pfn = range.pfns[(fault.addr - range.start) / PAGE_SIZE]!;
      if (ret !== 0 || pfn.state !== "valid" || (!pfn.write && needsWrite(fault))) {
        nouveauSvmFaultCancelFault(k, fault, ret !== 0 ? `range fault ${ret}` : "page not mapped as needed");
        fail(ret);
        continue;
      }
      replay++;
    }
  }
  // nouveau_svm_fault_replay(): the GPU retries the faulting accesses.
  if (replay > 0) k.ex.count("nouveau.fault_replay", replay);
  for (const range of frame) frameReturned(k, range, "nouveau_svm_fault");
  return result;
}
