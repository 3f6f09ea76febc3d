/**
 * mmap(2) of anonymous memory: mm/mmap.c do_mmap() -> mmap_region() @5.5 under mmap_sem for
 * write. A new mapping has no PTEs yet, so nothing to invalidate — unless it replaces an old
 * mapping (MAP_FIXED over existing VMAs), which munmaps that range first (do_munmap inside
 * mmap_region: an MMU_NOTIFY_UNMAP invalidation) before the new VMA appears.
 */
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { describeRange, rangeInit } from "../notifier/range.ts";
import { detachVmas, tlbFinishMmu, zapPteRange } from "./zap.ts";

export interface MmapOptions {
  read: boolean;
  write: boolean;
  /** MAP_SHARED rather than MAP_PRIVATE. */
  shared?: boolean;
}

/** mm/mmap.c: do_mmap() with MAP_FIXED | MAP_ANONYMOUS @5.5 — returns 0. */
export async function mmap(mm: MmStruct, start: number, len: number, prot: MmapOptions): Promise<number> {
  const k = mm.kernel;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  k.ex.trace("call", "mmap", mm.name, describeRange({ start, end }));
  await mm.mmapSem.downWrite();
  if (mm.findVmaIntersection(start, end) !== undefined) {
    // mmap_region(): "Clear old maps" — do_munmap() of whatever the new mapping replaces.
    const range = rangeInit(mm, "UNMAP", start, end);
    await mmuNotifierInvalidateRangeStart(range);
    const pages = await zapPteRange(mm, start, end);
    await mmuNotifierInvalidateRangeEnd(range);
    tlbFinishMmu(mm, pages);
    detachVmas(mm, start, end);
  }
  await k.ex.point("vma_link", mm.name, describeRange({ start, end }));
  mm.addVma(start, end, { read: prot.read, write: prot.write, shared: prot.shared ?? false });
  await mm.mmapSem.upWrite();
  return 0;
}
