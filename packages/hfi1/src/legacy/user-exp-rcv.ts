/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c @5.4, the parts on the mmu_rb cache: the TID
 * node embeds an mmu_rb_node; the file's handler (one per open file unless the TID_UNMAP
 * capability turns caching off) is registered on fd->mm at init and unregistered at free;
 * set_rcvarray_entry inserts the node into the handler's tree, which refuses any overlap
 * (there is no filter op); TID_FREE removes it through hfi1_mmu_rb_remove; the invalidate op
 * marks the node freed and queues its TID for PSM under the handler spinlock, and leaves the
 * HW entry and the pins alone.
 *
 * Lock order: exp_mutex -> handler->lock (irqsave) -> invalid_lock. Notifier side: the
 * invalidator's mm locks -> handler->lock -> invalid_lock.
 */
import { EFAULT, hex, type Kernel, kfree, Lifetime, type MmStruct, PAGE_SIZE, type Page } from "@mnlab/core";
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
import {
  hfi1MmuRbInsert,
  hfi1MmuRbRegister,
  hfi1MmuRbRemove,
  hfi1MmuRbUnregister,
  type MmuRbHandler,
  MmuRbNode,
  type MmuRbOps,
} from "./mmu-rb.ts";

/** struct tid_rb_node @5.4: `mmu` is the embedded mmu_rb_node (container_of). */
export class TidRbNode54 extends MmuRbNode implements TidNode {
  /** node->freed: set by tid_rb_invalidate under the handler lock, its only reader. */
  freed = false;
  reported = false;
  released = false;
  readonly lifetime: Lifetime;

  constructor(
    readonly name: string,
    addr: number,
    readonly npages: number,
    readonly rcventry: number,
    readonly phys: number,
    readonly dmaAddr: number,
    readonly pages: readonly Page[],
    readonly pinMm: MmStruct,
  ) {
    super(addr, npages * PAGE_SIZE);
    this.lifetime = new Lifetime(`struct tid_rb_node ${name}`);
  }

  get vaddr(): number {
    return this.addr;
  }
}

/** struct hfi1_filedata @5.4: `handler` is NULL when caching is off or registration failed. */
export class Filedata54 extends HfiFiledata<TidRbNode54> {
  handler: MmuRbHandler<Filedata54, TidRbNode54> | null = null;
  nextNode = 0;
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: tid_rb_insert() @5.4 — ops->insert, under the handler lock. */
function tidRbInsert(fdata: Filedata54, node: TidRbNode54): number {
  fdata.entryToRb[node.rcventry - fdata.uctxt.expectedBase] = node;
  return 0;
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: tid_rb_remove() @5.4 — ops->remove. */
async function tidRbRemove(fdata: Filedata54, node: TidRbNode54): Promise<void> {
  await cachelessTidRbRemove(fdata, node);
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: tid_rb_invalidate() @5.4 — ops->invalidate, under
 * the handler lock. Never asks for removal (returns 0): the node stays in the tree, the HW
 * entry programmed and the pages pinned until PSM frees the TID.
 */
async function tidRbInvalidate(fdata: Filedata54, node: TidRbNode54): Promise<number> {
  fdata.kernel.ex.count("hfi1.tid_rb_invalidate");
  touchNode(fdata, node, "tid_rb_invalidate");
  if (node.freed) return 0;
  node.freed = true;
  await queueInvalidTid(fdata, node);
  return 0;
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: tid_rb_ops @5.4 */
const tidRbOps: MmuRbOps<Filedata54, TidRbNode54> = {
  insert: tidRbInsert,
  remove: tidRbRemove,
  invalidate: tidRbInvalidate,
};

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_init() @5.4 — entry_to_rb and
 * invalid_tids, then the mmu_rb handler on fd->mm (mmu_notifier_register takes mmap_sem for
 * write); "If the registration fails, continue without TID caching for this context."
 */
export async function hfi1UserExpRcvInit54(k: Kernel, uctxt: HfiCtxtData, mm: MmStruct): Promise<Filedata54> {
  const fd = new Filedata54(k, uctxt, mm);
  k.gfpKernelAlloc(); // kcalloc(entry_to_rb), kcalloc(invalid_tids)
  fd.invalidTids = new Array<number>(uctxt.expectedCount).fill(0);
  fd.invalidTidIdx = 0;
  const h = await hfi1MmuRbRegister(k, "fd->handler", fd, fd.mm, tidRbOps);
  if (typeof h === "number") k.ex.trace("note", "Failed MMU notifier registration", undefined, String(h));
  else fd.handler = h;
  return fd;
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: set_rcvarray_entry() @5.4 — allocate the node,
 * DMA-map the chunk, insert it into the handler's tree (refused on any overlap: -EFAULT for
 * this chunk), then program the RcvArray entry.
 */
async function setRcvarrayEntry54(
  fd: Filedata54,
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
  const node = new TidRbNode54(
    `tid_rb_node${fd.nextNode++}`,
    tbuf.vaddr + pageidx * PAGE_SIZE,
    npages,
    rcventry,
    phys,
    phys,
    pages,
    current,
  );
  const ret = fd.handler === null ? tidRbInsert(fd, node) : await hfi1MmuRbInsert(fd.handler, node);
  if (ret !== 0) {
    k.ex.trace("note", "Failed to insert RB node", node.name, `${rcventry} ${hex(node.addr)} ${ret}`);
    kfree(k, node, "set_rcvarray_entry: kfree(node)"); // after pci_unmap_single()
    return EFAULT;
  }
  await fd.uctxt.rcvArray.putTidExpected(rcventry, current, node.addr, pages, {
    name: `TID ${rcventry} (${node.name})`,
    revoked: () => fd.revoked(node),
  });
  return 0;
}

/** TID_UPDATE from a task whose mm is `current` (the pages are pinned from current->mm). */
export function tidUpdate54(
  fd: Filedata54,
  current: MmStruct,
  vaddr: number,
  length: number,
): Promise<SetupResult> {
  return hfi1UserExpRcvSetup(fd, current, vaddr, length, (tbuf, rcventry, pageidx, npages) =>
    setRcvarrayEntry54(fd, current, tbuf, rcventry, pageidx, npages),
  );
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: unprogram_rcvarray()'s removal @5.4 */
async function removeNode54(fd: Filedata54, node: TidNode): Promise<void> {
  const n = node as TidRbNode54;
  if (fd.handler === null) await cachelessTidRbRemove(fd, n);
  else await hfi1MmuRbRemove(fd.handler, n);
}

/** TID_FREE @5.4 */
export function tidFree54(fd: Filedata54, tidlist: readonly number[]): Promise<number> {
  return hfi1UserExpRcvClear(fd, tidlist, (node) => removeNode54(fd, node));
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: unlock_exp_tids() @5.4 — the cacheless teardown
 * (only when there is no handler), over the groups' used entries.
 */
async function unlockExpTids54(fd: Filedata54): Promise<void> {
  for (let i = 0; i < fd.uctxt.expectedCount; i++) {
    if (!fd.uctxt.entryUsed[i]) continue;
    const node = fd.entryToRb[i];
    if (node === null || node === undefined || node.rcventry !== fd.uctxt.expectedBase + i) continue;
    await cachelessTidRbRemove(fd, node);
  }
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_free() @5.4 — with a handler,
 * hfi1_mmu_rb_unregister (unregister, flush, remove every node); without one, walk the
 * groups. Then kfree invalid_tids and entry_to_rb.
 */
export async function hfi1UserExpRcvFree54(fd: Filedata54): Promise<void> {
  fd.releasing = true;
  if (fd.handler !== null) await hfi1MmuRbUnregister(fd.handler);
  else await unlockExpTids54(fd);
  fd.invalidTids = null;
  fd.entryToRb = [];
}
