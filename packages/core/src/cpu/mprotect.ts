/**
 * mprotect(2): mm/mprotect.c mprotect_fixup() -> change_protection() @5.5. The VMA flags
 * change under mmap_sem for write; every present PTE of the range is covered by an
 * MMU_NOTIFY_PROTECTION_VMA invalidation (change_pmd_range issues it whenever a pmd is
 * populated, upgrades included). Removing write makes PTEs read-only; adding it leaves them
 * read-only until the next write fault, as for private memory.
 */
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { splitVma } from "../mm/split-vma.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { describeRange, rangeInit } from "../notifier/range.ts";

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
  // mprotect_fixup() per VMA: __split_vma at start (new below) and at end (new above), so the
  // original object keeps the part whose protection changes.
  for (const v of mm.vmas.filter((x) => x.end > start && x.start < end)) {
    if (start > v.start) splitVma(mm, v, start, true);
    if (end < v.end) splitVma(mm, v, end, false);
    v.flags = { ...v.flags, read: prot.read, write: prot.write };
  }
  const range = rangeInit(mm, "PROTECTION_VMA", start, end);
  await mmuNotifierInvalidateRangeStart(range);
  await k.ex.point("change_pte_range", mm.name, describeRange(range));
  if (!prot.write) for (let a = start; a < end; a += PAGE_SIZE) mm.pt.wrprotect(a);
  await mmuNotifierInvalidateRangeEnd(range);
  await mm.mmapSem.upWrite();
  return 0;
}
