/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c as far as 5.4 and 5.5 agree: the setup flow
 * (pin everything first, find physically contiguous power-of-two chunks, program them under
 * exp_mutex, unpin what was not programmed), TID_FREE's loop, TID_INVAL_READ, the queueing
 * half of tid_rb_invalidate, clear_tid_node and the pin/unpin helpers. The version-specific
 * steps — set_rcvarray_entry's insert, unprogram_rcvarray's removal, the invalidate
 * callback's entry, init and free — are the variants' (src/legacy, src/interval), because
 * they are what 3889551db212 changed.
 */
import {
  EFAULT,
  EINVAL,
  errname,
  getUserPages,
  hex,
  kfree,
  type MmStruct,
  PAGE_SIZE,
  type Page,
  touch,
} from "@mnlab/core";
import {
  HFI1_EVENT_TID_MMU_NOTIFY_BIT,
  type HfiFiledata,
  type TidNode,
  tidinfoFields,
  tidinfoOf,
} from "./hfi.ts";

/** include/uapi/asm-generic/errno-base.h: EBADF (core's errno table has no entry for it). */
export const EBADF = -9;

/** include/uapi/rdma/hfi/hfi1_user.h: MAX_EXPECTED_BUFFER (2 MB) in pages. */
const MAX_EXPECTED_PAGES = (2048 * 1024) / PAGE_SIZE;

/** struct tid_user_buf @5.4 */
export interface TidUserBuf {
  vaddr: number;
  length: number;
  npages: number;
  pages: Page[];
  psets: { idx: number; count: number }[];
}

/** A use of a struct the driver may already have kfree()d: KASAN's report. */
export function touchNode(fd: HfiFiledata<TidNode>, node: TidNode, access: string): void {
  touch(fd.kernel, node, access);
}

/**
 * drivers/infiniband/hw/hfi1/user_pages.c: hfi1_acquire_user_pages() @5.4 —
 * get_user_pages_fast(FOLL_LONGTERM | FOLL_WRITE) on current->mm (not fd->mm: fd->mm only
 * gets the pinned_vm accounting). The FOLL_LONGTERM fast path falls back to
 * __gup_longterm_unlocked, which takes current->mm's mmap_sem for read. Modelled as a pin
 * (FOLL_PIN, the 5.6 name of the same references) so that pins are counted.
 */
async function hfi1AcquireUserPages(
  current: MmStruct,
  vaddr: number,
  npages: number,
): Promise<{ ret: number; pages: Page[] }> {
  await current.mmapSem.downRead();
  const gup = await getUserPages(current, vaddr, npages, { write: true, pin: true });
  await current.mmapSem.upRead();
  return { ret: gup.ret, pages: gup.pages.map((p) => p.page) };
}

/** drivers/infiniband/hw/hfi1/user_pages.c: hfi1_release_user_pages() @5.4 (put_user_pages_dirty_lock). */
function hfi1ReleaseUserPages(fd: HfiFiledata<TidNode>, pages: readonly Page[]): void {
  for (const p of pages) fd.kernel.pages.unpinPage(p);
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: pin_rcv_pages() @5.4 */
async function pinRcvPages(fd: HfiFiledata<TidNode>, current: MmStruct, tidbuf: TidUserBuf): Promise<number> {
  const npages = Math.ceil((tidbuf.vaddr + tidbuf.length) / PAGE_SIZE) - Math.floor(tidbuf.vaddr / PAGE_SIZE);
  if (npages === 0) return EINVAL;
  if (npages > fd.uctxt.expectedCount) return EINVAL; // "Expected buffer too big"
  // access_ok() and hfi1_can_pin_pages() (RLIMIT_MEMLOCK) always pass in the model.
  fd.kernel.gfpKernelAlloc(); // kcalloc(npages, sizeof(*pages), GFP_KERNEL)
  const { ret: pinned, pages } = await hfi1AcquireUserPages(current, tidbuf.vaddr, npages);
  if (pinned <= 0) return pinned;
  tidbuf.pages = pages;
  tidbuf.npages = npages;
  fd.addPinned(pinned);
  return pinned;
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: find_phys_blocks() @5.4 */
function findPhysBlocks(tidbuf: TidUserBuf, npages: number): number {
  const pages = tidbuf.pages;
  if (npages === 0) return 0;
  let setcount = 0;
  let pfn = pages[0]!.pfn;
  let pageidx = 0;
  let pagecount = 1;
  for (let i = 1; i <= npages; i++) {
    const thisPfn = i < npages ? pages[i]!.pfn : 0;
    if (thisPfn !== ++pfn) {
      while (pagecount > 0) {
        let maxpages = pagecount;
        if (pagecount > MAX_EXPECTED_PAGES) maxpages = MAX_EXPECTED_PAGES;
        else if ((pagecount & (pagecount - 1)) !== 0) maxpages = 2 ** Math.floor(Math.log2(pagecount));
        tidbuf.psets[setcount] = { idx: pageidx, count: maxpages };
        pagecount -= maxpages;
        pageidx += maxpages;
        setcount++;
      }
      pageidx = i;
      pagecount = 1;
      pfn = thisPfn;
    } else {
      pagecount++;
    }
  }
  return setcount;
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: unpin_rcv_pages() @5.4 — of a node (mapped:
 * DMA-unmap first) or of the setup buffer's unprogrammed tail.
 */
export function unpinRcvPages(
  fd: HfiFiledata<TidNode>,
  tidbuf: TidUserBuf | null,
  node: TidNode | null,
  idx: number,
  npages: number,
  mapped: boolean,
): void {
  let pages: readonly Page[];
  if (mapped) {
    const n = node!;
    touchNode(fd, n, "unpin_rcv_pages");
    if (fd.unpinned.has(n.name)) fd.kernel.ex.fail("use-after-free", `${n.name}: unpinned a second time`);
    fd.unpinned.add(n.name);
    // pci_unmap_single(dd->pcidev, node->dma_addr, ...): the IOMMU mapping is not modelled.
    pages = n.pages.slice(idx, idx + npages);
  } else {
    pages = tidbuf!.pages.slice(idx, idx + npages);
  }
  hfi1ReleaseUserPages(fd, pages);
  fd.addPinned(-npages);
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: clear_tid_node() @5.4 (5.5 the same) —
 * invalidate the RcvArray entry with a flush, unmap and unpin, fix the group accounting,
 * kfree the node.
 */
export async function clearTidNode(fd: HfiFiledata<TidNode>, node: TidNode): Promise<void> {
  touchNode(fd, node, "clear_tid_node");
  fd.kernel.ex.trace(
    "note",
    "hfi1_exp_tid_unreg",
    node.name,
    `rcventry ${node.rcventry} ${hex(node.vaddr)} n=${node.npages}`,
  );
  await fd.uctxt.rcvArray.putTidInvalidFlush(node.rcventry, node.pinMm);
  unpinRcvPages(fd, null, node, 0, node.npages, true);
  // node->grp->used--; node->grp->map &= ~(1 << ...); tid_group_move(...)
  fd.uctxt.entryUsed[node.rcventry - fd.uctxt.expectedBase] = false;
  kfree(fd.kernel, node, "clear_tid_node: kfree(node)");
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: cacheless_tid_rb_remove() @5.4 (5.5 the same)
 * — and 5.4's tid_rb_remove(), the mmu_rb ops->remove, which is just this.
 */
export async function cachelessTidRbRemove(fd: HfiFiledata<TidNode>, node: TidNode): Promise<void> {
  fd.entryToRb[node.rcventry - fd.uctxt.expectedBase] = null;
  await clearTidNode(fd, node);
}

/**
 * The body of tid_rb_invalidate() after the `freed` test, identical in 5.4 and 5.5: under
 * invalid_lock append the TID to invalid_tids (if there is room) and set the event bit on
 * the first entry. The HW entry and the pins stay.
 */
export async function queueInvalidTid(fd: HfiFiledata<TidNode>, node: TidNode): Promise<void> {
  const uctxt = fd.uctxt;
  fd.kernel.ex.trace(
    "note",
    "hfi1_exp_tid_inval",
    node.name,
    `rcventry ${node.rcventry} ${hex(node.vaddr)} n=${node.npages}`,
  );
  await fd.invalidLock.lock();
  const tids = fd.invalidTids;
  if (tids === null) {
    await fd.invalidLock.unlock();
    return fd.kernel.bug(
      `tid_rb_invalidate(${node.name}): fd->invalid_tids is NULL (freed by hfi1_user_exp_rcv_free)`,
    );
  }
  if (fd.invalidTidIdx < uctxt.expectedCount) {
    tids[fd.invalidTidIdx] = tidinfoOf(node.rcventry - uctxt.expectedBase, node.npages);
    node.reported = true;
    fd.kernel.ex.count("hfi1.tids_queued");
    if (fd.invalidTidIdx === 0) {
      // set_bit(_HFI1_EVENT_TID_MMU_NOTIFY_BIT, ev): PSM sees it without any kernel lock.
      await uctxt.events.rmw("set_bit", (ev) => ev | HFI1_EVENT_TID_MMU_NOTIFY_BIT);
    }
    fd.invalidTidIdx++;
  }
  await fd.invalidLock.unlock();
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_invalid() @5.4 (TID_INVAL_READ)
 * — copy the list to a local buffer under invalid_lock (copy_to_user may sleep), reset it
 * and clear the event bit while still holding the lock ("otherwise, PSM can miss events").
 */
export async function hfi1UserExpRcvInvalid(fd: HfiFiledata<TidNode>): Promise<number[] | number> {
  const uctxt = fd.uctxt;
  fd.kernel.gfpKernelAlloc(); // kcalloc(uctxt->expected_count, ...)
  await fd.invalidLock.lock();
  let array: number[] = [];
  const tids = fd.invalidTids;
  if (tids === null) {
    await fd.invalidLock.unlock();
    return EFAULT;
  }
  if (fd.invalidTidIdx > 0) {
    array = tids.slice(0, fd.invalidTidIdx);
    tids.fill(0, 0, fd.invalidTidIdx);
    fd.invalidTidIdx = 0;
    await uctxt.events.rmw("clear_bit", (ev) => ev & ~HFI1_EVENT_TID_MMU_NOTIFY_BIT);
  }
  await fd.invalidLock.unlock();
  fd.kernel.ex.trace("note", "TID_INVAL_READ", undefined, array.map((t) => hex(t)).join(" "));
  return array;
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: unprogram_rcvarray() @5.4, the decoding and
 * lookup both versions share; `remove` is the version's removal of the node.
 */
export async function unprogramRcvarray(
  fd: HfiFiledata<TidNode>,
  tidinfo: number,
  remove: (node: TidNode) => Promise<void>,
): Promise<number> {
  const uctxt = fd.uctxt;
  const { idx, ctrl } = tidinfoFields(tidinfo);
  const tididx = idx << 1;
  if (tididx >= uctxt.expectedCount) return EINVAL;
  if (ctrl === 0x3) return EINVAL;
  const rcventry = tididx + (ctrl - 1);
  const node = fd.entryToRb[rcventry];
  if (node === null || node === undefined || node.rcventry !== uctxt.expectedBase + rcventry) return EBADF;
  node.released = true;
  await remove(node);
  return 0;
}

/** drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_clear() @5.4 (TID_FREE) */
export async function hfi1UserExpRcvClear(
  fd: HfiFiledata<TidNode>,
  tidlist: readonly number[],
  remove: (node: TidNode) => Promise<void>,
): Promise<number> {
  if (tidlist.length > fd.tidUsed) return EINVAL;
  fd.kernel.gfpKernelAlloc(); // memdup_user()
  fd.kernel.ex.trace("call", "TID_FREE", undefined, tidlist.map((t) => hex(t)).join(" "));
  let ret = 0;
  await fd.uctxt.expMutex.lock();
  let tididx = 0;
  for (; tididx < tidlist.length; tididx++) {
    ret = await unprogramRcvarray(fd, tidlist[tididx]!, remove);
    if (ret !== 0) break; // "Failed to unprogram rcv array"
  }
  await fd.tidLock.lock();
  fd.tidUsed -= tididx;
  await fd.tidLock.unlock();
  await fd.uctxt.expMutex.unlock();
  fd.kernel.ex.trace("ret", "TID_FREE", undefined, errname(ret));
  return ret;
}

/** What TID_UPDATE hands back to user space: on success, the TIDs and the length mapped. */
export interface SetupResult {
  ret: number;
  /** Copied out only when ret == 0 (user_exp_rcv_setup() in file_ops.c copies tidcnt on success only). */
  tidlist: number[];
  length: number;
}

/**
 * drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_setup() @5.4 (TID_UPDATE), the
 * same in 5.5 but for set_rcvarray_entry: pin all pages first, find the chunks, then under
 * exp_mutex give each chunk an RcvArray entry. As in program_rcvarray(), the entry is counted
 * used and its tidinfo listed before set_rcvarray_entry runs, and a failure returns without
 * undoing that (the entry stays allocated, tid_used counts it). Pages not programmed are
 * unpinned at the end.
 */
export async function hfi1UserExpRcvSetup(
  fd: HfiFiledata<TidNode>,
  current: MmStruct,
  vaddr: number,
  length: number,
  setRcvarrayEntry: (
    tidbuf: TidUserBuf,
    rcventry: number,
    pageidx: number,
    npages: number,
  ) => Promise<number>,
): Promise<SetupResult> {
  const k = fd.kernel;
  const uctxt = fd.uctxt;
  k.ex.trace("call", "TID_UPDATE", current.name, `${hex(vaddr)} +${hex(length)}`);
  if (vaddr % PAGE_SIZE !== 0) return { ret: EINVAL, tidlist: [], length: 0 };
  k.gfpKernelAlloc(); // kzalloc(tidbuf), kcalloc(psets)
  const tidbuf: TidUserBuf = { vaddr, length, npages: 0, pages: [], psets: [] };
  const pinned = await pinRcvPages(fd, current, tidbuf);
  if (pinned <= 0) {
    k.ex.trace("ret", "TID_UPDATE", current.name, errname(pinned));
    return { ret: pinned, tidlist: [], length: 0 };
  }
  const nPsets = findPhysBlocks(tidbuf, pinned);
  await fd.tidLock.lock();
  const pagesetCount = fd.tidUsed + nPsets > fd.tidLimit ? fd.tidLimit - fd.tidUsed : nPsets;
  await fd.tidLock.unlock();
  const tidlist: number[] = [];
  let ret = 0;
  let mappedPages = 0;
  if (pagesetCount > 0) {
    k.gfpKernelAlloc(); // kcalloc(pageset_count, sizeof(*tidlist))
    await uctxt.expMutex.lock();
    for (let setidx = 0; setidx < pagesetCount; setidx++) {
      const useidx = uctxt.entryUsed.indexOf(false);
      if (useidx < 0) break; // no RcvArray entry left in any group
      const rcventry = uctxt.expectedBase + useidx;
      const { idx: pageidx, count: npages } = tidbuf.psets[setidx]!;
      tidlist.push(tidinfoOf(useidx, npages));
      uctxt.entryUsed[useidx] = true; // grp->used++; grp->map |= 1 << useidx
      ret = await setRcvarrayEntry(tidbuf, rcventry, pageidx, npages);
      if (ret !== 0) break;
      mappedPages += npages;
    }
    await uctxt.expMutex.unlock();
    if (tidlist.length > 0) {
      await fd.tidLock.lock();
      fd.tidUsed += tidlist.length;
      await fd.tidLock.unlock();
    }
  }
  // "If not everything was mapped ... unpin all unmapped pages so we can pin them next time."
  if (mappedPages !== pinned) unpinRcvPages(fd, tidbuf, null, mappedPages, pinned - mappedPages, false);
  ret = Math.min(ret, 0); // "return ret > 0 ? 0 : ret"
  k.ex.trace(
    "ret",
    "TID_UPDATE",
    current.name,
    `${errname(ret)} tids=${tidlist.length} pages=${mappedPages}`,
  );
  return ret === 0 ? { ret, tidlist, length: mappedPages * PAGE_SIZE } : { ret, tidlist: [], length: 0 };
}
