/**
 * The process every scenario starts from: one private, read-write anonymous VMA at BASE,
 * every page already touched by the CPU (data word = page index + 1). Built directly,
 * before any thread runs: setup is not part of the race.
 */
import type { Kernel } from "../kernel.ts";
import type { MmStruct } from "../mm/mm.ts";
import { PAGE_SIZE } from "../mm/page.ts";

export const BASE = 0x100000;

export function setupProcess(k: Kernel, pages: number): MmStruct {
  const mm = k.createMm("proc");
  const vma = mm.addVma(BASE, BASE + pages * PAGE_SIZE, { read: true, write: true, shared: false });
  vma.anonVma = true; // the CPU wrote every page: do_anonymous_page() ran anon_vma_prepare()
  for (let i = 0; i < pages; i++) {
    const page = k.pages.allocPage(i + 1);
    page.mapcount = 1;
    mm.pt.set(BASE + i * PAGE_SIZE, page, true);
  }
  return mm;
}

/** Address of page i of the scenario's VMA. */
export function pageAddr(i: number): number {
  return BASE + i * PAGE_SIZE;
}
