/**
 * get_user_pages / pin_user_pages (mm/gup.c __get_user_pages() @5.5): caller holds mmap_sem
 * for read. Each page is looked up in the page table (follow_page_mask) and faulted in — or
 * COW-broken for a write — when absent or read-only, then referenced or pinned. The result
 * carries, per page, the PTE generation it was read from: what a device mapping built from
 * it is later checked against.
 */

import { handleMmFault, type VmFault } from "../cpu/fault.ts";
import { EFAULT } from "../errno.ts";
import type { MmStruct } from "./mm.ts";
import { hex, PAGE_SIZE, type Page } from "./page.ts";

export interface GupPage {
  readonly page: Page;
  readonly addr: number;
  readonly write: boolean;
  /** Generation of the CPU PTE the page was taken from. */
  readonly gen: number;
}

export interface GupResult {
  /** Pages obtained (may be fewer than asked), or a negative errno when none. */
  ret: number;
  pages: GupPage[];
}

/** mm/gup.c: __get_user_pages() @5.5 with FOLL_GET (pin=false) or FOLL_PIN (pin=true, 5.6 naming). */
export async function getUserPages(
  mm: MmStruct,
  start: number,
  npages: number,
  opts: { write: boolean; pin?: boolean },
): Promise<GupResult> {
  const k = mm.kernel;
  k.ex.trace("call", opts.pin ? "pin_user_pages" : "get_user_pages", mm.name, `${hex(start)} n=${npages}`);
  if (!mm.mmapSem.readerCount && !mm.mmapSem.isWriteLocked) k.warn("get_user_pages without mmap_sem held");
  const pages: GupPage[] = [];
  await k.ex.point("follow_page_mask", mm.name, hex(start));
  for (let i = 0; i < npages; i++) {
    const addr = start + i * PAGE_SIZE;
    const vma = mm.vmaAt(addr);
    // check_vma_flags(): no VMA, no read, or a write to a read-only VMA.
    if (vma === undefined || !vma.flags.read || (opts.write && !vma.flags.write)) break;
    // retry: follow_page_mask(), and faultin_page() until the PTE is what was asked for (a
    // fault that lost a race returns 0 having installed nothing: `case 0: goto retry`).
    let pte = mm.pt.get(addr);
    let fault: VmFault = "ok";
    while (pte === undefined || (opts.write && !pte.write)) {
      fault = await handleMmFault(mm, addr, opts.write);
      if (fault !== "ok") break;
      pte = mm.pt.get(addr);
    }
    if (fault !== "ok" || pte === undefined) break;
    if (opts.pin) k.pages.pinPage(pte.page);
    else k.pages.getPage(pte.page);
    pages.push({ page: pte.page, addr, write: pte.write, gen: pte.gen });
  }
  const ret = pages.length > 0 ? pages.length : EFAULT;
  k.ex.trace("ret", opts.pin ? "pin_user_pages" : "get_user_pages", mm.name, String(ret));
  return { ret, pages };
}

/** mm/swap.c: release_pages() @5.5 (put_page per page) / mm/gup.c: unpin_user_pages() @5.6 */
export function releaseUserPages(mm: MmStruct, pages: readonly GupPage[], pinned: boolean): void {
  for (const p of pages) {
    if (pinned) mm.kernel.pages.unpinPage(p.page);
    else mm.kernel.pages.putPage(p.page);
  }
}
