/**
 * The 5.5 GPU fault path (nouveau_svm.c after 20fef4ef84bf "nouveau: use
 * mmu_interval_notifier instead of hmm_mirror"; reference gpu-drivers.md 2.3):
 *
 *   svm->mutex: map each fault's channel instance to its svmm; unlock (still no reference)
 *   per window of up to 16 pages, clipped around the unmanaged window:
 *     mmget_not_zero(notifier.mm), else cancel (the process is exiting)
 *     mmap_sem (read) only to clip the window to the VMA
 *     insert a temporary interval notifier over exactly the window (struct svm_notifier on
 *     the worker's stack); nouveau_range_fault; remove it; mmput
 *   nouveau_range_fault, until a 1000 ms deadline checked at the top of each pass:
 *     read_begin; hmm_range_fault under mmap_sem (read), 0 or -EBUSY -> again;
 *     svmm->mutex; read_retry -> unlock, again; PFNMAP; unlock
 *
 * The itree callback only takes svmm->mutex (trylock when non-blockable) and calls set_seq:
 * the PFNCLR still comes from the svmm's hlist callback, which the core calls after the
 * itree pass — the "hacky" order dependence the patch's comment names.
 *
 * Two properties of the 5.5 core that show up here, and that the scenarios measure:
 *  - a notifier inserted while any invalidation of the mm is running gets the odd seq (core.md
 *    1.6), so a fault arriving during unrelated invalidations still waits in read_begin for
 *    the mm to become idle — without mmap_sem, and with no timeout in read_begin;
 *  - read_begin and remove sleep with no driver lock held, and mmap_sem and svmm->mutex are
 *    never held together.
 */
import {
  type CollisionSection,
  type DeviceMmu,
  EBUSY,
  EFAULT,
  ENOENT,
  frameReturned,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmRange55,
  type HmmRequest,
  hex,
  hmmRangeFault,
  type Kernel,
  type MappablePage,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  mmgetNotZero,
  mmput,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  NullDereference,
  PAGE_SIZE,
  POPULATE_RETRY,
  rangeBlockable,
  reclaimPage,
  touch,
} from "@mnlab/core";
import { pfnmapAllocation } from "../knobs.ts";
import { type NouveauSvm, type NouveauSvmm, nouveauIvmmFind, svmmUse } from "./svmm.ts";

/** Fault access types in the fault buffer (only READ and PREFETCH need no write). */
export const FAULT_ACCESS_READ = 0;
export const FAULT_ACCESS_WRITE = 1;
export const FAULT_ACCESS_PREFETCH = 3;

/** struct nouveau_svm_fault @5.5: one cached fault-buffer entry. */
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

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault() @5.5 — the access test: V|W unless READ/PREFETCH
function needsWrite(f: NouveauSvmFault): boolean {
  return f.access !== FAULT_ACCESS_READ && f.access !== FAULT_ACCESS_PREFETCH;
}

/** struct svm_notifier @5.5: the temporary subscription, on the fault worker's stack. */
class SvmNotifier extends MmuIntervalNotifier {
  constructor(
    readonly svmm: NouveauSvmm,
    name: string,
  ) {
    super(name);
  }
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_range_invalidate() @5.5
async function nouveauSvmRangeInvalidate(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const sn = mni as SvmNotifier;
  const svmm = svmmUse(sn.svmm, "nouveau_svm_range_invalidate");
  svmm.kernel.ex.count("nouveau.svm_range_invalidate");
  // Serialises set_seq with PFNMAP; the PFNCLR itself comes later, from the hlist callback.
  if (rangeBlockable(range)) await svmm.mutex.lock();
  else if (!(await svmm.mutex.trylock())) return false;
  await mmuIntervalSetSeq(mni, curSeq);
  await svmm.mutex.unlock();
  return true;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_mni_ops @5.5
const nouveauSvmMniOps: MmuIntervalNotifierOps = { invalidate: nouveauSvmRangeInvalidate };

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault_cmp() @5.5 — by instance, address, writes first
function nouveauSvmFaultCmp(a: NouveauSvmFault, b: NouveauSvmFault): number {
  if (a.inst !== b.inst) return a.inst - b.inst;
  if (a.addr !== b.addr) return a.addr - b.addr;
  return (needsWrite(a) ? 0 : 1) - (needsWrite(b) ? 0 : 1);
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault_cancel_fault() @5.5
function nouveauSvmFaultCancelFault(k: Kernel, fault: NouveauSvmFault, why: string): void {
  k.ex.count("nouveau.fault_cancel");
  k.ex.trace("note", "nouveau_svm_fault_cancel_fault", hex(fault.addr), why);
}

/**
 * include/linux/mm.h: find_vma_intersection() @5.5, then the window clip's reads of
 * vma->vm_start/vm_end — the same plain loads as in 5.4, now under an mm_users reference,
 * so exit_mmap cannot free the VMA meanwhile. One scheduling point stands for the window.
 */
async function findVmaIntersection(
  mm: MmStruct,
  start: number,
  limit: number,
): Promise<{ start: number; end: number } | null> {
  const vma = mm.findVmaIntersection(start, limit);
  if (vma === undefined) return null;
  await mm.kernel.ex.point("find_vma_intersection", mm.name, `[${hex(start)}, ${hex(limit)})`);
  if (mm.exited && !mm.vmas.includes(vma)) {
    mm.kernel.ex.fail("use-after-free", `nouveau_svm_fault: vma of ${mm.name} read after exit_mmap freed it`);
  }
  return { start: vma.start, end: vma.end };
}

/**
 * drivers/gpu/drm/nouveau/nvkm/subdev/mmu/vmm.c: nvkm_vmm_ref_ptes() @5.5 — PFNMAP references
 * GPU page tables and allocates missing ones with GFP_KERNEL, under svmm->mutex (O4, kept in
 * NEW: reclaim's invalidation reaches the hlist callback, which takes the same mutex).
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
 * drivers/gpu/drm/nouveau/nvkm/subdev/mmu/vmm.c: nvkm_vmm_pfn_map() @5.5, behind the
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

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_range_fault() @5.5
async function nouveauRangeFault(svmm: NouveauSvmm, range: HmmRange55, mm: MmStruct): Promise<number> {
  const k = svmm.kernel;
  const timeout = k.ex.now + HMM_RANGE_DEFAULT_TIMEOUT; // jiffies + msecs_to_jiffies(1000); 1 tick = 1 ms
  let ret: number;
  for (;;) {
    if (k.ex.now > timeout) {
      k.ex.trace("ret", "nouveau_range_fault", undefined, "-EBUSY (timeout)");
      return EBUSY;
    }
    range.notifierSeq = await mmuIntervalReadBegin(range.notifier);
    await mm.mmapSem.downRead();
    ret = await hmmRangeFault(range);
    await mm.mmapSem.upRead();
    if (ret <= 0) {
      if (ret === 0 || ret === EBUSY) {
        k.ex.count(POPULATE_RETRY);
        continue;
      }
      return ret;
    }
    await svmmUse(svmm, "svmm->mutex").mutex.lock();
    if (mmuIntervalReadRetry(range.notifier, range.notifierSeq)) {
      await svmm.mutex.unlock();
      k.ex.count(POPULATE_RETRY);
      continue;
    }
    break;
  }
  // nouveau_dmem_convert_pfn(): no device-private memory in the model.
  await nvkmVmmRefPtes(k, mm);
  // svmm->vmm->vmm.object: dereferenced without the NULL check the hlist callback has
  // (inference from the patch as the reference describes it; a fault racing nouveau_svmm_fini
  // is not in the scenario table, see O7).
  const vmm = svmm.vmm?.vmm;
  if (vmm === undefined || vmm === null) {
    throw new NullDereference(
      `nouveau_range_fault: svmm->vmm is NULL (nouveau_svmm_fini ran during the fault)`,
    );
  }
  ret = await nvkmVmmPfnMap(
    svmm,
    vmm,
    range.pfns.map((p) => ({ addr: p.addr, page: p.state === "valid" ? p.page : null, write: p.write })),
    { via: { notifier: range.notifier, seq: range.notifierSeq, lock: svmm.mutex } },
  );
  await svmm.mutex.unlock();
  return ret; // the PFNMAP method's result
}

/**
 * drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svm_fault() @5.5 — handle the cached faults.
 * Returns 0 when every fault was replayed, else the first window's error (or -EFAULT for a
 * cancelled fault).
 */
export async function nouveauSvmFault(svm: NouveauSvm, faults: NouveauSvmFault[]): Promise<number> {
  const k = svm.kernel;
  k.ex.trace("call", "nouveau_svm_fault", undefined, `${faults.length} fault(s)`);
  faults.sort(nouveauSvmFaultCmp);
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
    let start = first.addr;
    let limit = start + WINDOW_PAGES * PAGE_SIZE;
    const unmanaged = svmmUse(svmm, "svmm->unmanaged").unmanaged;
    if (start < unmanaged.limit) limit = Math.min(limit, unmanaged.start);
    else if (limit > unmanaged.start) start = Math.max(start, unmanaged.limit);

    const mm = svmmUse(svmm, "svmm->notifier.mm").notifier.mm!;
    if (!(await mmgetNotZero(mm))) {
      nouveauSvmFaultCancelFault(k, first, "mm is exiting");
      fail(EFAULT);
      continue;
    }
    // Intersect the window with the CPU VMA; mmap_sem only for that.
    await mm.mmapSem.downRead();
    const vma = await findVmaIntersection(mm, start, limit);
    if (vma === null) {
      await mm.mmapSem.upRead();
      await mmput(mm);
      nouveauSvmFaultCancelFault(k, first, "no VMA in the window");
      fail(EFAULT);
      continue;
    }
    start = Math.max(start, vma.start);
    limit = Math.min(limit, vma.end);
    await mm.mmapSem.upRead();
    if (first.addr !== start) {
      await mmput(mm);
      nouveauSvmFaultCancelFault(k, first, "fault address outside the VMA");
      fail(EFAULT);
      continue;
    }

    const phys: PfnRequest[] = [];
    for (fn = fi; ; ) {
      phys.push(needsWrite(faults[fn]!) ? "VW" : "V");
      while (++fn < faults.length && faults[fn]!.svmm === svmm && faults[fn]!.addr === faults[fn - 1]!.addr);
      if (fn >= faults.length || faults[fn]!.svmm !== svmm || faults[fn]!.addr >= limit) break;
      let fill = (faults[fn]!.addr - faults[fn - 1]!.addr) / PAGE_SIZE;
      while (--fill) phys.push("NONE");
    }
    const size = phys.length * PAGE_SIZE;

    const notifier = new SvmNotifier(svmm, `svm_notifier[${hex(start)}, +${hex(size)})`);
    const range = new HmmRange55(
      notifier,
      start,
      start + size,
      (i): HmmRequest => ({
        fault: phys[i] !== "NONE",
        write: phys[i] === "VW",
      }),
    );
    let ret = await mmuIntervalNotifierInsert(notifier, mm, start, size, nouveauSvmMniOps);
    if (ret === 0) {
      ret = await nouveauRangeFault(svmm, range, mm);
      // The hmm_range lives on nouveau_range_fault's stack in 5.5; the pfns it filled are
      // the caller's args, read below.
      frameReturned(k, range, "nouveau_range_fault");
      await mmuIntervalNotifierRemove(notifier);
    }
    await mmput(mm);
    // struct svm_notifier is on this function's stack: dead once the window is done (its
    // storage is reinitialised by the next window's insert, or returned with the frame).
    frameReturned(k, notifier, "nouveau_svm_fault (window done)");

    while (fi < fn) {
      const fault = faults[fi++]!;
      const pfn = range.pfns[(fault.addr - start) / PAGE_SIZE]!;
      if (ret !== 0 || pfn.state !== "valid" || (!pfn.write && needsWrite(fault))) {
        nouveauSvmFaultCancelFault(k, fault, ret !== 0 ? `range fault ${ret}` : "page not mapped as needed");
        fail(ret);
        continue;
      }
      replay++;
    }
  }
  if (replay > 0) k.ex.count("nouveau.fault_replay", replay);
  return result;
}
