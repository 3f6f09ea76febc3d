/**
 * madvise(MADV_DONTNEED): mm/madvise.c madvise_dontneed_single_vma() -> zap_page_range() @5.5,
 * under mmap_sem for read: an MMU_NOTIFY_CLEAR invalidation around the zap; the VMA stays, and
 * the next touch faults in a fresh page.
 */
import type { MmStruct } from "../mm/mm.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { rangeInit } from "../notifier/range.ts";
import { tlbFinishMmu, zapPteRange } from "./zap.ts";

// mm/madvise.c: madvise_dontneed_single_vma() -> zap_page_range() @5.5 (madvise(MADV_DONTNEED))
export async function madviseDontneed(mm: MmStruct, start: number, len: number): Promise<number> {
  mm.kernel.ex.trace("call", "madvise(MADV_DONTNEED)", mm.name);
  await mm.mmapSem.downRead();
  const range = rangeInit(mm, "CLEAR", start, start + len);
  await mmuNotifierInvalidateRangeStart(range);
  const pages = await zapPteRange(mm, start, start + len);
  await mmuNotifierInvalidateRangeEnd(range);
  tlbFinishMmu(mm, pages);
  await mm.mmapSem.upRead();
  return 0;
}
