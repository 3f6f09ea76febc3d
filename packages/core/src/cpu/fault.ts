/**
 * The CPU page-fault path, reduced to what mirrors observe: mm/memory.c handle_mm_fault() @5.5
 * for anonymous and shared memory. A read fault on untouched private memory maps the shared
 * zero page read-only; a write fault on a read-only PTE of a COW mapping either reuses the
 * page (mapped once) or copies it (wp_page_copy), which is an MMU_NOTIFY_CLEAR invalidation.
 * Caller holds mmap_sem for read.
 */
import type { MmStruct } from "../mm/mm.ts";
import { hex, PAGE_SIZE } from "../mm/page.ts";
import type { Pte } from "../mm/page-table.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { rangeInit } from "../notifier/range.ts";

/** VM_FAULT_* reduced to the outcomes callers branch on. */
export type VmFault = "ok" | "sigsegv";

/**
 * mm/memory.c: handle_mm_fault() @5.5 — one page at `addr` (page aligned). "ok" is the
 * kernel's 0 / VM_FAULT_WRITE: it does not promise the PTE is there — a fault that lost a
 * race (wp_page_copy's pte_same recheck, a migration entry waited on) returns 0 having
 * changed nothing, and the access is simply retried (the hardware re-faults; GUP's
 * follow_page and hmm's walk look again).
 */
export async function handleMmFault(mm: MmStruct, addr: number, write: boolean): Promise<VmFault> {
  const k = mm.kernel;
  const vma = mm.vmaAt(addr);
  if (vma === undefined || !vma.flags.read || (write && !vma.flags.write)) return "sigsegv";
  await k.ex.point("handle_mm_fault", `${mm.name} ${hex(addr)}`, write ? "write" : "read");
  const swp = mm.pt.swapEntry(addr);
  if (swp?.kind === "migration") {
    // mm/migrate.c: migration_entry_wait() @5.5 — sleep until the page is back; the fault
    // returns 0 and the access is retried.
    await mm.migrationWq.waitEvent(() => mm.pt.swapEntry(addr)?.kind !== "migration");
    return "ok";
  }
  if (swp?.kind === "swap") {
    // mm/memory.c: do_swap_page() @5.4/@5.5 — lookup_swap_cache() first.
    if (swp.locked === true) {
      // lock_page_or_retry(): shrink_page_list holds the page lock until it has freed or
      // kept the page; wait, then retry the fault (do_swap_page's `!PageSwapCache(page)`
      // recheck sends a freed page's fault back to swapin). The kernel drops mmap_sem here
      // when the fault may retry (VM_FAULT_RETRY) and sleeps holding it otherwise (GUP
      // without `locked`); the model sleeps holding it, as migration_entry_wait does.
      await mm.migrationWq.waitEvent(() => mm.pt.swapEntry(addr) !== swp);
      return "ok";
    }
    if (swp.page !== undefined) {
      // The page is still in the swap cache (reclaim could not free it): the same page is
      // mapped back (page_add_anon_rmap). The swap cache's reference becomes the mapping's:
      // the kernel keeps the page in the swap cache until reuse_swap_page()/try_to_free_swap()
      // drops that reference, which the model folds into the swap-in (the cache reference is
      // part of the expected count of migration and reclaim, so no verdict depends on it).
      swp.page.mapcount++;
      mm.pt.set(addr, swp.page, swp.write && vma.flags.write);
      return "ok";
    }
    // swapin_readahead(): a new page with the swapped-out data.
    const page = k.pages.allocPage(swp.data);
    page.mapcount = 1;
    mm.pt.set(addr, page, swp.write && vma.flags.write);
    return "ok";
  }
  // vmf->orig_pte: what the fault saw; wp_page_copy re-checks it after dropping the PTL.
  const orig = mm.pt.get(addr);
  if (orig === undefined) {
    // do_anonymous_page(): read faults on private memory map the zero page.
    if (!write && !vma.flags.shared) {
      mm.pt.set(addr, k.zeroPage, false);
      return "ok";
    }
    if (!vma.flags.shared) vma.anonVma = true; // anon_vma_prepare()
    const page = k.pages.allocPage();
    page.mapcount = 1;
    mm.pt.set(addr, page, vma.flags.write);
    return "ok";
  }
  if (!write || orig.write) return "ok";
  // do_wp_page(): 5.5 decides reuse on the map count (reuse_swap_page), not the refcount.
  if (orig.page !== k.zeroPage && (vma.flags.shared || orig.page.mapcount === 1)) {
    mm.pt.set(addr, orig.page, true); // wp_page_reuse(): upgrading needs no invalidation
    return "ok";
  }
  vma.anonVma = true; // wp_page_copy(): anon_vma_prepare()
  await wpPageCopy(mm, addr, orig);
  return "ok";
}

/**
 * mm/memory.c: wp_page_copy() @5.5 — break COW. do_wp_page took a reference on the old page
 * (get_page; none for the zero page, which vm_normal_page does not return), then with the
 * PTL dropped: a new page with a copy of the data, an MMU_NOTIFY_CLEAR invalidation, and —
 * with the PTL retaken — `if (likely(pte_same(*vmf->pte, vmf->orig_pte)))` the PTE swap.
 * When the PTE changed meanwhile (another fault broke COW first, a zap, a migration or
 * reclaim entry), nothing is installed: the new page is released and the fault returns 0.
 */
async function wpPageCopy(mm: MmStruct, addr: number, orig: Pte): Promise<void> {
  const k = mm.kernel;
  const oldPage = orig.page === k.zeroPage ? null : orig.page;
  if (oldPage !== null) k.pages.getPage(oldPage);
  // alloc_zeroed_user_highpage_movable() / alloc_page_vma() + cow_user_page()
  const page = k.pages.allocPage(oldPage === null ? 0 : oldPage.data);
  const range = rangeInit(mm, "CLEAR", addr, addr + PAGE_SIZE);
  await mmuNotifierInvalidateRangeStart(range);
  await k.ex.point("ptep_clear_flush", `${mm.name} ${hex(addr)}`);
  if (mm.pt.get(addr) === orig) {
    // pte_same(): a Pte value is replaced, never changed in place, so identity is sameness.
    page.mapcount = 1;
    mm.pt.set(addr, page, true); // ptep_clear_flush_notify + set_pte_at_notify
    if (oldPage !== null) {
      oldPage.mapcount--; // page_remove_rmap()
      k.pages.putPage(oldPage); // new_page = old_page; put_page(new_page): the PTE's reference
    }
  } else {
    k.ex.trace(
      "note",
      "wp_page_copy",
      `${mm.name} ${hex(addr)}`,
      "!pte_same: the PTE changed, nothing installed",
    );
    k.pages.putPage(page); // mem_cgroup_cancel_charge(); put_page(new_page)
  }
  await mmuNotifierInvalidateRangeEnd(range); // mmu_notifier_invalidate_range_only_end()
  if (oldPage !== null) k.pages.putPage(oldPage); // the reference do_wp_page took
}

/**
 * arch/x86/mm/fault.c: do_user_addr_fault() @5.5 -> handle_mm_fault(), as a user-space load
 * or store meets it (the access itself has no kernel original). Take mmap_sem for read, fault the page in if needed, read
 * or write its data word. Returns the data read (or written), or "sigsegv". A fault that
 * returns without installing the PTE (a lost race) is followed by the same access again,
 * as the hardware re-executes the instruction.
 */
export async function cpuAccess(
  mm: MmStruct,
  addr: number,
  write: boolean,
  value?: number,
): Promise<number | "sigsegv"> {
  const k = mm.kernel;
  await mm.mmapSem.downRead();
  // The hardware faults on any access the VMA forbids (PROT_NONE, a write to read-only),
  // present PTE or not; handle_mm_fault then refuses it (access_error() -> SIGSEGV).
  const vma = mm.vmaAt(addr);
  let r: VmFault = vma === undefined || !vma.flags.read || (write && !vma.flags.write) ? "sigsegv" : "ok";
  for (;;) {
    if (r !== "ok") break;
    const pte = mm.pt.get(addr);
    if (pte !== undefined && (!write || pte.write)) break;
    r = await handleMmFault(mm, addr, write);
  }
  let data: number | "sigsegv" = "sigsegv";
  if (r === "ok") {
    const cur = mm.pt.get(addr)!;
    if (write) cur.page.data = value ?? cur.page.data + 1;
    data = cur.page === k.zeroPage ? 0 : cur.page.data;
  }
  await mm.mmapSem.upRead();
  return data;
}
