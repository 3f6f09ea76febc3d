/**
 * mprotect(2): mm/mprotect.c do_mprotect_pkey() @5.5 under mmap_sem for write. Per VMA in
 * the range, mprotect_fixup() does nothing when the flags do not change; otherwise it splits
 * the VMA at the range's edges, sets the new flags, and change_protection() rewrites the PTEs.
 * The MMU_NOTIFY_PROTECTION_VMA invalidation comes from change_pmd_range(), once per PUD-sized
 * chunk, starting at the chunk's first populated PMD (a page of PTEs exists, empty or not) and
 * ending at the chunk's end; a chunk with no populated PMD gets none. Removing write makes
 * PTEs read-only; adding it leaves them read-only until the next write fault (private
 * memory: vm_page_prot of a private mapping is never writable). A hole in the range is
 * -ENOMEM, after the VMAs before it were changed. VMA merging (vma_merge) is not modelled.
 */
import { ENOMEM } from "../errno.ts";
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { PMD_SIZE, PUD_SIZE } from "../mm/page-table.ts";
import { splitVma } from "../mm/split-vma.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { describeRange, rangeInit } from "../notifier/range.ts";

/** mm/mprotect.c: change_protection_range() -> change_p4d/pud/pmd_range() @5.5 */
async function changeProtection(mm: MmStruct, start: number, end: number, write: boolean): Promise<void> {
  const k = mm.kernel;
  for (let addr = start; addr < end; ) {
    const next = Math.min(end, (Math.floor(addr / PUD_SIZE) + 1) * PUD_SIZE); // pud_addr_end()
    // change_pmd_range(): `if (!range.start) { mmu_notifier_range_init(&range, ..., addr, end);
    // mmu_notifier_invalidate_range_start(&range); }` at the first PMD that is not none.
    let first: number | undefined;
    for (let a = addr; a < next; a = Math.min(next, (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE)) {
      if (mm.pt.pmdPopulated(a)) {
        first = a;
        break;
      }
    }
    if (first !== undefined) {
      const range = rangeInit(mm, "PROTECTION_VMA", first, next);
      await mmuNotifierInvalidateRangeStart(range);
      await k.ex.point("change_pte_range", mm.name, describeRange(range));
      if (!write) for (let a = first; a < next; a += PAGE_SIZE) mm.pt.wrprotect(a);
      await mmuNotifierInvalidateRangeEnd(range);
    }
    addr = next;
  }
}

/** mm/mprotect.c: do_mprotect_pkey() @5.5 (mprotect(2)) — 0 or -ENOMEM. */
export async function mprotect(
  mm: MmStruct,
  start: number,
  len: number,
  prot: { read: boolean; write: boolean },
): Promise<number> {
  const k = mm.kernel;
  const end = start + len;
  k.ex.trace(
    "call",
    "mprotect",
    mm.name,
    `${describeRange({ start, end })} ${prot.read ? "R" : "-"}${prot.write ? "W" : "-"}`,
  );
  await mm.mmapSem.downWrite();
  let ret = 0;
  let nstart = start;
  for (const v of mm.vmas.filter((x) => x.end > start && x.start < end)) {
    if (v.start > nstart) break; // a hole: -ENOMEM below
    if (v.flags.read !== prot.read || v.flags.write !== prot.write) {
      // mprotect_fixup(): __split_vma at start (new below) and at end (new above), so the
      // original object keeps the part whose protection changes.
      if (start > v.start) splitVma(mm, v, start, true);
      if (end < v.end) splitVma(mm, v, end, false);
      v.flags = { ...v.flags, read: prot.read, write: prot.write };
      await changeProtection(mm, v.start, v.end, prot.write);
    }
    nstart = Math.min(v.end, end);
  }
  if (nstart < end) ret = ENOMEM;
  await mm.mmapSem.upWrite();
  return ret;
}
