/**
 * The hypervisor, as the device of this driver: Xen's grant table as seen by dom0 (xen/common/
 * grant_table.c, arch/x86/mm.c). A frontend domain (domid 1) grants frames; gntdev maps them
 * with GNTTABOP_map_grant_ref and unmaps them with GNTTABOP_unmap_grant_ref.
 *
 *   PV (!XENFEAT_auto_translated_physmap, gntdev's use_ptemod): a user mapping is made with
 *     GNTMAP_contains_pte — Xen writes the grant PTE itself at the machine address gntdev
 *     recorded (find_grant_ptes) and keeps that pointer until the grant is unmapped. A kernel
 *     mapping of the page (kmap_ops, GNTMAP_host_map) is made alongside.
 *   HVM/PVH (auto-translated): the grant is mapped onto a ballooned pfn (GNTMAP_host_map);
 *     Linux maps that page into the process like any page (vm_map_pages).
 *
 * What Xen reports, and the model with it:
 *   - a grant PTE cleared or rewritten by Linux before its grant is unmapped — "Attempt to
 *     implicitly unmap a granted PTE" (arch/x86/mm.c put_page_from_l1e, which crashes the
 *     offending domain in current Xen): `stale-access`, checked after every step;
 *   - a pfn that still has a grant mapped on it freed by Linux: `use-after-free`;
 *   - an unmap of a handle it does not know (GNTST_bad_handle) or of a PTE that no longer
 *     holds the grant (GNTST_general_error): a non-zero status, which gntdev turns into -EINVAL.
 * The hypervisor's record of grant PTEs is a DeviceMmu per mm (entry = the PTE it wrote), so
 * core's device oracles also check it at rest and on every access.
 *
 * Model accounting: core's page table counts a reference and a mapcount for every PTE, and
 * zap_pte_range drops them. A grant PTE is special in Linux (no reference), so the PTE Xen
 * writes takes one that Xen's own clear or Linux's zap drops; pageCount() subtracts it again.
 */
import { DeviceMmu, hex, type Kernel, type Lifetime, type MmStruct, PAGE_SIZE, type Page } from "@mnlab/core";

export const DOMID_FRONTEND = 1;
/** include/xen/interface/grant_table.h status codes */
export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;

/** Where a mapping goes: a PTE (GNTMAP_contains_pte) or a frame (GNTMAP_host_map). */
export type GrantHost = { kind: "pte"; mm: MmStruct; addr: number } | { kind: "host"; page: Page };

/** struct gnttab_map_grant_ref */
export interface GnttabMapOp {
  host: GrantHost | null;
  readonly: boolean;
  ref: number;
  domid: number;
  /** The page Linux associates with the frame (map->pages[i]). */
  page: Page;
  handle: number;
  status: number;
}

/** struct gnttab_unmap_grant_ref */
export interface GnttabUnmapOp {
  host: GrantHost | null;
  handle: number;
  status: number;
}

interface GrantMapping {
  handle: number;
  ref: number;
  host: GrantHost;
  page: Page;
  /** Generation of the PTE Xen wrote (pte mappings). */
  gen: number;
  /** The gntdev map that owns it, for end-of-run checks. */
  owner: Lifetime;
}

export class Xen {
  private readonly live = new Map<number, GrantMapping>();
  private nextHandle = 1;
  private readonly ptes = new Map<MmStruct, DeviceMmu>();
  /** Hypercalls made, for metrics. */
  hypercalls = 0;
  /** Grant refs the frontend has ended access to (gnttab_end_foreign_access): maps fail. */
  readonly revoked = new Set<number>();

  constructor(
    readonly k: Kernel,
    /** xen_feature(XENFEAT_auto_translated_physmap): HVM/PVH. */
    readonly autoTranslated: boolean,
  ) {
    // Watches (@mnlab/sim checks.ts, for partial-order reduction): what each check reads —
    // the live mappings (immutable once made; handles are never reused), the page tables
    // they sit in, the pages' freed state.
    const handles = () => [...this.live.keys()].join(",");
    k.ex.addCheck("stale-access", () => this.checkGrantPtes(), {
      watch: () => `${handles()}|${k.mms.map((mm) => mm.pt.version).join(",")}`,
    });
    k.ex.addCheck("use-after-free", () => this.checkHostFrames(), {
      watch: () => `${handles()}|${k.pages.freedCount}`,
    });
    k.ex.atExit("leak", () => {
      for (const m of this.live.values()) {
        if (m.owner.freed !== null) {
          return `Xen: grant ref ${m.ref} still mapped (handle ${m.handle}) after ${m.owner.name} was freed`;
        }
      }
      return null;
    });
  }

  /** The hypervisor's record of the grant PTEs it wrote in mm (a device shadow table). */
  ptesOf(mm: MmStruct): DeviceMmu {
    let d = this.ptes.get(mm);
    if (d === undefined) {
      d = new DeviceMmu(this.k, `xen grant PTEs (${mm.name})`, mm);
      this.ptes.set(mm, d);
    }
    return d;
  }

  /** The frame content domain `domid` granted under `ref`. */
  grantedData(domid: number, ref: number): number {
    return 0xf000 + domid * 0x100 + ref;
  }

  /** Live mappings of handles, for tests. */
  get liveHandles(): number {
    return this.live.size;
  }

  /** page_count() as Linux sees it: the model's reference for a Xen-written PTE taken off. */
  pageCount(page: Page): number {
    let n = page.refcount;
    for (const m of this.live.values()) if (m.host.kind === "pte" && m.page === page) n--;
    return n;
  }

  /**
   * HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, ops, count): one hypercall, one
   * scheduling point; every op takes effect after it, atomically with the PTE record.
   */
  async mapGrantRef(ops: readonly GnttabMapOp[], owner: Lifetime): Promise<void> {
    const k = this.k;
    this.hypercalls++;
    k.ex.trace("call", "GNTTABOP_map_grant_ref", owner.name, `${ops.length} ops`);
    const ptes = new Map<MmStruct, { addr: number; page: Page; write: boolean }[]>();
    for (const op of ops) {
      if (op.host?.kind !== "pte" || this.revoked.has(op.ref)) continue;
      const l = ptes.get(op.host.mm) ?? [];
      l.push({ addr: op.host.addr, page: op.page, write: !op.readonly });
      ptes.set(op.host.mm, l);
    }
    if (ptes.size === 0) await k.ex.point("GNTTABOP_map_grant_ref", owner.name);
    for (const [mm, ws] of ptes) await this.ptesOf(mm).map(ws);
    for (const op of ops) {
      if (op.host === null) {
        op.status = GNTST_general_error;
        continue;
      }
      if (this.revoked.has(op.ref)) {
        op.status = GNTST_bad_gntref;
        continue;
      }
      const handle = this.nextHandle++;
      let gen = 0;
      op.page.data = this.grantedData(op.domid, op.ref);
      if (op.host.kind === "pte") {
        // GNTMAP_contains_pte: Xen writes the PTE at the recorded machine address.
        const { mm, addr } = op.host;
        if (mm.pt.get(addr) !== undefined)
          k.bug(`Xen: GNTMAP_contains_pte over a present PTE at ${hex(addr)}`);
        k.pages.getPage(op.page);
        op.page.mapcount++;
        gen = mm.pt.set(addr, op.page, !op.readonly).gen;
      }
      this.live.set(handle, { handle, ref: op.ref, host: op.host, page: op.page, gen, owner });
      op.handle = handle;
      op.status = GNTST_okay;
    }
  }

  /** HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, ops, count): one hypercall, as map. */
  async unmapGrantRef(ops: readonly GnttabUnmapOp[], what: string): Promise<void> {
    const k = this.k;
    this.hypercalls++;
    k.ex.trace("call", "GNTTABOP_unmap_grant_ref", what, `handles ${ops.map((o) => o.handle).join(",")}`);
    const spans = new Map<MmStruct, { lo: number; hi: number }>();
    for (const op of ops) {
      const m = this.live.get(op.handle);
      if (m?.host.kind !== "pte") continue;
      const { mm, addr } = m.host;
      const r = spans.get(mm) ?? { lo: addr, hi: addr + PAGE_SIZE };
      spans.set(mm, { lo: Math.min(r.lo, addr), hi: Math.max(r.hi, addr + PAGE_SIZE) });
    }
    if (spans.size === 0) await k.ex.point("GNTTABOP_unmap_grant_ref", what);
    for (const [mm, r] of spans) await this.ptesOf(mm).unmap(r.lo, r.hi);
    for (const op of ops) {
      const m = this.live.get(op.handle);
      if (m === undefined) {
        op.status = GNTST_bad_handle;
        continue;
      }
      if (m.host.kind === "pte") {
        const { mm, addr } = m.host;
        const pte = mm.pt.get(addr);
        if (pte === undefined || pte.gen !== m.gen) {
          // replace_grant_pte_mapping(): "PTE entry ... doesn't match frame"
          op.status = GNTST_general_error;
          continue;
        }
        mm.pt.clear(addr);
        m.page.mapcount--;
        k.pages.putPage(m.page);
      }
      this.live.delete(op.handle);
      op.status = GNTST_okay;
    }
  }

  private checkGrantPtes(): { kind: "stale-access"; message: string } | null {
    for (const m of this.live.values()) {
      if (m.host.kind !== "pte") continue;
      const pte = m.host.mm.pt.get(m.host.addr);
      if (pte !== undefined && pte.gen === m.gen) continue;
      const how =
        pte === undefined
          ? "Linux cleared it"
          : pte.page === m.page
            ? `Linux rewrote it (${pte.write ? "RW" : "RO"})`
            : `Linux replaced it with pfn ${hex(pte.page.pfn)}`;
      return {
        kind: "stale-access",
        message:
          `(XEN) Attempt to implicitly unmap a granted PTE at ${hex(m.host.addr)} in ${m.host.mm.name} ` +
          `(grant ref ${m.ref}, handle ${m.handle}, ${m.owner.name}): ${how} before GNTTABOP_unmap_grant_ref`,
      };
    }
    return null;
  }

  private checkHostFrames(): { kind: "use-after-free"; message: string } | null {
    for (const m of this.live.values()) {
      if (m.host.kind === "host" && m.page.freed) {
        return {
          kind: "use-after-free",
          message: `Xen: grant ref ${m.ref} (handle ${m.handle}) is still mapped on pfn ${hex(m.page.pfn)}, which Linux freed`,
        };
      }
    }
    return null;
  }
}
