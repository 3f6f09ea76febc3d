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
 * swaps a new page in with the same data, mm/memory.c do_swap_page).
 */
export interface SwapEntry {
  readonly kind: "migration" | "swap";
  readonly data: number;
  readonly write: boolean;
}

export class PageTable {
  private readonly ptes = new Map<number, Pte>();
  private readonly swap = new Map<number, SwapEntry>();
  private nextGen = 1;

  /** Changes whenever any present PTE changes: lets oracles skip re-checking a quiet table. */
  get version(): number {
    return this.nextGen;
  }

  /** The non-present entry at addr, if any. */
  swapEntry(addr: number): SwapEntry | undefined {
    return this.swap.get(addr);
  }

  /** Replace a present PTE by a migration or swap entry (try_to_unmap_one). */
  setSwapEntry(addr: number, e: SwapEntry): void {
    this.clear(addr);
    this.swap.set(addr, e);
  }

  clearSwapEntry(addr: number): void {
    this.swap.delete(addr);
  }

  get(addr: number): Pte | undefined {
    return this.ptes.get(addr);
  }

  /** set_pte_at() */
  set(addr: number, page: Page, write: boolean): Pte {
    this.swap.delete(addr);
    const pte: Pte = { page, write, gen: this.nextGen++ };
    this.ptes.set(addr, pte);
    return pte;
  }

  /** ptep_get_and_clear(): the old value, if any (a non-present entry is dropped too). */
  clear(addr: number): Pte | undefined {
    this.swap.delete(addr);
    const old = this.ptes.get(addr);
    if (old !== undefined) {
      this.ptes.delete(addr);
      this.nextGen++;
    }
    return old;
  }

  /** ptep_set_wrprotect() */
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
