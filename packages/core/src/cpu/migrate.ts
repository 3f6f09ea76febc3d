/**
 * Page migration and reclaim of one mapped page: the rmap path, which takes no mmap_sem.
 * mm/rmap.c try_to_unmap_one() @5.5 brackets the PTE change with MMU_NOTIFY_CLEAR; the old
 * page is freed only after the end. The PTE becomes a migration entry — a fault on it waits
 * until the migration is done — and migration then maps a new page with the same data
 * (remove_migration_ptes, no notifier: it fills a non-present entry). Reclaim leaves a swap
 * entry, so the next touch swaps a new page in. The rmap walk
 * holds the anon_vma lock for read (rmap_walk_anon -> anon_vma_lock_read).
 */
import type { MmStruct } from "../mm/mm.ts";
import { hex, PAGE_SIZE, type Page } from "../mm/page.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { rangeInit } from "../notifier/range.ts";

/**
 * mm/rmap.c: rmap_walk_anon() -> try_to_unmap_one() @5.5 for `page`. The walk reaches a VMA
 * only while it is on the page's anon_vma, and munmap unlinks it (unlink_anon_vmas, under the
 * anon_vma lock) before the range can be mapped again: the model's stand-in is that the page
 * is still mapped at addr when the walk, holding the rmap lock, gets there — only then is the
 * CLEAR bracket opened. page_vma_mapped_walk() then finds the PTE only if it still maps that
 * page (one zapped meanwhile is left alone).
 */
async function tryToUnmapOne(mm: MmStruct, addr: number, page: Page, kind: "migration" | "swap") {
  const k = mm.kernel;
  await mm.rmapLock.downRead();
  if (mm.pt.get(addr)?.page !== page) {
    await mm.rmapLock.upRead();
    return undefined;
  }
  const range = rangeInit(mm, "CLEAR", addr, addr + PAGE_SIZE);
  await mmuNotifierInvalidateRangeStart(range);
  await k.ex.point("ptep_clear_flush", `${mm.name} ${hex(addr)}`, `${kind} entry`);
  const cur = mm.pt.get(addr);
  const old = cur?.page === page ? cur : undefined;
  if (old !== undefined) mm.pt.setSwapEntry(addr, { kind, data: old.page.data, write: old.write });
  await mmuNotifierInvalidateRangeEnd(range);
  await mm.rmapLock.upRead();
  return old;
}

/** mm/migrate.c: migrate_pages() of the page mapped at addr @5.5 (NUMA, compaction). */
export async function migratePage(mm: MmStruct, addr: number): Promise<number> {
  const k = mm.kernel;
  k.ex.trace("call", "migrate_pages", mm.name, hex(addr));
  const pte = mm.pt.get(addr);
  // isolate_lru_page() fails for a page on no LRU list: nothing is migrated.
  if (pte === undefined || pte.page === k.zeroPage || !pte.page.lru) return 0;
  const old = await tryToUnmapOne(mm, addr, pte.page, "migration");
  if (old === undefined) return 0;
  const page = k.pages.allocPage(old.page.data);
  page.mapcount = 1;
  await k.ex.point("remove_migration_ptes", `${mm.name} ${hex(addr)}`);
  if (mm.pt.swapEntry(addr)?.kind === "migration") mm.pt.set(addr, page, old.write);
  else k.pages.putPage(page); // unmapped meanwhile: the new page is dropped
  old.page.mapcount--;
  k.pages.putPage(old.page);
  await mm.migrationWq.wakeUpAll();
  return 1;
}

/** mm/vmscan.c: shrink_page_list() -> try_to_unmap() of the page at addr @5.5. */
export async function reclaimPage(mm: MmStruct, addr: number): Promise<number> {
  const k = mm.kernel;
  k.ex.trace("call", "shrink_page_list", mm.name, hex(addr));
  const pte = mm.pt.get(addr);
  // Reclaim scans the LRU lists: a page on none is never a candidate.
  if (pte === undefined || pte.page === k.zeroPage || !pte.page.lru) return 0;
  const old = await tryToUnmapOne(mm, addr, pte.page, "swap");
  if (old === undefined) return 0;
  old.page.mapcount--;
  k.pages.putPage(old.page);
  return 1;
}
