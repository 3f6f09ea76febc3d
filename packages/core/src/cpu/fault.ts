/**
 * The CPU page-fault path, reduced to what mirrors observe: mm/memory.c handle_mm_fault() @5.5
 * for anonymous and shared memory. A read fault on untouched private memory maps the shared
 * zero page read-only; a write fault on a read-only PTE of a COW mapping either reuses the
 * page (mapped once) or copies it (wp_page_copy), which is an MMU_NOTIFY_CLEAR invalidation.
 * Caller holds mmap_sem for read.
 */
import type { MmStruct } from "../mm/mm.ts";
import { hex, PAGE_SIZE } from "../mm/page.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { rangeInit } from "../notifier/range.ts";

/** VM_FAULT_* reduced to the outcomes callers branch on. */
export type VmFault = "ok" | "sigsegv";

/** mm/memory.c: handle_mm_fault() @5.5 — one page at `addr` (page aligned). */
export async function handleMmFault(mm: MmStruct, addr: number, write: boolean): Promise<VmFault> {
  const k = mm.kernel;
  const vma = mm.vmaAt(addr);
  if (vma === undefined || !vma.flags.read || (write && !vma.flags.write)) return "sigsegv";
  await k.ex.point("handle_mm_fault", `${mm.name} ${hex(addr)}`, write ? "write" : "read");
  const swp = mm.pt.swapEntry(addr);
  if (swp?.kind === "migration") {
    // mm/migrate.c: migration_entry_wait() @5.5 — sleep until the page is back, then retry.
    await mm.migrationWq.waitEvent(() => mm.pt.swapEntry(addr)?.kind !== "migration");
    return handleMmFault(mm, addr, write);
  }
  if (swp?.kind === "swap") {
    // mm/memory.c: do_swap_page() @5.5 — a new page with the swapped-out data.
    const page = k.pages.allocPage(swp.data);
    page.mapcount = 1;
    mm.pt.set(addr, page, swp.write && vma.flags.write);
    return "ok";
  }
  const pte = mm.pt.get(addr);
  if (pte === undefined) {
    // do_anonymous_page(): read faults on private memory map the zero page.
    if (!write && !vma.flags.shared) {
      mm.pt.set(addr, k.zeroPage, false);
      return "ok";
    }
    const page = k.pages.allocPage();
    page.mapcount = 1;
    mm.pt.set(addr, page, vma.flags.write);
    return "ok";
  }
  if (!write || pte.write) return "ok";
  // do_wp_page(): 5.5 decides reuse on the map count (reuse_swap_page), not the refcount.
  if (pte.page !== k.zeroPage && (vma.flags.shared || pte.page.mapcount === 1)) {
    mm.pt.set(addr, pte.page, true); // wp_page_reuse(): upgrading needs no invalidation
    return "ok";
  }
  await wpPageCopy(mm, addr);
  return "ok";
}

/** mm/memory.c: wp_page_copy() @5.5 — break COW: new page, CLEAR invalidation, swap the PTE. */
async function wpPageCopy(mm: MmStruct, addr: number): Promise<void> {
  const k = mm.kernel;
  const old = mm.pt.get(addr)!;
  const page = k.pages.allocPage(old.page === k.zeroPage ? 0 : old.page.data);
  page.mapcount = 1;
  const range = rangeInit(mm, "CLEAR", addr, addr + PAGE_SIZE);
  await mmuNotifierInvalidateRangeStart(range);
  await k.ex.point("ptep_clear_flush", `${mm.name} ${hex(addr)}`);
  const cur = mm.pt.get(addr);
  mm.pt.set(addr, page, true);
  await mmuNotifierInvalidateRangeEnd(range);
  if (cur !== undefined && cur.page !== k.zeroPage) {
    cur.page.mapcount--;
    k.pages.putPage(cur.page);
  }
}

/**
 * A CPU access from user space: take mmap_sem for read, fault the page in if needed, read
 * or write its data word. Returns the data read (or written), or "sigsegv".
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
  const pte = mm.pt.get(addr);
  if (r === "ok" && (pte === undefined || (write && !pte.write))) r = await handleMmFault(mm, addr, write);
  let data: number | "sigsegv" = "sigsegv";
  if (r === "ok") {
    const cur = mm.pt.get(addr)!;
    if (write) cur.page.data = value ?? cur.page.data + 1;
    data = cur.page === k.zeroPage ? 0 : cur.page.data;
  }
  await mm.mmapSem.upRead();
  return data;
}
