/**
 * The page-table walk under hmm_range_fault (mm/hmm.c hmm_walk_ops @5.4/5.5: pte/pmd
 * handlers, hmm_vma_walk_hole_, hmm_vma_do_fault). Caller holds mmap_sem for read.
 *
 * One scheduling point per walk: the PTEs of the walked span are read as one step. At the
 * first page that needs a fault, every page from there to the end of the span that needs
 * one is faulted in (each a handle_mm_fault) and the walk returns -EBUSY with `last` at
 * that page, so the caller re-walks from there — the kernel's hmm_vma_walk_hole_ loop.
 */
import { handleMmFault } from "../cpu/fault.ts";
import { EBUSY, EFAULT, EPERM } from "../errno.ts";
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { describeRange } from "../notifier/range.ts";
import { type HmmPfn, type HmmRequest, nonePfn } from "./pfn.ts";

export interface WalkRange {
  readonly start: number;
  readonly pfns: HmmPfn[];
  request(index: number): HmmRequest;
}

export interface WalkOptions {
  /** HMM_FAULT_SNAPSHOT: report, never fault. */
  snapshot: boolean;
  /**
   * A VMA without VM_READ inside the walk when a fault is requested: -EFAULT in 5.5's
   * hmm_vma_walk_test (d28c2c9a4877). 5.4 rejects such a VMA before walking (-EPERM).
   */
  noReadVma: number;
  /**
   * A page with no VMA, or in a VMA without VM_READ, for which no fault is requested (a
   * snapshot): HMM_PFN_NONE in 5.5 (hmm_vma_walk_hole_ and hmm_vma_walk_test fill NONE);
   * HMM_PFN_ERROR from 5.7 on — c2579c9c4add "mm/hmm: return error for non-vma snapshots"
   * for holes, and hmm_vma_walk_test's VM_READ branch filling HMM_PFN_ERROR as 5.8 has it.
   * lib/test_hmm.c's snapshot tests expect ERROR. Default false (5.5).
   */
  unreadableAsError?: boolean;
}

export interface WalkResult {
  ret: number;
  /** hmm_vma_walk.last: where the next walk resumes. */
  last: number;
}

/** mm/hmm.c: walk_page_range(mm, from, to, &hmm_walk_ops, &hmm_vma_walk) @5.5 */
export async function hmmWalk(
  mm: MmStruct,
  range: WalkRange,
  from: number,
  to: number,
  opts: WalkOptions,
): Promise<WalkResult> {
  const k = mm.kernel;
  await k.ex.point("walk_page_range", mm.name, describeRange({ start: from, end: to }));
  for (let addr = from; addr < to; addr += PAGE_SIZE) {
    const i = (addr - range.start) / PAGE_SIZE;
    const req = opts.snapshot ? { fault: false, write: false } : range.request(i);
    const vma = mm.vmaAt(addr);
    const pte = mm.pt.get(addr);
    if (vma === undefined || !vma.flags.read) {
      range.pfns[i] = nonePfn(addr);
      if (opts.unreadableAsError === true) range.pfns[i]!.state = "error";
      if (req.fault) {
        range.pfns[i]!.state = "error";
        return { ret: vma === undefined ? EFAULT : opts.noReadVma, last: addr };
      }
      continue;
    }
    if (pte === undefined && mm.pt.swapEntry(addr)?.kind === "migration" && req.fault) {
      // hmm_vma_handle_pte(): a migration entry — wait for it, then -EBUSY to re-walk.
      await mm.migrationWq.waitEvent(() => mm.pt.swapEntry(addr)?.kind !== "migration");
      return { ret: EBUSY, last: addr };
    }
    if (pte === undefined || (req.write && !pte.write)) {
      if (req.fault) return faultFrom(mm, range, addr, to);
      range.pfns[i] = nonePfn(addr);
      if (pte !== undefined) range.pfns[i] = pfnOf(mm, addr, pte.page, pte.write, pte.gen);
      continue;
    }
    range.pfns[i] = pfnOf(mm, addr, pte.page, pte.write, pte.gen);
  }
  return { ret: 0, last: to };
}

// mm/hmm.c: hmm_vma_handle_pte() @5.5 — pte_to_hmm_pfn_flags() | hmm_device_entry_from_pfn()
function pfnOf(mm: MmStruct, addr: number, page: HmmPfn["page"], write: boolean, gen: number): HmmPfn {
  return { addr, state: "valid", write, page, zero: page === mm.kernel.zeroPage, gen };
}

/** mm/hmm.c: hmm_vma_walk_hole_() -> hmm_vma_do_fault() @5.5 — fault the rest, then -EBUSY. */
async function faultFrom(mm: MmStruct, range: WalkRange, first: number, to: number): Promise<WalkResult> {
  for (let addr = first; addr < to; addr += PAGE_SIZE) {
    const i = (addr - range.start) / PAGE_SIZE;
    const req = range.request(i);
    const pte = mm.pt.get(addr);
    if (!req.fault || (pte !== undefined && (!req.write || pte.write))) continue;
    const vma = mm.vmaAt(addr);
    if (vma === undefined) {
      range.pfns[i] = { ...nonePfn(addr), state: "error" };
      return { ret: EFAULT, last: addr };
    }
    if (req.write && !vma.flags.write) {
      // mm/hmm.c: hmm_vma_walk_hole_() @5.4/5.5 — `if (write_fault && walk->vma &&
      // !(walk->vma->vm_flags & VM_WRITE)) return -EPERM;`, before any handle_mm_fault (the
      // check came with "mm/hmm: change hmm_vma_fault() to allow write fault on page basis",
      // 5.2; from 5.7 it sits in hmm_vma_fault(), still -EPERM). So -EPERM in every version
      // modelled. hole_ returns before it touches pfns[]: the entry is not HMM_PFN_ERROR.
      range.pfns[i] = nonePfn(addr);
      return { ret: EPERM, last: addr };
    }
    if ((await handleMmFault(mm, addr, req.write)) !== "ok") {
      range.pfns[i] = { ...nonePfn(addr), state: "error" };
      return { ret: EFAULT, last: addr };
    }
  }
  return { ret: EBUSY, last: first };
}

/** include/linux/hmm.h: struct hmm_range default_flags / pfn_flags_mask @5.5 — the same request for every page. */
export function uniformRequest(fault: boolean, write: boolean): (i: number) => HmmRequest {
  const r = { fault, write };
  return () => r;
}
