/**
 * mmap(2): mm/mmap.c do_mmap() -> mmap_region() @5.5 under mmap_sem for write. A new mapping
 * has no PTEs yet, so nothing to invalidate — unless it replaces an old mapping (MAP_FIXED
 * over existing VMAs): mmap_region first runs do_munmap() on that range (detach, an
 * MMU_NOTIFY_UNMAP invalidation around the zap, then ->close of the detached VMAs). A file
 * mapping calls the driver's ->mmap (call_mmap) on the new VMA before it is linked; when that
 * fails, whatever the driver mapped is undone by unmap_region() and the VMA is not linked.
 */
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { removeVma } from "../mm/split-vma.ts";
import { Vma } from "../mm/vma.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { describeRange, rangeInit } from "../notifier/range.ts";
import { detachVmas, freePgtables, tlbFinishMmu, zapPteRange } from "./zap.ts";

/** The struct file of a device mapping: its ->mmap sets vm_ops and vm_private_data. */
export interface MmapFile {
  readonly name: string;
  /** file->f_op->mmap(file, vma): 0 or -errno; called with mmap_sem held for write. */
  mmap(vma: Vma): Promise<number>;
}

export interface MmapOptions {
  read: boolean;
  write: boolean;
  /** MAP_SHARED rather than MAP_PRIVATE. */
  shared?: boolean;
  /** A file (device) mapping at page offset `pgoff`, rather than anonymous memory. */
  file?: MmapFile;
  pgoff?: number;
}

/** mm/mmap.c: unmap_region() @5.5 — an UNMAP invalidation around the zap, then the TLB flush. */
async function unmapRegion(mm: MmStruct, start: number, end: number): Promise<void> {
  const range = rangeInit(mm, "UNMAP", start, end);
  await mmuNotifierInvalidateRangeStart(range);
  const pages = await zapPteRange(mm, start, end);
  await mmuNotifierInvalidateRangeEnd(range);
  freePgtables(mm, start, end);
  tlbFinishMmu(mm, pages);
}

/** mm/mmap.c: do_mmap() with MAP_FIXED (anonymous, or of `prot.file`) @5.5 — 0 or -errno. */
export async function mmap(mm: MmStruct, start: number, len: number, prot: MmapOptions): Promise<number> {
  const k = mm.kernel;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  k.ex.trace(
    "call",
    "mmap",
    mm.name,
    `${describeRange({ start, end })}${prot.file ? ` ${prot.file.name}` : ""}`,
  );
  await mm.mmapSem.downWrite();
  if (mm.findVmaIntersection(start, end) !== undefined) {
    // mmap_region(): "Clear old maps" — do_munmap() of whatever the new mapping replaces.
    const detached = detachVmas(mm, start, end);
    await unmapRegion(mm, start, end);
    for (const v of detached) await removeVma(v); // remove_vma_list()
  }
  const vma = new Vma(start, end, { read: prot.read, write: prot.write, shared: prot.shared ?? false });
  if (prot.file !== undefined) {
    vma.vmFile = prot.file;
    vma.vmPgoff = prot.pgoff ?? 0;
    const err = await prot.file.mmap(vma); // call_mmap()
    if (err !== 0) {
      // unmap_and_free_vma: "Undo any partial mapping done by a device driver."
      vma.vmFile = null;
      await unmapRegion(mm, start, end);
      await mm.mmapSem.upWrite();
      return err;
    }
  }
  await k.ex.point("vma_link", mm.name, describeRange({ start, end }));
  mm.vmas.push(vma);
  mm.vmas.sort((a, b) => a.start - b.start);
  await mm.mmapSem.upWrite();
  return 0;
}
