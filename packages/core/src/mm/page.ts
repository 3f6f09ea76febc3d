/**
 * struct page and the page allocator, reduced to what the oracles need: a reference count,
 * a pin count (FOLL_PIN), and a freed state. A freed page is poisoned: its pfn is never
 * reused, so any later device access through a stale pfn is detectable as a use-after-free.
 * Each page carries a data word so tests can check what the device read or wrote.
 */
import type { Execution } from "@mnlab/sim";

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export class Page {
  refcount = 1;
  pincount = 0;
  freed = false;
  /** Mapped into a CPU page table by this many PTEs (page_mapcount). */
  mapcount = 0;
  /** The page's content, one word: what a CPU or device read returns. */
  data = 0;
  /**
   * On an LRU list (PageLRU): anonymous and page-cache pages are; pages a driver allocated
   * and inserted itself (ballooned pages, vm_insert_page) are not, so migration and reclaim,
   * which isolate pages from the LRU, never pick them.
   */
  lru = true;

  constructor(readonly pfn: number) {}
}

export class PageAllocator {
  private nextPfn = 0x100;
  /** Pages freed so far: lets oracles skip re-checking when nothing was freed. */
  freedCount = 0;
  private readonly pages = new Map<number, Page>();

  constructor(private readonly ex: Execution) {}

  /** mm/page_alloc.c: alloc_page() @5.5 — a fresh page with one reference. */
  allocPage(data = 0): Page {
    const p = new Page(this.nextPfn++);
    p.data = data;
    this.pages.set(p.pfn, p);
    return p;
  }

  /** include/asm-generic/memory_model.h: pfn_to_page() @5.5 */
  page(pfn: number): Page | undefined {
    return this.pages.get(pfn);
  }

  /** include/linux/mm.h: get_page() @5.5 — taking a reference on a freed page is a WARN. */
  getPage(p: Page): void {
    if (p.freed || p.refcount <= 0) this.ex.fail("use-after-free", `get_page() on freed pfn ${hex(p.pfn)}`);
    p.refcount++;
  }

  /** mm/swap.c: put_page() @5.5 — the last reference frees (and here poisons) the page. */
  putPage(p: Page): void {
    if (p.freed || p.refcount <= 0) this.ex.fail("kernel-warn", `put_page() underflow on pfn ${hex(p.pfn)}`);
    p.refcount--;
    if (p.refcount === 0) {
      p.freed = true;
      this.freedCount++;
      this.ex.trace("note", "free_page", `pfn ${hex(p.pfn)}`);
    }
  }

  /** mm/gup.c: try_grab_page(FOLL_PIN) @5.6+ (pin_user_pages); 5.5 GUP callers took plain references. */
  pinPage(p: Page): void {
    this.getPage(p);
    p.pincount++;
  }

  /** mm/gup.c: unpin_user_page() @5.6 (5.5 GUP users put_page()d instead) */
  unpinPage(p: Page): void {
    if (p.pincount <= 0) this.ex.fail("kernel-warn", `unpin_user_page() without a pin on pfn ${hex(p.pfn)}`);
    p.pincount--;
    this.putPage(p);
  }

  /** All pages ever allocated (for end-of-run leak checks). */
  all(): IterableIterator<Page> {
    return this.pages.values();
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
