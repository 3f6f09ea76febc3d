/**
 * The ODP DMA list as a device-state invariant, for both variants (issue 22). The reference
 * asks in every ODP run that no MTT entry point at a DMA address whose page was unmapped
 * from the mm (rdma-xen-drivers.md 1.5, invariants; core's oracles check the MTT); this is
 * the same rule one level down, on the DMA addresses themselves.
 *
 * ib_umem_odp_map_dma_single_page() (5.4 and 5.5) stores in dma_list[i] the address
 * ib_dma_map_page() returned for page_list[i]: from then on the HCA can reach that page
 * through the IOMMU, and the MTT is written from dma_list (mlx5_odp_populate_xlt). The
 * kernel's correctness rests on a rule umem_mutex enforces: the invalidation's callback
 * (mlx5_ib_invalidate_range, 5.4 from invalidate_range_start, 5.5 as the interval op) unmaps
 * dma_list over its range under umem_mutex, and a fault stores an entry only under
 * umem_mutex after a retry test that sees any callback that ran before it (5.4
 * ib_umem_mmu_notifier_retry; 5.5 mmu_interval_check_retry, after the callback's set_seq).
 * So once a callback has returned, no dma_list entry of its range refers to the page the
 * CPU stops mapping. In 5.5 an entry stored behind the callback's back (a fault that
 * DMA-maps without umem_mutex) survives the invalidation while the MTT stays safe
 * (read_retry under umem_mutex refuses the UMR): the umem keeps an IOMMU mapping of a page
 * the process no longer maps and that is freed (no page reference: put_user_page at the
 * end of map_dma_single_page); a fault of that slot that finds another page WARNs "got
 * different pages" and fails with -EAGAIN until an invalidation of the slot clears it; and
 * ib_umem_odp_unmap_dma_pages later ib_dma_unmap_page()s it and, if write-enabled,
 * set_page_dirty()s the freed page.
 *
 * Checked as core's device oracles check a shadow page table at rest (device-mmu.ts
 * installDeviceOracles; core.md 6.3 item 15): whenever the owning mm has no invalidation
 * between start and end, every dma_list entry of a live umem agrees with the CPU page
 * table: the page is not freed (use-after-free), the CPU maps that page at that address
 * (stale-access), and a write-enabled entry sits over a writable PTE (write-after-protect).
 * The page the CPU maps is judged as DeviceMmu.cpuPage() does (a present PTE, or the page a
 * migration or swap-cache entry stands for). A umem is judged until ib_umem_odp_release()
 * frees it with its dma_list.
 */

import { hex, type Kernel, type MmStruct, PAGE_SIZE, type Page, type ViolationKind } from "@mnlab/core";

/** What the check reads of an ib_umem_odp (the 5.4 and 5.5 structs both have it). */
export interface OdpDmaListView {
  readonly name: string;
  readonly owningMm: MmStruct;
  readonly start: number;
  readonly pageList: readonly (Page | null)[];
  readonly dmaList: readonly number[];
  readonly freed: boolean;
}

/** The footprint object of dma_list/page_list/npages: the steps that read or write them name it. */
export function dmaListObject(umem: { readonly name: string }): string {
  return `${umem.name}->dma_list`;
}

function cpuPage(mm: MmStruct, addr: number): { page: Page; write: boolean } | undefined {
  const pte = mm.pt.get(addr);
  if (pte !== undefined) return pte;
  const swp = mm.pt.swapEntry(addr);
  return swp?.page === undefined ? undefined : { page: swp.page, write: swp.write };
}

function judge(u: OdpDmaListView, writeBit: number): { kind: ViolationKind; message: string } | null {
  for (let i = 0; i < u.dmaList.length; i++) {
    const page = u.pageList[i] ?? null;
    if (page === null) continue; // a DMA address without a page is unmap's own WARN
    const dma = u.dmaList[i]!;
    const addr = u.start + i * PAGE_SIZE;
    const where = `${u.name}: at rest, dma_list[${i}] (${hex(addr)} -> pfn ${hex(page.pfn)})`;
    if (page.freed) return { kind: "use-after-free", message: `${where}: the page was freed` };
    const cpu = cpuPage(u.owningMm, addr);
    if (cpu === undefined || cpu.page !== page) {
      const now = cpu === undefined ? "nothing" : `pfn ${hex(cpu.page.pfn)}`;
      return {
        kind: "stale-access",
        message: `${where}: the CPU now maps ${now} there (an entry stored behind an invalidation's callback)`,
      };
    }
    if ((dma & writeBit) !== 0 && !cpu.write) {
      return { kind: "write-after-protect", message: `${where}: write-enabled, read-only on the CPU` };
    }
  }
  return null;
}

/** Install the check for the umems `umems()` returns (a device's, live or freed). */
export function installDmaListCheck(
  k: Kernel,
  umems: () => readonly OdpDmaListView[],
  writeBit: number,
): void {
  // What the verdict depends on: the entries, the PTEs, the pages' freed state and whether
  // an invalidation is open; also the check's cache key (skipUnchanged), as in
  // installDeviceOracles. No umem_mutex gating: every store and clear of an entry is one
  // step (map_dma_single_page, unmap_dma_pages), so no half-done update is visible, and
  // gating on the lock would make every umem_mutex acquire and release visible to the check.
  const watch = (): string => {
    let key = String(k.pages.freedCount);
    for (const u of umems()) {
      if (u.freed) key += "|f";
      else if (u.owningMm.activeInvalidations !== 0) key += "|a";
      else
        key += `|${u.owningMm.pt.version}:${u.dmaList.join(",")}:${u.pageList.map((p) => p?.pfn ?? 0).join(",")}`;
    }
    return key;
  };
  k.ex.addCheck(
    "stale-access",
    () => {
      for (const u of umems()) {
        if (u.freed || u.owningMm.activeInvalidations !== 0) continue;
        const bad = judge(u, writeBit);
        if (bad !== null) return bad;
      }
      return null;
    },
    { watch, skipUnchanged: true },
  );
}
