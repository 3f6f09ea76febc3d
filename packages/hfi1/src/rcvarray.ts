/**
 * The hfi1 RcvArray as the oracles see it (drivers/infiniband/hw/hfi1/init.c hfi1_put_tid()
 * @5.4/5.5 writes it): an array of expected-receive entries, each holding the DMA address
 * and size of one physically contiguous chunk of pinned user pages. The NIC writes received
 * packets through an entry long after it was programmed, so each entry is a device page
 * table (core's DeviceMmu) whose mappings say "page P is the user's memory at VA V in mm M".
 *
 * Why a DeviceMmu per (entry, mm) and not one per context: in 5.5 two TIDs may cover the
 * same VA (overlap is allowed), and a forked child programs TIDs over its own mm through
 * the parent's file; an entry is judged against the page table of the mm its pages were
 * pinned from (current->mm at TID_UPDATE), which is not always fd->mm.
 *
 * The oracle extension (reference rdma-xen-drivers.md 2.5, invariants). hfi1 is a caching
 * driver: its invalidate callback does not tear the entry down, it tells user space (PSM)
 * to free the TID, and the HW entry and the pins stay until TID_FREE. The reference's
 * invariant is therefore weaker than core's stale-access oracle: "a programmed RcvArray
 * entry never references a page that is no longer mapped at its VA unless that TID is in
 * invalid_tids". RcvArrayEntry expresses exactly that exemption, generically: an entry whose
 * owner says it has been revoked (reported to its user for freeing) may point at a page the
 * CPU no longer maps there. Nothing else is exempt: a freed page is still a use-after-free
 * (it cannot happen while pinned, so seeing one is a real bug), and a writable entry over a
 * page the CPU write-protected is still write-after-protect (the reference's exemption names
 * unmapped pages only). "In invalid_tids" is read as "queued there by tid_rb_invalidate and
 * not yet unprogrammed": once TID_INVAL_READ has handed the list to PSM the TID is out of
 * the array but PSM has been told, and the entry stays until PSM's TID_FREE. The proposed
 * core hook is the same predicate on DeviceMmu (see the package README section of the
 * report): `revoked?: (e: DeviceEntry) => boolean`, consulted only for the stale-access case.
 */

import type { ViolationKind } from "@mnlab/core";
import { type DeviceEntry, DeviceMmu, type Kernel, type MmStruct, PAGE_SIZE, type Page } from "@mnlab/core";

/** One RcvArray entry as programmed for one mm: a DeviceMmu with the revocation exemption. */
export class RcvArrayEntry extends DeviceMmu {
  /** Who currently owns the entry and whether it has been reported to PSM; null when invalid. */
  owner: { name: string; revoked: () => boolean } | null = null;

  override classify(e: DeviceEntry, write: boolean): { kind: ViolationKind; message: string } | null {
    const bad = super.classify(e, write);
    if (bad === null || bad.kind !== "stale-access") return bad;
    if (this.owner?.revoked() === true) return null;
    return {
      kind: bad.kind,
      message: `${bad.message}, and ${this.owner?.name ?? "its TID"} is not in invalid_tids`,
    };
  }
}

/** The RcvArray of one context: expected_count entries from expected_base. */
export class RcvArray {
  private readonly slots = new Map<string, RcvArrayEntry>();
  private readonly order: RcvArrayEntry[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly expectedBase: number,
    readonly expectedCount: number,
  ) {}

  /** Every entry ever programmed (for the harness's leak check at close). */
  get mmus(): readonly RcvArrayEntry[] {
    return this.order;
  }

  private slot(rcventry: number, mm: MmStruct): RcvArrayEntry {
    const key = `${rcventry}:${mm.name}`;
    let s = this.slots.get(key);
    if (s === undefined) {
      s = new RcvArrayEntry(this.kernel, `rcvarray[${rcventry}]@${mm.name}`, mm);
      this.slots.set(key, s);
      this.order.push(s);
    }
    return s;
  }

  /**
   * drivers/infiniband/hw/hfi1/init.c: hfi1_put_tid(dd, rcventry, PT_EXPECTED, phys, order)
   * @5.4 — program one entry with the chunk's pages (the device writes them: receive).
   */
  async putTidExpected(
    rcventry: number,
    mm: MmStruct,
    vaddr: number,
    pages: readonly Page[],
    owner: { name: string; revoked: () => boolean },
  ): Promise<void> {
    const s = this.slot(rcventry, mm);
    s.owner = owner;
    await s.map(pages.map((page, i) => ({ addr: vaddr + i * PAGE_SIZE, page, write: true })));
  }

  /**
   * drivers/infiniband/hw/hfi1/init.c: hfi1_put_tid(dd, rcventry, PT_INVALID_FLUSH, 0, 0)
   * @5.4 — invalidate the entry and flush, so the device has seen it before the unpin.
   */
  async putTidInvalidFlush(rcventry: number, mm: MmStruct): Promise<void> {
    const s = this.slot(rcventry, mm);
    await s.unmap(0, Number.MAX_SAFE_INTEGER);
    s.owner = null;
  }

  /** The NIC places a received word at addr through entry rcventry (a device access). */
  receive(rcventry: number, mm: MmStruct, addr: number, write: boolean) {
    return this.slot(rcventry, mm).access(addr, write);
  }
}
