/**
 * A device's view of one process's memory: the shadow page table a driver programs (the
 * GPU VMM of nouveau, the MTT of an mlx5 MR, hfi1's TID entries, a xen grant map, a TTM
 * binding). Every device access goes through the oracles (reference core.md 6.3):
 *  - the page must not be freed (use-after-free);
 *  - the CPU must still map that page at that address (stale-access);
 *  - a write needs the CPU PTE to be writable (write-after-protect).
 * The same predicates are checked at rest — whenever the mm has no invalidation between
 * start and end, every entry must agree with the CPU page table (item 15) — by the check
 * installDeviceOracles() registers. An entry is judged by the page it points to, not by
 * how it was made: a mapping that still agrees with the CPU is harmless.
 *
 * For interval-notifier variants a mapping may carry the read-side section it came from;
 * the map is then checked to happen under the user lock, after a false read_retry with
 * that seq and no set_seq since (item 16, `unsafe-map`).
 */
import { type Holdable, NumericWatchKey } from "@mnlab/sim";
import type { Kernel } from "../kernel.ts";
import type { MmStruct } from "../mm/mm.ts";
import { hex, type Page } from "../mm/page.ts";
import type { MmuIntervalNotifier } from "../notifier/interval-notifier.ts";
import type { ViolationKind } from "./violations.ts";

/** One shadow PTE. */
export interface DeviceEntry {
  readonly addr: number;
  readonly page: Page;
  readonly write: boolean;
  /** Step at which it was programmed. */
  readonly mappedAt: number;
  /** The interval notifier and seq of the read-side section it came from, when given. */
  readonly via?: { notifier: string; seq: number };
}

/** A page as the driver obtained it: an hmm pfn entry, a GUP page, a grant. */
export interface MappablePage {
  readonly addr: number;
  readonly page: Page | null;
  readonly write: boolean;
}

/** The read-side section a mapping comes from (interval variants). */
export interface CollisionSection {
  notifier: MmuIntervalNotifier;
  seq: number;
  /** The user lock the invalidate callback takes around set_seq. */
  lock: Holdable & { heldBySelf(): boolean };
}

export type AccessResult = { ok: true; data: number } | { ok: false; fault: "not-mapped" | "read-only" };

export class DeviceMmu {
  private readonly entries = new Map<number, DeviceEntry>();
  /** The device context is closed: no entry may remain (end-of-run check). */
  closed = false;
  /**
   * The device can no longer reach these entries: its owner has quiesced it (a file release
   * that no ioctl or job can be inside any more) and only the teardown of the table is left.
   * The at-rest check skips a retired device — a table nobody can read is no stale access —
   * while an access through it is still judged. Set it only where the kernel driver can prove
   * the same; a device that may still DMA stays judged.
   */
  get retired(): boolean {
    return this.isRetired;
  }
  private isRetired = false;

  retire(): void {
    this.isRetired = true;
    this.version++;
  }
  /** Bumped by every map and unmap. */
  version = 0;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly mm: MmStruct,
  ) {
    kernel.devices.push(this);
  }

  get size(): number {
    return this.entries.size;
  }

  entry(addr: number): DeviceEntry | undefined {
    return this.entries.get(addr);
  }

  all(): IterableIterator<DeviceEntry> {
    return this.entries.values();
  }

  /**
   * Program shadow PTEs (PFNMAP, MTT write, TID program...). Pages that are not valid are
   * skipped. `writable: false` maps read-only whatever the CPU PTE allowed.
   */
  async map(
    pages: readonly MappablePage[],
    opts: { via?: CollisionSection; writable?: boolean } = {},
  ): Promise<number> {
    const ex = this.kernel.ex;
    await ex.point("device_map", this.name, `${pages.length} pages`);
    if (opts.via !== undefined && this.kernel.oracles.unsafeMap) this.checkSection(opts.via);
    let n = 0;
    for (const p of pages) {
      if (p.page === null) continue;
      const write = p.write && opts.writable !== false;
      const e: DeviceEntry =
        opts.via === undefined
          ? { addr: p.addr, page: p.page, write, mappedAt: ex.step }
          : {
              addr: p.addr,
              page: p.page,
              write,
              mappedAt: ex.step,
              via: { notifier: opts.via.notifier.name, seq: opts.via.seq },
            };
      this.entries.set(p.addr, e);
      this.version++;
      n++;
    }
    if (ex.tracing)
      ex.trace(
        "note",
        "device_map",
        this.name,
        pages.map((p) => `${hex(p.addr)}->${p.page ? hex(p.page.pfn) : "none"}`).join(" "),
      );
    return n;
  }

  private checkSection(s: CollisionSection): void {
    const ex = this.kernel.ex;
    const me = ex.self().id;
    const good = s.notifier.lastGoodRetry;
    if (!s.lock.heldBySelf()) {
      ex.fail("unsafe-map", `${this.name}: mapping under ${s.notifier.name} without holding ${s.lock.name}`);
    }
    if (good === null || good.thread !== me || good.seq !== s.seq) {
      ex.fail(
        "unsafe-map",
        `${this.name}: mapping under ${s.notifier.name} seq ${s.seq} without a false mmu_interval_read_retry since the last set_seq`,
      );
    }
  }

  /** Tear down shadow PTEs in [start, end) (PFNCLR, MTT zap, TID unprogram). */
  async unmap(start: number, end: number): Promise<number> {
    const ex = this.kernel.ex;
    await ex.point("device_unmap", this.name, ex.tracing ? `[${hex(start)}, ${hex(end)})` : undefined);
    let n = 0;
    for (const a of [...this.entries.keys()]) {
      if (a >= start && a < end) {
        this.entries.delete(a);
        this.version++;
        n++;
      }
    }
    return n;
  }

  /**
   * The device reads or writes the word at addr through its shadow PTE. A missing or
   * read-only entry is a device fault (returned); a bad one is an oracle failure.
   */
  async access(addr: number, write: boolean, value?: number): Promise<AccessResult> {
    const ex = this.kernel.ex;
    await ex.point(
      "device_access",
      this.name,
      ex.tracing ? `${write ? "write" : "read"} ${hex(addr)}` : undefined,
    );
    const e = this.entries.get(addr);
    if (e === undefined) return { ok: false, fault: "not-mapped" };
    if (write && !e.write) return { ok: false, fault: "read-only" };
    // The oracle below reads the CPU's PTE at addr, which no device lock orders against the
    // CPU side: the step touches the names the CPU side writes PTEs under (a range walk on
    // the mm's, a one-page operation on the page's; @mnlab/sim footprint.ts), so a partial-
    // order reduction walks the access both before and after a zap or a migration of it.
    ex.touch(this.mm.name);
    ex.touch(`${this.mm.name} ${hex(addr)}`);
    const bad = this.classify(e, write);
    if (bad !== null) ex.fail(bad.kind, `${this.name}: device ${write ? "write" : "read"} ${bad.message}`);
    if (write) e.page.data = value ?? e.page.data + 1;
    return { ok: true, data: e.page === this.kernel.zeroPage ? 0 : e.page.data };
  }

  /**
   * What is wrong with using entry e now (null: nothing), judged against the page the CPU
   * maps at its address (cpuPage: a present PTE, or the page a migration entry or a kept
   * swap-cache page stands for).
   */
  classify(e: DeviceEntry, write: boolean): { kind: ViolationKind; message: string } | null {
    const where = `${hex(e.addr)} -> pfn ${hex(e.page.pfn)}`;
    if (e.page.freed) return { kind: "use-after-free", message: `${where}: the page was freed` };
    const pte = this.cpuPage(e.addr);
    if (pte === undefined || pte.page !== e.page) {
      const now = pte === undefined ? "nothing" : `pfn ${hex(pte.page.pfn)}`;
      return { kind: "stale-access", message: `${where}: the CPU now maps ${now} there` };
    }
    if ((write || e.write) && !pte.write) {
      return {
        kind: "write-after-protect",
        message: `${where}: writable on the device, read-only on the CPU`,
      };
    }
    return null;
  }

  /**
   * The page the CPU maps at addr: the present PTE's, or the page a non-present entry still
   * stands for. Used by the at-rest check and by device accesses alike.
   *  - A migration entry (include/linux/swapops.h migration_entry_to_page() @5.5): until
   *    remove_migration_ptes() the data at addr is that page's — the CPU cannot touch it
   *    (its faults wait), and when migrate_page_move_mapping() refuses (an extra reference,
   *    such as the device's own GUP reference or pin) the same page is mapped back. The
   *    device entry goes bad only when a new page is mapped (stale, or use-after-free once
   *    the old page is freed). A device without a reference that wrote after the copy
   *    (migrate_page_copy) loses that write; it is then still caught, at
   *    remove_migration_ptes, since its entry points at the old page.
   *  - A swap entry whose page is still in the swap cache: the next CPU touch
   *    (do_swap_page -> lookup_swap_cache() @5.5) maps that same page back, so CPU and
   *    device see one page. Reclaim keeps it only while something holds an extra reference,
   *    and frees it (use-after-free for a device without one) otherwise. A swap entry whose
   *    page was freed stands for no page: the next fault maps a new one.
   * The write bit is the one the entry recorded (a migration entry records it; the model's
   * swap entry does too).
   */
  private cpuPage(addr: number): { page: Page; write: boolean } | undefined {
    const pte = this.mm.pt.get(addr);
    if (pte !== undefined) return pte;
    const swp = this.mm.pt.swapEntry(addr);
    return swp?.page === undefined ? undefined : { page: swp.page, write: swp.write };
  }
}

/**
 * Which device oracles judge a run. The semantic ones (use-after-free, stale-access,
 * write-after-protect, at an access and at rest) are always on; `unsafeMap: false` switches
 * off the protocol oracle (item 16), which flags a mapping made without the user lock or
 * without a false read_retry before its consequence shows, so that a run can show the
 * semantic oracles catch the same bugs on their own (issue 22, "each oracle has a second
 * line"). The harness takes it from RunOverrides.oraclesOff or MNLAB_ORACLES_OFF.
 */
export interface DeviceOracleOptions {
  unsafeMap?: boolean;
}

/** Names of the device oracles that can be switched off. */
export const SWITCHABLE_ORACLES = ["unsafe-map"] as const;
export type SwitchableOracle = (typeof SWITCHABLE_ORACLES)[number];

/**
 * The at-rest check (reference 6.3 item 15): whenever a device's mm has no invalidation
 * between start and end, each of its entries agrees with the CPU page table. Run after
 * every step. `deviceOracle` names the kind of the first bad entry found.
 */
export function installDeviceOracles(kernel: Kernel, opts: DeviceOracleOptions = {}): void {
  kernel.oracles.unsafeMap = opts.unsafeMap ?? true;
  // The verdict is a function of the entries, the PTEs, the pages' freed state and whether
  // an invalidation is open: re-check only when one of them moved since the last clean check
  // (skipUnchanged). The same key is the check's watch (sim checks.ts): a partial-order
  // reduction orders the steps that change it, and only those, against each other. A device the check skips (its
  // mm inside an invalidation, or retired) contributes only that it is skipped, so the PTE
  // changes between invalidate start and end do not count as seen; versions only grow, so an
  // equal key means nothing the check judges was written.
  // Taken at every point: numbers, the same key while none moves (@mnlab/sim NumericWatchKey).
  const w = new NumericWatchKey();
  const stateKey = (): string => {
    w.begin();
    w.push(kernel.pages.freedCount);
    for (const d of kernel.devices) {
      if (d.retired) w.push(-1);
      else if (d.mm.activeInvalidations !== 0) w.push(-2);
      else {
        w.push(d.version);
        w.push(d.mm.pt.version);
      }
    }
    return w.end();
  };
  kernel.ex.addCheck(
    "stale-access",
    () => {
      for (const d of kernel.devices) {
        if (d.retired || d.mm.activeInvalidations !== 0) continue;
        for (const e of d.all()) {
          const bad = d.classify(e, false);
          if (bad !== null) return { kind: bad.kind, message: `${d.name}: at rest, ${bad.message}` };
        }
      }
      return null;
    },
    { watch: stateKey, skipUnchanged: true },
  );
}
