/**
 * munmap(2): mm/mmap.c __do_munmap() @5.5 with downgrade (since 4.20): detach the VMAs under
 * mmap_sem for write, downgrade to read, then unmap_region() — an MMU_NOTIFY_UNMAP
 * invalidation around the PTE zap — and free the pages after the end (tlb_finish_mmu); then
 * remove_vma_list() calls each detached VMA's ->close, still under mmap_sem for read.
 *
 * `thpSplit` adds the nested invalidation __split_huge_pmd() issues (MMU_NOTIFY_CLEAR over
 * the huge page) inside the open UNMAP bracket, as when the unmapped range cuts a THP.
 */
import { EINVAL } from "../errno.ts";
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { removeVma } from "../mm/split-vma.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { rangeInit } from "../notifier/range.ts";
import { detachVmas, freePgtables, tlbFinishMmu, zapPteRange } from "./zap.ts";

export interface MunmapOptions {
  /** The huge page range split inside the UNMAP bracket (mm/huge_memory.c __split_huge_pmd @5.5). */
  thpSplit?: { start: number; end: number };
}

/** mm/mmap.c: __vm_munmap() @5.5 */
export async function munmap(
  mm: MmStruct,
  start: number,
  len: number,
  opts: MunmapOptions = {},
): Promise<number> {
  const k = mm.kernel;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  k.ex.trace("call", "munmap", mm.name, `[0x${start.toString(16)}, 0x${end.toString(16)})`);
  // __do_munmap(): `if ((offset_in_page(start)) || ...) return -EINVAL; len = PAGE_ALIGN(len);
  // if (len == 0) return -EINVAL;`
  if (start % PAGE_SIZE !== 0 || end === start) return EINVAL;
  await mm.mmapSem.downWrite();
  // "if it doesn't overlap, we have nothing..": no VMA in [start, end), no invalidation.
  const first = mm.findVma(start);
  if (first === undefined || first.start >= end) {
    await mm.mmapSem.upWrite();
    return 0;
  }
  const detached = detachVmas(mm, start, end);
  await mm.mmapSem.downgradeWrite();
  // unmap_region() -> unmap_vmas()
  const range = rangeInit(mm, "UNMAP", start, end);
  await mmuNotifierInvalidateRangeStart(range);
  if (opts.thpSplit !== undefined) {
    const split = rangeInit(mm, "CLEAR", opts.thpSplit.start, opts.thpSplit.end);
    await mmuNotifierInvalidateRangeStart(split);
    await k.ex.point("__split_huge_pmd_locked", mm.name);
    await mmuNotifierInvalidateRangeEnd(split);
  }
  const pages = await zapPteRange(mm, start, end);
  await mmuNotifierInvalidateRangeEnd(range);
  freePgtables(mm, start, end);
  tlbFinishMmu(mm, pages);
  for (const v of detached) await removeVma(v); // remove_vma_list()
  await mm.mmapSem.upRead();
  return 0;
}
