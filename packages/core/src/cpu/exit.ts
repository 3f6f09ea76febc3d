/**
 * Process exit. kernel/exit.c exit_mm() drops the task's mm_users reference (mmput); the
 * last reference runs mm/mmap.c exit_mmap() @5.5: __mmu_notifier_release() first (the
 * interval notifiers' RELEASE invalidation, then the classic ->release callbacks, after
 * which classic subscribers are off the list), then unmap_vmas() over everything — an UNMAP
 * invalidation that still reaches the interval tree (its notifiers stay until removed) —
 * and the pages are freed; then remove_vma() calls every VMA's ->close. No mmap_sem is
 * taken (the mm has no other users).
 */
import { ULONG_MAX } from "../interval-tree.ts";
import { type MmStruct, mmput } from "../mm/mm.ts";
import type { Page } from "../mm/page.ts";
import { removeVma } from "../mm/split-vma.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRelease,
} from "../notifier/mmu-notifier.ts";
import { rangeInit } from "../notifier/range.ts";
import { freePgtables, tlbFinishMmu, zapPteRange } from "./zap.ts";

/** mm/mmap.c: exit_mmap() @5.5 */
export async function exitMmap(mm: MmStruct): Promise<void> {
  const k = mm.kernel;
  k.ex.trace("call", "exit_mmap", mm.name);
  await mmuNotifierRelease(mm);
  const range = rangeInit(mm, "UNMAP", 0, ULONG_MAX);
  await mmuNotifierInvalidateRangeStart(range);
  const pages: Page[] = [];
  for (const v of mm.vmas) pages.push(...(await zapPteRange(mm, v.start, v.end)));
  await mmuNotifierInvalidateRangeEnd(range);
  tlbFinishMmu(mm, pages);
  const vmas = mm.vmas;
  mm.vmas = [];
  freePgtables(mm, 0, ULONG_MAX);
  for (const v of vmas) await removeVma(v);
  mm.exited = true;
}

/** kernel/exit.c: exit_mm() @5.5 — the task lets go of its address space. */
export async function exitTask(mm: MmStruct): Promise<void> {
  mm.kernel.ex.trace("call", "exit_mm", mm.name);
  if (mm.tasks <= 0) throw new Error(`exit_task: no task of ${mm.name} is left to exit`);
  mm.tasks--; // current->mm = NULL
  await mmput(mm);
}
