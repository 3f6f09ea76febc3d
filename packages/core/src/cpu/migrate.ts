/**
 * Page migration and reclaim of one mapped page: the rmap path, which takes no mmap_sem.
 * mm/rmap.c try_to_unmap_one() @5.5 brackets the PTE change with MMU_NOTIFY_CLEAR; the old
 * page is freed only after the end. The PTE becomes a migration entry — a fault on it waits
 * until the migration is done — and migration then maps a new page with the same data
 * (remove_migration_ptes, no notifier: it fills a non-present entry). Reclaim leaves a swap
 * entry, so the next touch swaps the page in. The rmap walk
 * holds the anon_vma lock for read (rmap_walk_anon -> anon_vma_lock_read).
 *
 * Both give up on a page somebody else holds a reference to (GUP, a pin, a COW fault's
 * temporary get_page): migration maps the same page back, reclaim leaves it in the swap
 * cache, where the next fault finds it. The model's accounting: a mapped page has one
 * reference per mapping (refcount == mapcount) and try_to_unmap_one's page_remove_rmap +
 * put_page is deferred to the caller's decision, so "extra references" is
 * refcount - mapcount while the entry is in place (the kernel's isolation reference,
 * isolate_lru_page's get_page, is not modelled: the kernel's expected count includes it).
 */
import { EAGAIN } from "../errno.ts";
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
  // The entry names the page: a migration entry encodes its pfn; reclaim added the page to the
  // swap cache (add_to_swap) before try_to_unmap, and holds its lock until it decides.
  if (old !== undefined) {
    mm.pt.setSwapEntry(
      addr,
      kind === "migration"
        ? { kind, data: old.page.data, write: old.write, page: old.page }
        : { kind, data: old.page.data, write: old.write, page: old.page, locked: true },
    );
  }
  await mmuNotifierInvalidateRangeEnd(range);
  await mm.rmapLock.upRead();
  return old;
}

/** The references on `page` beyond its mappings (GUP, pins, a fault's temporary get_page). */
function extraRefs(page: Page): number {
  return page.refcount - page.mapcount;
}

/**
 * mm/migrate.c: migrate_pages() of the page mapped at addr @5.4/@5.5 (NUMA, compaction) ->
 * unmap_and_move() -> __unmap_and_move(): try_to_unmap(TTU_MIGRATION), then
 * move_to_new_page() -> migrate_page() -> migrate_page_move_mapping(), which for an
 * anonymous page returns -EAGAIN when page_count(page) != expected_count (the isolation
 * reference only); then remove_migration_ptes(page, rc == MIGRATEPAGE_SUCCESS ? newpage :
 * page, false). Returns 1 when the page moved, 0 when it was no candidate (or left its
 * address before the walk got there), -EAGAIN when the move failed and the old page was
 * mapped back. migrate_pages() retries -EAGAIN up to 10 passes, each a new
 * try_to_unmap (CLEAR bracket) and remove_migration_ptes; the model makes one pass with one
 * scheduling point for the move, so a reference dropped during the kernel's later passes
 * (which would let one of them succeed) is not explored, nor are the repeated brackets. The
 * kernel's migrate_pages() itself returns the number of pages not migrated (1 here); the
 * model returns unmap_and_move's rc instead so callers can tell the cases apart.
 */
export async function migratePage(mm: MmStruct, addr: number): Promise<number> {
  const k = mm.kernel;
  k.ex.trace("call", "migrate_pages", mm.name, hex(addr));
  const pte = mm.pt.get(addr);
  // isolate_lru_page() fails for a page on no LRU list: nothing is migrated.
  if (pte === undefined || pte.page === k.zeroPage || !pte.page.lru) return 0;
  const old = await tryToUnmapOne(mm, addr, pte.page, "migration");
  if (old === undefined) return 0;
  // migrate_page_move_mapping() @5.5: `if (page_count(page) != expected_count) return -EAGAIN`
  // for an anonymous page (!mapping): checked when the move is tried, after the unmap. A GUP
  // reference cannot be taken meanwhile (GUP on the migration entry waits), only dropped.
  await k.ex.point("migrate_page_move_mapping", `${mm.name} ${hex(addr)}`);
  const extra = extraRefs(old.page);
  const stillThere = mm.pt.swapEntry(addr)?.kind === "migration";
  if (extra > 0) {
    k.ex.trace(
      "note",
      "migrate_page_move_mapping",
      `${mm.name} ${hex(addr)}`,
      `-EAGAIN: pfn ${hex(old.page.pfn)} has ${extra} extra reference(s); remove_migration_ptes maps it back`,
    );
    // remove_migration_ptes(page, page, false): the old page returns under its old
    // permissions (the entry recorded write); the mapping keeps the reference it had.
    if (stillThere) mm.pt.set(addr, old.page, old.write);
    else {
      old.page.mapcount--; // zapped meanwhile: the mapping's reference goes with the page
      k.pages.putPage(old.page);
    }
    await mm.migrationWq.wakeUpAll(); // unlock_page(): migration_entry_wait()ers retry
    return EAGAIN;
  }
  // migrate_page_copy(): the new page gets the data as it is now.
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

/**
 * mm/vmscan.c: shrink_page_list() of the page at addr @5.4/@5.5: add_to_swap() (the page
 * enters the swap cache, locked), try_to_unmap() (a swap entry), pageout(), then
 * __remove_mapping(): `if (!page_ref_freeze(page, refcount))` (refcount = 2: isolation and
 * swap cache) `goto cannot_free`. A page with an extra reference (GUP) fails there — or
 * earlier, in pageout()'s is_page_cache_freeable(), which keeps it unwritten — and stays in
 * the swap cache: the next fault's lookup_swap_cache() maps that same page back. A page
 * without is freed; the next fault swaps a new one in. Returns 1 when the page was freed, 0
 * when it was no candidate, -EAGAIN when it was unmapped but kept (the kernel's
 * shrink_page_list counts it as not reclaimed and puts it back on the LRU). The page lock
 * is held from the unmap to the decision: a fault on the swap entry waits for it. The
 * kernel's later passes (which could free the kept page once its references are gone) are
 * not modelled: the kept page stays in the swap cache until swap-in or zap.
 */
export async function reclaimPage(mm: MmStruct, addr: number): Promise<number> {
  const k = mm.kernel;
  k.ex.trace("call", "shrink_page_list", mm.name, hex(addr));
  const pte = mm.pt.get(addr);
  // Reclaim scans the LRU lists: a page on none is never a candidate.
  if (pte === undefined || pte.page === k.zeroPage || !pte.page.lru) return 0;
  const old = await tryToUnmapOne(mm, addr, pte.page, "swap");
  if (old === undefined) return 0;
  await k.ex.point("__remove_mapping", `${mm.name} ${hex(addr)}`);
  const keep = extraRefs(old.page) > 0; // page_ref_freeze() fails
  old.page.mapcount--; // try_to_unmap_one(): page_remove_rmap()
  const e = mm.pt.swapEntry(addr);
  const entry = e?.kind === "swap" && e.page === old.page ? e : undefined;
  if (keep && entry !== undefined) {
    // cannot_free / keep_locked: the swap cache keeps the page, with the reference the
    // mapping had; unlock_page().
    mm.pt.setSwapEntry(addr, { kind: "swap", data: entry.data, write: entry.write, page: old.page });
    k.ex.trace(
      "note",
      "__remove_mapping",
      `${mm.name} ${hex(addr)}`,
      `page_ref_freeze fails: pfn ${hex(old.page.pfn)} stays in the swap cache`,
    );
  } else {
    // __delete_from_swap_cache() + put_page(), or — the entry zapped meanwhile, whose
    // free_swap_and_cache() found the page locked — the cache reference goes here (as a
    // later reclaim pass would drop it).
    if (entry !== undefined) {
      mm.pt.setSwapEntry(addr, { kind: "swap", data: old.page.data, write: entry.write });
    }
    k.pages.putPage(old.page);
  }
  await mm.migrationWq.wakeUpAll(); // unlock_page(): a do_swap_page waiting on it retries
  return keep ? EAGAIN : 1;
}
