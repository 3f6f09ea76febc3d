/**
 * The CPU page table of one mm: page-aligned address -> present PTE. Each PTE change gets a
 * new generation number from the mm, so a device mapping built from a PTE value can later
 * be told apart from the current one (the stale-mapping oracle compares generations).
 */
import type { Page } from "./page.ts";

export interface Pte {
  readonly page: Page;
  readonly write: boolean;
  /** Generation of this PTE value: changes whenever the entry changes. */
  readonly gen: number;
}

/**
 * A non-present entry that is not pte_none: a migration entry (faults wait until the
 * migration finishes, mm/migrate.c migration_entry_wait) or a swap entry (the next fault
 * swaps the page in, mm/memory.c do_swap_page: the swap-cache page if it is still there,
 * else a new page with the swapped-out data).
 */
export interface SwapEntry {
  readonly kind: "migration" | "swap";
  readonly data: number;
  readonly write: boolean;
  /**
   * migration: the page being migrated (include/linux/swapops.h migration_entry_to_page()
   * @5.5: the entry encodes its pfn). swap: the page the swap cache still holds for this
   * slot (mm/swap_state.c lookup_swap_cache() @5.5), which keeps the reference the mapping
   * had — set when shrink_page_list could not free it (mm/vmscan.c __remove_mapping()'s
   * page_ref_freeze failed on an extra reference); absent once the page was freed.
   */
  readonly page?: Page;
  /**
   * swap, while shrink_page_list still holds the page lock (from try_to_unmap until it has
   * decided to free or keep the page): do_swap_page's lock_page_or_retry waits for it.
   */
  readonly locked?: boolean;
}

/** PMD_SIZE (x86-64, 4 KiB pages): the span one page of PTEs maps. */
export const PMD_SIZE = 0x20_0000;
/** PUD_SIZE (x86-64): the span one page of PMDs maps. */
export const PUD_SIZE = 0x4000_0000;

export class PageTable {
  private readonly ptes = new Map<number, Pte>();
  private readonly swap = new Map<number, SwapEntry>();
  /**
   * PMDs that point to a page of PTEs (!pmd_none), by index: __pte_alloc() on the first entry
   * in the 2 MiB, freed only by free_pgtables() (munmap, exit) — a zap leaves it.
   */
  private readonly pmds = new Set<number>();
  private nextGen = 1;
  /** Bumped by every change of a non-present entry (PTE generations stay as they were). */
  private swapChanges = 0;

  /** include/asm-generic/pgtable.h: !pmd_none() @5.5 — a page of PTEs covers addr, empty or not. */
  pmdPopulated(addr: number): boolean {
    return this.pmds.has(Math.floor(addr / PMD_SIZE));
  }

  /** PMD indices with a page of PTEs. */
  populatedPmds(): number[] {
    return [...this.pmds];
  }

  /** mm/memory.c: free_pte_range() @5.5 — the PTE page of PMD `index` goes (pmd_clear). */
  freePmd(index: number): void {
    this.pmds.delete(index);
  }

  /**
   * Changes whenever any entry changes, present or not (the at-rest check reads the pages
   * swap and migration entries stand for): lets oracles skip re-checking a quiet table.
   */
  get version(): number {
    return this.nextGen + this.swapChanges;
  }

  /** include/linux/swapops.h: is_swap_pte() / pte_to_swp_entry() @5.5 — the non-present entry at addr. */
  swapEntry(addr: number): SwapEntry | undefined {
    return this.swap.get(addr);
  }

  /** mm/rmap.c: try_to_unmap_one()'s set_pte_at(swp_entry_to_pte()) @5.5 — a migration or swap entry. */
  setSwapEntry(addr: number, e: SwapEntry): void {
    this.clear(addr);
    this.swap.set(addr, e);
    this.swapChanges++;
    this.pmds.add(Math.floor(addr / PMD_SIZE));
  }

  clearSwapEntry(addr: number): void {
    if (this.swap.delete(addr)) this.swapChanges++;
  }

  /** The non-present entries (for oracles: swap-cache pages they hold). */
  swapEntries(): IterableIterator<[number, SwapEntry]> {
    return this.swap.entries();
  }

  /** mm/memory.c: the PTE read under the PTL (pte_offset_map_lock) @5.5 */
  get(addr: number): Pte | undefined {
    return this.ptes.get(addr);
  }

  /** arch/x86/include/asm/pgtable.h: set_pte_at() @5.5 */
  set(addr: number, page: Page, write: boolean): Pte {
    if (this.swap.delete(addr)) this.swapChanges++;
    const pte: Pte = { page, write, gen: this.nextGen++ };
    this.ptes.set(addr, pte);
    this.pmds.add(Math.floor(addr / PMD_SIZE)); // pte_alloc() if the PMD was none
    return pte;
  }

  /** arch/x86/include/asm/pgtable.h: ptep_get_and_clear() @5.5 — the old value (a non-present entry goes too). */
  clear(addr: number): Pte | undefined {
    if (this.swap.delete(addr)) this.swapChanges++;
    const old = this.ptes.get(addr);
    if (old !== undefined) {
      this.ptes.delete(addr);
      this.nextGen++;
    }
    return old;
  }

  /** arch/x86/include/asm/pgtable.h: ptep_set_wrprotect() @5.5 */
  wrprotect(addr: number): void {
    const old = this.ptes.get(addr);
    if (old?.write) this.ptes.set(addr, { page: old.page, write: false, gen: this.nextGen++ });
  }

  /** Generation an absent entry reports: any mapping built before a clear will differ. */
  genOf(addr: number): number {
    return this.ptes.get(addr)?.gen ?? 0;
  }

  entries(): IterableIterator<[number, Pte]> {
    return this.ptes.entries();
  }
}
