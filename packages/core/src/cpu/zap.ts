/**
 * Clearing PTEs over a range (mm/memory.c zap_pte_range() @5.5) and freeing what they
 * mapped once the TLB is flushed (tlb_finish_mmu). One scheduling point for the page-table
 * change: the models treat a range's PTE update as one step.
 */
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE, type Page } from "../mm/page.ts";
import { PMD_SIZE } from "../mm/page-table.ts";
import { splitVma } from "../mm/split-vma.ts";
import type { Vma } from "../mm/vma.ts";
import { describeRange } from "../notifier/range.ts";

/**
 * mm/memory.c: zap_pte_range() @5.5 — clear every present PTE in [start, end); returns the
 * pages whose mapping reference to drop (after the TLB flush).
 */
export async function zapPteRange(mm: MmStruct, start: number, end: number): Promise<Page[]> {
  const k = mm.kernel;
  await k.ex.point("zap_pte_range", mm.name, describeRange({ start, end }));
  const freed: Page[] = [];
  for (let a = start; a < end; a += PAGE_SIZE) {
    // A swap entry whose page is still in the swap cache: free_swap_and_cache() @5.4/@5.5 ->
    // __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL) -> try_to_free_swap() drops the cache's
    // reference (at once: no TLB entry maps it). While shrink_page_list holds the page lock
    // its trylock_page fails and the page stays; reclaimPage drops the reference when it finds
    // the entry gone. A migration entry holds no reference (try_to_unmap_one dropped it; the
    // model's migratePage keeps the counts until it is done).
    const swp = mm.pt.swapEntry(a);
    if (swp?.kind === "swap" && swp.page !== undefined && swp.locked !== true) k.pages.putPage(swp.page);
    const old = mm.pt.clear(a);
    if (old !== undefined && old.page !== k.zeroPage) {
      old.page.mapcount--;
      freed.push(old.page);
    }
  }
  return freed;
}

/**
 * mm/memory.c: free_pgtables() @5.5 over an unmapped [start, end): free the pages of PTEs
 * whose whole 2 MiB no remaining VMA uses (free_pgd_range's floor/ceiling: the previous
 * VMA's end, the next one's start). Called after the VMAs are detached and zapped.
 */
export function freePgtables(mm: MmStruct, start: number, end: number): void {
  for (const i of mm.pt.populatedPmds()) {
    const lo = i * PMD_SIZE;
    const hi = lo + PMD_SIZE;
    if (hi <= start || lo >= end) continue;
    if (mm.vmas.some((v) => v.start < hi && v.end > lo)) continue;
    mm.pt.freePmd(i);
  }
}

/** mm/mmu_gather.c: tlb_finish_mmu() @5.5 — drop the PTEs' page references. */
export function tlbFinishMmu(mm: MmStruct, pages: Page[]): void {
  for (const p of pages) mm.kernel.pages.putPage(p);
}

/**
 * mm/mmap.c: __do_munmap() @5.5, the VMA part: split the VMAs that straddle start and end
 * (__split_vma keeps the original object below start and above end) and unlink
 * [start, end) (detach_vmas_to_be_unmapped). Returns the detached VMAs, which the caller
 * hands to remove_vma() once their PTEs are gone.
 */
export function detachVmas(mm: MmStruct, start: number, end: number): Vma[] {
  const vma = mm.findVma(start);
  if (vma === undefined || vma.start >= end) return [];
  if (start > vma.start) splitVma(mm, vma, start, false);
  const last = mm.findVma(end);
  if (last !== undefined && end > last.start) splitVma(mm, last, end, true);
  const detached = mm.vmas.filter((v) => v.start >= start && v.end <= end);
  mm.vmas = mm.vmas.filter((v) => !(v.start >= start && v.end <= end));
  return detached;
}
