/**
 * The parts of hfi1 expected receive that 3889551db212 left alone, shared by both variants:
 * the context (struct hfi1_ctxtdata: exp_mutex, the RcvArray, the event page), the file
 * (struct hfi1_filedata: entry_to_rb[], invalid_tids[] under invalid_lock, tid_lock,
 * tid_used/tid_limit, tid_n_pinned, the cached mm), the tidinfo encoding, and the TID node's
 * common fields. drivers/infiniband/hw/hfi1/{hfi.h,user_exp_rcv.h,user_exp_rcv.c} @5.4.
 *
 * Simplification (said once here): the RcvArray group lists (tid_group_list, tid_used_list,
 * tid_full_list of groups of dd->rcv_entries.group_size entries, complete groups programmed
 * first) are collapsed into one per-context allocation map under exp_mutex. No notifier path
 * reads them; they decide only which entry a chunk gets.
 */
import { type HasLifetime, type Kernel, type MmStruct, mmdrop, mmgrab, type Page } from "@mnlab/core";
import { Mutex, SharedCell, SpinLock } from "@mnlab/sim";
import { RcvArray } from "../rcvarray.ts";

/** include/uapi/rdma/hfi/hfi1_user.h @5.4: the TID event bit in the per-process event word. */
export const HFI1_EVENT_TID_MMU_NOTIFY_BIT = 1 << 0;

/** drivers/infiniband/hw/hfi1/user_exp_rcv.h @5.4: tidinfo fields. */
const EXP_TID_TIDLEN_SHIFT = 0;
const EXP_TID_TIDLEN_MASK = 0x7ff;
const EXP_TID_TIDCTRL_SHIFT = 20;
const EXP_TID_TIDCTRL_MASK = 0x3;
const EXP_TID_TIDIDX_SHIFT = 22;
const EXP_TID_TIDIDX_MASK = 0x3ff;

/** rcventry2tidinfo() | EXP_TID_SET(LEN, npages) @5.4 */
export function tidinfoOf(rcventry: number, npages: number): number {
  const idx = rcventry >> 1;
  const ctrl = 1 << (rcventry & 1);
  return (
    ((idx & EXP_TID_TIDIDX_MASK) << EXP_TID_TIDIDX_SHIFT) |
    ((ctrl & EXP_TID_TIDCTRL_MASK) << EXP_TID_TIDCTRL_SHIFT) |
    ((npages & EXP_TID_TIDLEN_MASK) << EXP_TID_TIDLEN_SHIFT)
  );
}

/** EXP_TID_GET(tidinfo, IDX/CTRL/LEN) @5.4 */
export function tidinfoFields(tidinfo: number): { idx: number; ctrl: number; len: number } {
  return {
    idx: (tidinfo >>> EXP_TID_TIDIDX_SHIFT) & EXP_TID_TIDIDX_MASK,
    ctrl: (tidinfo >>> EXP_TID_TIDCTRL_SHIFT) & EXP_TID_TIDCTRL_MASK,
    len: (tidinfo >>> EXP_TID_TIDLEN_SHIFT) & EXP_TID_TIDLEN_MASK,
  };
}

/** The fields of struct tid_rb_node both versions have (the notifier part is the variant's). */
export interface TidNode extends HasLifetime {
  readonly name: string;
  /** The chunk's first VA: node->mmu.addr @5.4, node->notifier.interval_tree.start @5.5. */
  readonly vaddr: number;
  readonly npages: number;
  readonly rcventry: number;
  readonly phys: number;
  readonly dmaAddr: number;
  readonly pages: readonly Page[];
  /** Model: the mm whose pages were pinned (current->mm at TID_UPDATE), what the entry is judged against. */
  readonly pinMm: MmStruct;
  /** Oracle: tid_rb_invalidate wrote this TID into invalid_tids (PSM has been or will be told). */
  reported: boolean;
  /** Oracle: PSM asked for this TID to be freed (TID_FREE reached it): PSM no longer relies on it. */
  released: boolean;
}

/** struct hfi1_ctxtdata @5.4, the expected-receive part. */
export class HfiCtxtData {
  /** uctxt->exp_mutex: the TID group lists and the RcvArray programming. */
  readonly expMutex: Mutex;
  readonly rcvArray: RcvArray;
  /** Allocation of RcvArray entries (stands in for the group lists), under exp_mutex. */
  readonly entryUsed: boolean[];
  /**
   * dd->events + uctxt_offset + subctxt: the word PSM maps read-only and polls. Set and
   * cleared with set_bit/clear_bit under invalid_lock, read by user space without it.
   */
  readonly events: SharedCell<number>;

  constructor(
    readonly kernel: Kernel,
    readonly expectedBase: number,
    readonly expectedCount: number,
  ) {
    this.expMutex = new Mutex(kernel.ex, "uctxt->exp_mutex", "hfi1_ctxtdata->exp_mutex");
    this.rcvArray = new RcvArray(kernel, expectedBase, expectedCount);
    this.entryUsed = new Array<boolean>(expectedCount).fill(false);
    this.events = new SharedCell(kernel.ex, "dd->events[ctxt]", 0);
  }
}

/** struct hfi1_filedata @5.4/5.5, the expected-receive part; N is the version's tid_rb_node. */
export class HfiFiledata<N extends TidNode> {
  /** fd->entry_to_rb[]: RcvArray index -> node. */
  entryToRb: (N | null)[];
  /** fd->invalid_tids[] and invalid_tid_idx, guarded by invalid_lock. */
  invalidTids: number[] | null;
  invalidTidIdx = 0;
  readonly invalidLock: SpinLock;
  /** fd->tid_lock: tid_used and tid_limit. */
  readonly tidLock: SpinLock;
  tidUsed = 0;
  tidLimit: number;
  /** fd->tid_n_pinned: pages pinned for TIDs (plain field: setup and free are not meant to overlap). */
  tidNPinned = 0;
  /** Oracle/metric: integral of tid_n_pinned over virtual time, and its maximum. */
  pinnedTicks = 0;
  pinnedMax = 0;
  private pinnedSince = 0;
  /** The file has been released (hfi1_file_close ran). */
  closed = false;
  /** Oracle: hfi1_user_exp_rcv_free has begun: the file's user has let go of every TID. */
  releasing = false;
  /** Oracle: nodes unpinned, by name, to check "unpinned exactly once". */
  readonly unpinned = new Set<string>();

  constructor(
    readonly kernel: Kernel,
    readonly uctxt: HfiCtxtData,
    /** fd->mm: current->mm at open, held with mmgrab() until close. */
    readonly mm: MmStruct,
  ) {
    this.entryToRb = new Array<N | null>(uctxt.expectedCount).fill(null);
    this.invalidTids = null;
    this.tidLimit = uctxt.expectedCount;
    this.invalidLock = new SpinLock(kernel.ex, "fd->invalid_lock", "hfi1_filedata->invalid_lock");
    this.tidLock = new SpinLock(kernel.ex, "fd->tid_lock", "hfi1_filedata->tid_lock");
  }

  /** fd->tid_n_pinned += n (n may be negative), with the pinned-pages-over-time metric. */
  addPinned(n: number): void {
    const now = this.kernel.ex.now;
    this.pinnedTicks += this.tidNPinned * (now - this.pinnedSince);
    this.pinnedSince = now;
    this.tidNPinned += n;
    if (this.tidNPinned > this.pinnedMax) this.pinnedMax = this.tidNPinned;
    this.kernel.ex.trace("note", "tid_n_pinned", undefined, String(this.tidNPinned));
  }

  /**
   * Oracle: the RcvArray entry of `node` may reference a page the CPU no longer maps there —
   * its TID was queued in invalid_tids (reference 2.5), or its user has given it up (TID_FREE
   * or the file's release is tearing it down: the window between the notifier's removal and
   * clear_tid_node, which the reference's H3 and H7 rows expect to be safe).
   */
  revoked(node: TidNode): boolean {
    return node.reported || node.released || this.releasing;
  }

  /** Close the pinned-time integral (at file close). */
  settlePinned(): void {
    this.addPinned(0);
  }
}

/** drivers/infiniband/hw/hfi1/file_ops.c: hfi1_file_open() @5.4 — fd->mm = current->mm; mmgrab(). */
export async function hfi1FileOpenMm(mm: MmStruct): Promise<void> {
  await mmgrab(mm);
}

/** drivers/infiniband/hw/hfi1/file_ops.c: hfi1_file_close() @5.4 — the final mmdrop(fdata->mm). */
export async function hfi1FileCloseMm(mm: MmStruct): Promise<void> {
  await mmdrop(mm);
}
