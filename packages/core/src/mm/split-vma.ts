/**
 * Splitting and removing VMAs the way mm/mmap.c does: __split_vma() keeps the original
 * vm_area_struct for one part and gives the other part a new one (vm_area_dup, then
 * ->open), so a driver holding a pointer to the original sees it shrink; remove_vma() calls
 * ->close once the VMA's PTEs are gone.
 */
import type { MmStruct } from "./mm.ts";
import { PAGE_SHIFT } from "./page.ts";
import { Vma } from "./vma.ts";

/**
 * mm/mmap.c: __split_vma() @5.5 — split vma at addr. newBelow: the new VMA is [start, addr)
 * and the original keeps [addr, end); otherwise the new one is [addr, end). Returns the new VMA.
 */
export function splitVma(mm: MmStruct, vma: Vma, addr: number, newBelow: boolean): Vma {
  if (addr <= vma.start || addr >= vma.end) throw new Error(`splitVma: ${addr} is not inside the VMA`);
  // vm_area_dup(): same flags, ops, private data, file and offset.
  const nv = new Vma(vma.start, vma.end, { ...vma.flags });
  nv.vmOps = vma.vmOps;
  nv.vmPrivateData = vma.vmPrivateData;
  nv.vmFile = vma.vmFile;
  nv.vmPgoff = vma.vmPgoff;
  nv.anonVma = vma.anonVma; // anon_vma_clone()
  if (newBelow) nv.end = addr;
  else {
    nv.start = addr;
    nv.vmPgoff += (addr - vma.start) >> PAGE_SHIFT;
  }
  nv.vmOps?.open?.(nv);
  // vma_adjust(): the original object keeps the other part.
  if (newBelow) {
    vma.vmPgoff += (addr - vma.start) >> PAGE_SHIFT;
    vma.start = addr;
  } else {
    vma.end = addr;
  }
  mm.vmas.push(nv);
  mm.vmas.sort((a, b) => a.start - b.start);
  return nv;
}

/** mm/mmap.c: remove_vma() @5.5 — ->close, then the VMA is freed. */
export async function removeVma(vma: Vma): Promise<void> {
  if (vma.vmOps?.close !== undefined) await vma.vmOps.close(vma);
}
