/**
 * The DeviceModel contract on an open hfi1 file, and PSM — the user-space library that owns
 * the TIDs — as the contract's caller (shared by both variants; the kernel side is the
 * variant's). hfi1 has no fault path: TID_UPDATE (setup) pins and programs in one ioctl, so
 *   open        open("/dev/hfi1_0") + HFI1_IOCTL_ASSIGN_CTXT -> hfi1_user_exp_rcv_init;
 *   register    PSM notes a receive buffer (no kernel call);
 *   populate    PSM's TID_UPDATE of the range — setup plays the populate role. When it
 *               fails, PSM handles its invalidation events (TID_INVAL_READ, TID_FREE of the
 *               TIDs listed) and tries again, up to PSM_SETUP_ATTEMPTS times; each new try
 *               is a populate retry;
 *   access      the NIC places a received word through the TID covering the address;
 *   unregister  PSM handles pending events, then TID_FREEs the buffer's TIDs;
 *   close       hfi1_file_close -> hfi1_user_exp_rcv_free, mmdrop(fd->mm).
 * PSM's behaviour is not kernel code and is not in the reference: it is the smallest user
 * that frees what it is told to free (hfi1's TIDs are a cache user space must drop).
 */
import {
  type AccessResult,
  type BufferHandle,
  type DeviceContext,
  type Kernel,
  type MmStruct,
  PAGE_SIZE,
  POPULATE_RETRY,
} from "@mnlab/core";
import {
  HFI1_EVENT_TID_MMU_NOTIFY_BIT,
  type HfiCtxtData,
  type HfiFiledata,
  type TidNode,
  tidinfoFields,
} from "./common/hfi.ts";
import { hfi1UserExpRcvInvalid, type SetupResult } from "./common/user-exp-rcv.ts";

/** How many TID_UPDATEs PSM makes for one buffer before giving up. */
export const PSM_SETUP_ATTEMPTS = 3;
/** RcvArray entries of the modelled context (expected_count). */
export const EXPECTED_COUNT = 8;

/** The kernel entry points of one variant on one open file. */
export interface Hfi1Kernel {
  readonly fd: HfiFiledata<TidNode>;
  /** TID_UPDATE issued by a task whose mm is `current`. */
  tidUpdate(current: MmStruct, vaddr: number, length: number): Promise<SetupResult>;
  /** TID_FREE */
  tidFree(tidlist: readonly number[]): Promise<number>;
  /** hfi1_file_close's expected-receive part (hfi1_user_exp_rcv_free). */
  free(): Promise<void>;
}

/** A TID as PSM knows it. */
export interface PsmTid {
  readonly tidinfo: number;
  readonly rcventry: number;
  readonly vaddr: number;
  readonly npages: number;
  readonly mm: MmStruct;
}

export interface Hfi1Buffer extends BufferHandle {
  tids: PsmTid[];
}

/** The PSM side of one open file. */
export class Psm {
  /** TIDs PSM holds (got from TID_UPDATE, not yet freed). */
  readonly owned = new Map<number, { tid: PsmTid; buf: Hfi1Buffer }>();

  constructor(
    readonly kernel: Kernel,
    readonly hfi: Hfi1Kernel,
    readonly uctxt: HfiCtxtData,
  ) {}

  /** TID_UPDATE of [vaddr, vaddr + length) for buf, from `current`; PSM records the TIDs on success. */
  async update(buf: Hfi1Buffer, current: MmStruct, vaddr: number, length: number): Promise<number> {
    const r = await this.hfi.tidUpdate(current, vaddr, length);
    if (r.ret !== 0) return r.ret;
    let va = vaddr;
    for (const tidinfo of r.tidlist) {
      const f = tidinfoFields(tidinfo);
      const tid: PsmTid = {
        tidinfo,
        rcventry: (f.idx << 1) + (f.ctrl - 1),
        vaddr: va,
        npages: f.len,
        mm: current,
      };
      va += f.len * PAGE_SIZE;
      buf.tids.push(tid);
      this.owned.set(tidinfo, { tid, buf });
    }
    return 0;
  }

  /** TID_FREE of TIDs PSM holds, forgetting them. */
  async free(tids: readonly number[]): Promise<number> {
    if (tids.length === 0) return 0;
    for (const t of tids) {
      const o = this.owned.get(t);
      if (o === undefined) continue;
      this.owned.delete(t);
      o.buf.tids = o.buf.tids.filter((x) => x.tidinfo !== t);
    }
    return this.hfi.tidFree(tids);
  }

  /**
   * PSM's progress check: if the event bit is set, TID_INVAL_READ and TID_FREE of the TIDs
   * listed that PSM still holds. Returns how many it freed.
   */
  async handleEvents(): Promise<number> {
    const ev = await this.uctxt.events.load();
    if ((ev & HFI1_EVENT_TID_MMU_NOTIFY_BIT) === 0) return 0;
    const list = await hfi1UserExpRcvInvalid(this.hfi.fd);
    if (typeof list === "number") return 0;
    const mine = [...new Set(list)].filter((t) => this.owned.has(t));
    if (list.length !== new Set(list).size) this.kernel.ex.count("hfi1.duplicate_invalid_tids");
    await this.free(mine);
    return mine.length;
  }

  /** The TID of buf covering addr, the most recent first (5.5 may have several). */
  tidAt(buf: Hfi1Buffer, addr: number): PsmTid | undefined {
    for (let i = buf.tids.length - 1; i >= 0; i--) {
      const t = buf.tids[i]!;
      if (addr >= t.vaddr && addr < t.vaddr + t.npages * PAGE_SIZE) return t;
    }
    return undefined;
  }
}

/** The open file of each execution's kernel, for scenarios that issue ioctls directly. */
const opened = new WeakMap<Kernel, { hfi: Hfi1Kernel; psm: Psm }>();

/** The hfi1 file the harness opened on this kernel (scenarios: direct TID_UPDATE from a child, PSM). */
export function hfi1Of(k: Kernel): { hfi: Hfi1Kernel; psm: Psm } {
  const o = opened.get(k);
  if (o === undefined) throw new Error("hfi1Of: no hfi1 file was opened on this kernel");
  return o;
}

/** The DeviceContext of an open hfi1 file, with PSM as its user; `hfi` and `psm` for scenarios. */
export function hfi1Context(
  k: Kernel,
  mm: MmStruct,
  uctxt: HfiCtxtData,
  hfi: Hfi1Kernel,
  closeMm: () => Promise<void>,
): DeviceContext {
  const psm = new Psm(k, hfi, uctxt);
  const fd = hfi.fd;
  opened.set(k, { hfi, psm });
  // Reference 2.5 invariants: tid_n_pinned returns to 0 at close (unpinned-once is checked
  // where pages are unpinned, in unpin_rcv_pages).
  k.ex.atExit("leak", () =>
    fd.closed && fd.tidNPinned !== 0 ? `fd->tid_n_pinned is ${fd.tidNPinned} after hfi1_file_close` : null,
  );
  return {
    get mmus() {
      return uctxt.rcvArray.mmus;
    },
    async register(start, len) {
      const b: Hfi1Buffer = { start, end: start + len, tids: [] };
      return b;
    },
    async populate(buf, start, end) {
      const b = buf as Hfi1Buffer;
      for (let attempt = 1; ; attempt++) {
        const ret = await psm.update(b, mm, start, end - start);
        if (ret === 0 || attempt === PSM_SETUP_ATTEMPTS) return ret;
        if ((await psm.handleEvents()) === 0) return ret;
        k.ex.count(POPULATE_RETRY);
      }
    },
    async access(buf, addr, write): Promise<AccessResult | number> {
      const t = psm.tidAt(buf as Hfi1Buffer, addr);
      if (t === undefined) return { ok: false, fault: "not-mapped" };
      return uctxt.rcvArray.receive(t.rcventry, t.mm, addr, write);
    },
    async unregister(buf) {
      const b = buf as Hfi1Buffer;
      await psm.handleEvents();
      await psm.free(b.tids.map((t) => t.tidinfo));
    },
    async close() {
      // drivers/infiniband/hw/hfi1/file_ops.c: hfi1_file_close() @5.4: ... hfi1_user_exp_rcv_free(fdata); ... mmdrop(fdata->mm)
      await hfi.free();
      await closeMm();
      fd.closed = true;
      fd.settlePinned();
      k.ex.count("hfi1.pinned_page_ticks", fd.pinnedTicks);
      k.ex.count("hfi1.pinned_max", fd.pinnedMax);
    },
  };
}
