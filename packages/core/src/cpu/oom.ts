/**
 * The OOM reaper: mm/oom_kill.c __oom_reap_task_mm() @5.5. It only trylocks mmap_sem for
 * read, and for each VMA issues a non-blockable UNMAP start: on -EAGAIN it skips the VMA
 * (and issues no end); otherwise it zaps and ends. Returns false when a VMA was skipped
 * (the reaper retries later; the models stop there).
 */
import type { MmStruct } from "../mm/mm.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStartNonblock,
} from "../notifier/mmu-notifier.ts";
import { rangeInit } from "../notifier/range.ts";
import { tlbFinishMmu, zapPteRange } from "./zap.ts";

// mm/oom_kill.c: oom_reap_task_mm() (the mmap_sem trylock) -> __oom_reap_task_mm() @5.5
export async function oomReapTaskMm(mm: MmStruct): Promise<boolean> {
  const k = mm.kernel;
  k.ex.trace("call", "__oom_reap_task_mm", mm.name);
  if (!(await mm.mmapSem.downReadTrylock())) return false;
  let ret = true;
  for (const v of [...mm.vmas]) {
    // mm/oom_kill.c: reaps `vma_is_anonymous(vma) || !(vma->vm_flags & VM_SHARED)`, skipping
    // VM_LOCKED/VM_HUGETLB/VM_PFNMAP (can_madv_lru_vma). No VMA of the model is locked, hugetlb
    // or pfnmap. Every shared VMA is skipped: a driver's mapping has vm_ops, and shared
    // anonymous memory is shmem-backed (shmem_vm_ops), so vma_is_anonymous() is false for both.
    if (!(v.isAnonymous || !v.flags.shared)) continue;
    const range = rangeInit(mm, "UNMAP", v.start, v.end);
    if ((await mmuNotifierInvalidateRangeStartNonblock(range)) !== 0) {
      ret = false;
      continue;
    }
    const pages = await zapPteRange(mm, v.start, v.end);
    await mmuNotifierInvalidateRangeEnd(range);
    tlbFinishMmu(mm, pages);
  }
  await mm.mmapSem.upRead();
  return ret;
}
