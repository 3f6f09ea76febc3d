import { type Kernel, type MmStruct, PAGE_SHIFT, type Vma } from "@mnlab/core";
import type { GntdevGrantMap } from "./grant-map.ts";

/**
 * mm/memory.c: vm_map_pages_zero() @5.4 (HVM): vm_insert_page() of each map page — a
 * reference and a mapcount per PTE, as for any page.
 */
export async function vmMapPages(k: Kernel, mm: MmStruct, vma: Vma, map: GntdevGrantMap): Promise<void> {
  await k.ex.point("vm_map_pages_zero", mm.name, map.name);
  for (let i = 0; i < map.count && vma.start + (i << PAGE_SHIFT) < vma.end; i++) {
    const page = map.pages[i]!;
    k.pages.getPage(page);
    page.mapcount++;
    mm.pt.set(vma.start + (i << PAGE_SHIFT), page, vma.flags.write);
  }
}
