/**
 * fork(2): kernel/fork.c dup_mmap() -> mm/memory.c copy_page_range() @5.5. Under the
 * parent's mmap_sem for write (and the child's, nested), each COW mapping gets an
 * MMU_NOTIFY_PROTECTION_PAGE invalidation on the parent while its writable PTEs are made
 * read-only and shared with the child. Shared mappings are copied as they are; VM_DONTCOPY
 * VMAs are left out, and a copied VMA's ->open is called.
 */
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from "../notifier/mmu-notifier.ts";
import { describeRange, rangeInit } from "../notifier/range.ts";

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
    nv.vmOps?.open?.(nv); // dup_mmap(): tmp->vm_ops->open(tmp)
    const range = rangeInit(parent, "PROTECTION_PAGE", v.start, v.end);
    if (v.isCow) await mmuNotifierInvalidateRangeStart(range);
    await k.ex.point("copy_pte_range", parent.name, describeRange(range));
    for (let a = v.start; a < v.end; a += PAGE_SIZE) {
      const pte = parent.pt.get(a);
      if (pte === undefined) continue;
      if (pte.page !== k.zeroPage) {
        k.pages.getPage(pte.page);
        pte.page.mapcount++;
      }
      if (v.isCow) {
        parent.pt.wrprotect(a);
        child.pt.set(a, pte.page, false);
      } else {
        child.pt.set(a, pte.page, pte.write);
      }
    }
    if (v.isCow) await mmuNotifierInvalidateRangeEnd(range);
  }
  await parent.mmapSem.upWrite();
  return child;
}
