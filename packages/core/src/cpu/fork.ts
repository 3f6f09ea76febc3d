/**
 * fork(2): kernel/fork.c dup_mmap() -> mm/memory.c copy_page_range() @5.5, under the parent's
 * mmap_sem for write (and the child's, nested). VM_DONTCOPY VMAs are left out; a copied VMA's
 * ->open is called, and it shares the parent's anon_vma (anon_vma_fork). copy_page_range():
 *  - "Don't copy ptes where a page fault will fill them correctly": a VMA without an
 *    anon_vma is skipped (no PTE copied, no invalidation) — a private VMA never written
 *    (at most zero-page PTEs), and every shared one (see below);
 *  - is_cow_mapping() (VM_MAYWRITE without VM_SHARED, read-only now or not) brackets the copy
 *    with an MMU_NOTIFY_PROTECTION_PAGE invalidation of the parent, whose writable PTEs become
 *    read-only and are shared read-only with the child.
 * Shared memory: the kernel leaves the child's PTEs empty and its faults find the same
 * shmem pages in the page cache. The model has no page cache, so it stands in for those
 * faults by giving the child the parent's PTEs as they are — same pages, same permissions,
 * no invalidation of the parent either way; only the child's fault count differs.
 */
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import type { Vma } from "../mm/vma.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { describeRange, rangeInit } from "../notifier/range.ts";

/** mm/memory.c: copy_page_range() @5.5 — one VMA's PTEs into the child. */
async function copyPageRange(child: MmStruct, parent: MmStruct, v: Vma): Promise<void> {
  const k = parent.kernel;
  if (!v.anonVma && !v.flags.shared) return;
  const isCow = v.isCow;
  const range = rangeInit(parent, "PROTECTION_PAGE", v.start, v.end);
  if (isCow) await mmuNotifierInvalidateRangeStart(range);
  await k.ex.point("copy_pte_range", parent.name, describeRange(range));
  for (let a = v.start; a < v.end; a += PAGE_SIZE) {
    const pte = parent.pt.get(a);
    if (pte === undefined) continue;
    // copy_one_pte(): get_page() + page_dup_rmap() (vm_normal_page: not the zero page)
    if (pte.page !== k.zeroPage) {
      k.pages.getPage(pte.page);
      pte.page.mapcount++;
    }
    if (isCow) {
      parent.pt.wrprotect(a); // ptep_set_wrprotect() when pte_write()
      child.pt.set(a, pte.page, false);
    } else {
      child.pt.set(a, pte.page, pte.write);
    }
  }
  if (isCow) await mmuNotifierInvalidateRangeEnd(range);
}

/** kernel/fork.c: dup_mmap() @5.5 — returns the child's mm. */
export async function fork(parent: MmStruct, childName?: string): Promise<MmStruct> {
  const k = parent.kernel;
  k.ex.trace("call", "dup_mmap", parent.name);
  const child = k.createMm(childName ?? `${parent.name}.child`);
  await parent.mmapSem.downWrite();
  for (const v of parent.vmas) {
    if (v.flags.dontcopy) continue; // VM_DONTCOPY
    const nv = child.addVma(v.start, v.end, { ...v.flags });
    nv.vmOps = v.vmOps;
    nv.vmPrivateData = v.vmPrivateData;
    nv.vmFile = v.vmFile;
    nv.vmPgoff = v.vmPgoff;
    nv.anonVma = v.anonVma; // anon_vma_fork()
    nv.vmOps?.open?.(nv); // dup_mmap(): tmp->vm_ops->open(tmp)
    await copyPageRange(child, parent, v);
  }
  await parent.mmapSem.upWrite();
  return child;
}
