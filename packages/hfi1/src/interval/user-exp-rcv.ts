/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c after 3889551db212 ("RDMA/hfi1: Use
 * mmu_interval_notifier_insert for user_exp_rcv", 5.5). fd->handler becomes `use_mn`; each
 * tid_rb_node embeds an mmu_interval_notifier over exactly its chunk's VA span of fd->mm and
 * a back-pointer to its file; the per-file tree, LRU and handler registration are gone, and
 * overlapping TIDs are allowed (each has its own notifier).
 *
 * Modelled as merged, FIXMEs included:
 *  - set_rcvarray_entry inserts the notifier after the pages were pinned, then calls
 *    mmu_interval_read_begin() and discards the value; nothing ever calls read_retry. The
 *    merged comment: "FIXME: This is in the wrong order, the notifier should be established
 *    before the pages are pinned by pin_rcv_pages." An invalidation between the pin and the
 *    insert reaches no callback, and the entry is programmed with pages the CPU may no
 *    longer map, without the TID ever being queued for PSM.
 *  - tid_rb_invalidate takes only invalid_lock, ignores blockable, does not call
 *    mmu_interval_set_seq, and tests and sets node->freed without any lock.
 *  - teardown calls mmu_interval_notifier_remove() first (it waits out a running callback),
 *    then cacheless_tid_rb_remove() -> clear_tid_node().
 * Process exit reaches tid_rb_invalidate through the RELEASE invalidation of exit_mmap.
 *
 * Lock order: exp_mutex -> (insert: mmap_sem for the mm's first registration). Callback:
 * invalid_lock only.
 */
import {
  EFAULT,
  hex,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  PAGE_SIZE,
  type Page,
} from "@mnlab/core";
import { SharedCell } from "@mnlab/sim";
import { type HfiCtxtData, HfiFiledata, type TidNode } from "../common/hfi.ts";
import {
  cachelessTidRbRemove,
  hfi1UserExpRcvClear,
  hfi1UserExpRcvSetup,
  queueInvalidTid,
  type SetupResult,
  type TidUserBuf,
  touchNode,
} from "../common/user-exp-rcv.ts";

/** The notifier embedded in a tid_rb_node @5.5: `node` is container_of(). */
export class TidNotifier extends MmuIntervalNotifier {
  constructor(readonly node: TidRbNode55) {
    super(`${node.name}->notifier`);
  }
}

/** struct tid_rb_node @5.5 */
export class TidRbNode55 implements TidNode {
  readonly notifier: TidNotifier;
  /** node->freed: tested and set by tid_rb_invalidate without any lock (plain C accesses). */
  readonly freed: SharedCell<boolean>;
  reported = false;
  released = false;
  readonly lifetime: Lifetime;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    /** node->fdata */
    readonly fdata: Filedata55,
    readonly vaddr: number,
    readonly npages: number,
    readonly rcventry: number,
    readonly phys: number,
    readonly dmaAddr: number,
    readonly pages: readonly Page[],
    readonly pinMm: MmStruct,
  ) {
    this.lifetime = new Lifetime(`struct tid_rb_node ${name}`);
    this.notifier = new TidNotifier(this);
    this.notifier.lifetime = this.lifetime; // embedded: freed with the node
    this.freed = new SharedCell(kernel.ex, `${name}->freed`, false);
  }
}

/** struct hfi1_filedata @5.5: `use_mn` replaces the handler. */
export class Filedata55 extends HfiFiledata<TidRbNode55> {
  useMn = false;
  nextNode = 0;
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: tid_rb_invalidate() @5.5 — the notifier op.
 * Spinlock only (invalid_lock), so it never refuses a non-blockable range; no set_seq.
 */
async function tidRbInvalidate(
  mni: MmuIntervalNotifier,
  _range: MmuNotifierRange,
  _curSeq: number,
): Promise<boolean> {
  const node = (mni as TidNotifier).node;
  const fdata = node.fdata;
  fdata.kernel.ex.count("hfi1.tid_rb_invalidate");
  touchNode(fdata, node, "tid_rb_invalidate");
  if (await node.freed.load()) return true;
  await node.freed.store(true);
  await queueInvalidTid(fdata, node);
  return true;
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: tid_mn_ops @5.5 */
const tidMnOps: MmuIntervalNotifierOps = { invalidate: tidRbInvalidate };

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_init() @5.5 — no registration: use_mn. */
export function hfi1UserExpRcvInit55(k: Kernel, uctxt: HfiCtxtData, mm: MmStruct): Filedata55 {
  const fd = new Filedata55(k, uctxt, mm);
  k.gfpKernelAlloc(); // kcalloc(entry_to_rb), kcalloc(invalid_tids)
  fd.invalidTids = new Array<number>(uctxt.expectedCount).fill(0);
  fd.invalidTidIdx = 0;
  fd.useMn = true;
  return fd;
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: set_rcvarray_entry() @5.5 — allocate the node,
 * DMA-map, insert the chunk's notifier on fd->mm, read_begin with the value discarded (the
 * FIXME), entry_to_rb, then program the RcvArray entry.
 */
async function setRcvarrayEntry55(
  fd: Filedata55,
  current: MmStruct,
  tbuf: TidUserBuf,
  rcventry: number,
  pageidx: number,
  npages: number,
): Promise<number> {
  const k = fd.kernel;
  const pages = tbuf.pages.slice(pageidx, pageidx + npages);
  k.gfpKernelAlloc(); // kzalloc(sizeof(*node) + npages pointers, GFP_KERNEL)
  const phys = pages[0]!.pfn * PAGE_SIZE; // page_to_phys(); pci_map_single() is the identity here
  const vaddr = tbuf.vaddr + pageidx * PAGE_SIZE;
  const node = new TidRbNode55(
    k,
    `tid_rb_node${fd.nextNode++}`,
    fd,
    vaddr,
    npages,
    rcventry,
    phys,
    phys,
    pages,
    current,
  );
  if (fd.useMn) {
    const ret = await mmuIntervalNotifierInsert(node.notifier, fd.mm, vaddr, npages * PAGE_SIZE, tidMnOps);
    if (ret !== 0) {
      k.ex.trace("note", "Failed to insert RB node", node.name, `${rcventry} ${hex(vaddr)} ${ret}`);
      kfree(k, node, "set_rcvarray_entry: kfree(node)"); // out_unmap, after pci_unmap_single()
      return EFAULT;
    }
    // FIXME: This is in the wrong order, the notifier should be established before the
    // pages are pinned by pin_rcv_pages.
    await mmuIntervalReadBegin(node.notifier);
  }
  fd.entryToRb[node.rcventry - fd.uctxt.expectedBase] = node;
  await fd.uctxt.rcvArray.putTidExpected(rcventry, current, vaddr, pages, {
    name: `TID ${rcventry} (${node.name})`,
    revoked: () => fd.revoked(node),
  });
  return 0;
}

/** TID_UPDATE from a task whose mm is `current`. */
export function tidUpdate55(
  fd: Filedata55,
  current: MmStruct,
  vaddr: number,
  length: number,
): Promise<SetupResult> {
  return hfi1UserExpRcvSetup(fd, current, vaddr, length, (tbuf, rcventry, pageidx, npages) =>
    setRcvarrayEntry55(fd, current, tbuf, rcventry, pageidx, npages),
  );
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: unprogram_rcvarray()'s removal @5.5 */
async function removeNode55(fd: Filedata55, node: TidNode): Promise<void> {
  const n = node as TidRbNode55;
  if (fd.useMn) await mmuIntervalNotifierRemove(n.notifier);
  await cachelessTidRbRemove(fd, n);
}

/** TID_FREE @5.5 */
export function tidFree55(fd: Filedata55, tidlist: readonly number[]): Promise<number> {
  return hfi1UserExpRcvClear(fd, tidlist, (node) => removeNode55(fd, node));
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: unlock_exp_tids() @5.5 — remove first, then clear. */
async function unlockExpTids55(fd: Filedata55): Promise<void> {
  for (let i = 0; i < fd.uctxt.expectedCount; i++) {
    if (!fd.uctxt.entryUsed[i]) continue;
    const node = fd.entryToRb[i];
    if (node === null || node === undefined || node.rcventry !== fd.uctxt.expectedBase + i) continue;
    if (fd.useMn) await mmuIntervalNotifierRemove(node.notifier);
    await cachelessTidRbRemove(fd, node);
  }
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_free() @5.5 — "The notifier
 * would have been removed when the process'es mm was freed": walk the groups, removing each
 * TID's notifier first; then kfree invalid_tids and entry_to_rb.
 */
export async function hfi1UserExpRcvFree55(fd: Filedata55): Promise<void> {
  fd.releasing = true;
  await unlockExpTids55(fd);
  fd.invalidTids = null;
  fd.entryToRb = [];
}
