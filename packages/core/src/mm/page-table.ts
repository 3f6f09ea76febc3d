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

export class PageTable {
  private readonly ptes = new Map<number, Pte>();
  private nextGen = 1;

  get(addr: number): Pte | undefined {
    return this.ptes.get(addr);
  }

  /** set_pte_at() */
  set(addr: number, page: Page, write: boolean): Pte {
    const pte: Pte = { page, write, gen: this.nextGen++ };
    this.ptes.set(addr, pte);
    return pte;
  }

  /** ptep_get_and_clear(): the old value, if any. */
  clear(addr: number): Pte | undefined {
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
