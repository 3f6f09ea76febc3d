/**
 * Clearing PTEs over a range (mm/memory.c zap_pte_range() @5.5) and freeing what they
 * mapped once the TLB is flushed (tlb_finish_mmu). One scheduling point for the page-table
 * change: the models treat a range's PTE update as one step.
 */
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE, type Page } from "../mm/page.ts";
import { Vma } from "../mm/vma.ts";
import { describeRange } from "../notifier/range.ts";

/** Clear every present PTE in [start, end); returns the pages whose mapping reference to drop. */
export async function zapPteRange(mm: MmStruct, start: number, end: number): Promise<Page[]> {
  const k = mm.kernel;
  await k.ex.point("zap_pte_range", mm.name, describeRange({ start, end }));
  const freed: Page[] = [];
  for (let a = start; a < end; a += PAGE_SIZE) {
    const old = mm.pt.clear(a);
    if (old !== undefined && old.page !== k.zeroPage) {
      old.page.mapcount--;
      freed.push(old.page);
    }
  }
  return freed;
}

/** mm/mmu_gather.c: tlb_finish_mmu() @5.5 — drop the PTEs' page references. */
export function tlbFinishMmu(mm: MmStruct, pages: Page[]): void {
  for (const p of pages) mm.kernel.pages.putPage(p);
}

/** Remove [start, end) from the VMA list, splitting VMAs that straddle it (__split_vma). */
export function detachVmas(mm: MmStruct, start: number, end: number): void {
  const out = [];
  for (const v of mm.vmas) {
    if (v.end <= start || v.start >= end) {
      out.push(v);
      continue;
    }
    if (v.start < start) out.push(new Vma(v.start, start, { ...v.flags }));
    if (v.end > end) out.push(new Vma(end, v.end, { ...v.flags }));
  }
  mm.vmas = out.sort((a, b) => a.start - b.start);
}
