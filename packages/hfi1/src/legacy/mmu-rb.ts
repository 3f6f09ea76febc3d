/**
 * drivers/infiniband/hw/hfi1/mmu_rb.c @5.4: the generic pinned-range cache hfi1 builds on its
 * own mmu_notifier. One handler per user of the cache (a TID file, an SDMA queue): an
 * embedded classic mmu_notifier registered on the cached mm, an interval tree of
 * mmu_rb_nodes keyed on [addr & PAGE_MASK, PAGE_ALIGN(addr + len) - 1] under the irqsave
 * spinlock `lock`, the cache user's ops (insert, remove, invalidate; the optional filter
 * and evict are not used by TIDs), an LRU list, and del_list + del_work for nodes whose
 * invalidate asked to be removed. The notifier has only invalidate_range_start: no
 * invalidate_range_end and no release, so exit_mmap unhooks it (mn_hlist_release) without a
 * call and the cache learns nothing about the dying mm.
 */
import {
  EINVAL,
  hex,
  IntervalTree,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuNotifier,
  type MmuNotifierRange,
  mmuNotifierRegister,
  mmuNotifierUnregister,
  PAGE_SIZE,
  touch,
} from "@mnlab/core";
import { SpinLock, type ThreadHandle } from "@mnlab/sim";

/** struct mmu_rb_node @5.4 */
export class MmuRbNode {
  /** On the handler's LRU list or its del_list. */
  onList: "lru" | "del" | null = null;

  constructor(
    readonly addr: number,
    readonly len: number,
  ) {}

  /** The interval the tree keys the node on, half-open: [addr & PAGE_MASK, PAGE_ALIGN(addr + len)). */
  get span(): { start: number; end: number } {
    const start = this.addr - (this.addr % PAGE_SIZE);
    const end = Math.ceil((this.addr + this.len) / PAGE_SIZE) * PAGE_SIZE;
    return { start, end };
  }
}

/** struct mmu_rb_ops @5.4 (the members TIDs use). `arg` is the handler's ops_arg. */
export interface MmuRbOps<A, N extends MmuRbNode> {
  /** Called under the handler lock after the node entered the tree; non-zero undoes the insert. */
  insert(arg: A, node: N): number;
  /** Called without the handler lock once the node has left the tree. */
  remove(arg: A, node: N): Promise<void>;
  /** Called under the handler lock for every node the range meets; non-zero moves it to del_list. */
  invalidate(arg: A, node: N): Promise<number>;
}

/** struct mmu_rb_handler @5.4 */
export class MmuRbHandler<A, N extends MmuRbNode> {
  readonly mn: MmuNotifier;
  /** handler->root: rb_root_cached interval tree of mmu_rb_nodes. */
  readonly root = new IntervalTree<N>();
  /** handler->lock, taken with spin_lock_irqsave. */
  readonly lock: SpinLock;
  readonly lruList: N[] = [];
  readonly delList: N[] = [];
  /** handler->del_work queued on the port workqueue and not yet run. */
  private delWork: ThreadHandle | null = null;
  /** kfree()d at the end of hfi1_mmu_rb_unregister; the embedded mmu_notifier shares it. */
  readonly lifetime: Lifetime;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly mm: MmStruct,
    readonly ops: MmuRbOps<A, N>,
    readonly opsArg: A,
  ) {
    this.lock = new SpinLock(kernel.ex, `${name}->lock`, "mmu_rb_handler->lock");
    this.lifetime = new Lifetime(`struct mmu_rb_handler ${name}`);
    this.mn = new MmuNotifier(`${name}->mn`, {
      invalidateRangeStart: (_sub, range) => mmuNotifierRangeStart(this, range),
    });
    this.mn.lifetime = this.lifetime;
  }

  /** queue_work(handler->wq, &handler->del_work) */
  queueDelWork(): void {
    if (this.delWork !== null) return;
    this.delWork = this.kernel.ex.spawn("hfi1_wq: handle_remove", async () => {
      this.delWork = null;
      await handleRemove(this);
    });
  }

  /** flush_work(&handler->del_work) */
  async flushDelWork(): Promise<void> {
    if (this.delWork !== null) await this.delWork.join();
  }

  /** An access to the handler by modelled code (KASAN's check). */
  touch(access: string): void {
    touch(this.kernel, this, access);
  }
}

/** drivers/infiniband/hw/hfi1/mmu_rb.c: hfi1_mmu_rb_register() @5.4 */
export async function hfi1MmuRbRegister<A, N extends MmuRbNode>(
  k: Kernel,
  name: string,
  opsArg: A,
  mm: MmStruct,
  ops: MmuRbOps<A, N>,
): Promise<MmuRbHandler<A, N> | number> {
  k.gfpKernelAlloc(); // kmalloc(sizeof(*handlr), GFP_KERNEL)
  const handler = new MmuRbHandler(k, name, mm, ops, opsArg);
  const ret = await mmuNotifierRegister(handler.mn, mm);
  if (ret !== 0) {
    kfree(k, handler, "hfi1_mmu_rb_register: kfree(handlr)");
    return ret;
  }
  return handler;
}

/**
 * drivers/infiniband/hw/hfi1/mmu_rb.c: hfi1_mmu_rb_unregister() @5.4 — unregister first so no
 * more notifications come (mmu_notifier_unregister waits out running callbacks with SRCU),
 * flush the delete work, move every node off the tree, remove them, kfree the handler.
 */
export async function hfi1MmuRbUnregister<A, N extends MmuRbNode>(
  handler: MmuRbHandler<A, N>,
): Promise<void> {
  handler.touch("hfi1_mmu_rb_unregister");
  await mmuNotifierUnregister(handler.mn, handler.mm);
  await handler.flushDelWork();
  const delList: N[] = [];
  await handler.lock.lock();
  for (;;) {
    const first = handler.root.items().next();
    if (first.done === true) break;
    const node = first.value;
    handler.root.remove(node); // rb_erase_cached
    const i = handler.lruList.indexOf(node);
    if (i >= 0) handler.lruList.splice(i, 1);
    node.onList = "del"; // list_move(&rbnode->list, &del_list)
    delList.push(node);
  }
  await handler.lock.unlock();
  await doRemove(handler, delList);
  kfree(handler.kernel, handler, "hfi1_mmu_rb_unregister: kfree(handler)");
}

/** drivers/infiniband/hw/hfi1/mmu_rb.c: __mmu_rb_search() @5.4 without a filter: the first overlap. */
function mmuRbSearch<A, N extends MmuRbNode>(
  handler: MmuRbHandler<A, N>,
  addr: number,
  len: number,
): N | undefined {
  const n = new MmuRbNode(addr, len).span;
  return handler.root.firstOverlapping(n.start, n.end);
}

/**
 * drivers/infiniband/hw/hfi1/mmu_rb.c: hfi1_mmu_rb_insert() @5.4 — under the handler lock:
 * any cached node overlapping the new one refuses it (-EINVAL); else into the tree and the
 * LRU, then ops->insert (undone if it fails).
 */
export async function hfi1MmuRbInsert<A, N extends MmuRbNode>(
  handler: MmuRbHandler<A, N>,
  mnode: N,
): Promise<number> {
  const k = handler.kernel;
  handler.touch("hfi1_mmu_rb_insert");
  k.ex.trace("note", "hfi1_mmu_rb_insert", handler.name, `${hex(mnode.addr)} +${hex(mnode.len)}`);
  let ret = 0;
  await handler.lock.lock();
  const existing = mmuRbSearch(handler, mnode.addr, mnode.len);
  if (existing !== undefined) {
    ret = EINVAL;
    k.ex.count("hfi1.rb_insert_refused");
    k.ex.trace(
      "note",
      "hfi1_mmu_rb_insert",
      handler.name,
      `overlaps ${hex(existing.addr)} +${hex(existing.len)}: -EINVAL`,
    );
  } else {
    const s = mnode.span;
    handler.root.insert(mnode, s.start, s.end);
    handler.lruList.unshift(mnode);
    mnode.onList = "lru";
    ret = handler.ops.insert(handler.opsArg, mnode);
    if (ret !== 0) {
      handler.root.remove(mnode);
      handler.lruList.splice(handler.lruList.indexOf(mnode), 1);
      mnode.onList = null;
    }
  }
  await handler.lock.unlock();
  return ret;
}

/**
 * drivers/infiniband/hw/hfi1/mmu_rb.c: hfi1_mmu_rb_remove() @5.4 — tree and LRU removal under
 * the lock, then ops->remove without it. "Validity of handler and node pointers has been
 * checked by caller."
 */
export async function hfi1MmuRbRemove<A, N extends MmuRbNode>(
  handler: MmuRbHandler<A, N>,
  node: N,
): Promise<void> {
  handler.touch("hfi1_mmu_rb_remove");
  handler.kernel.ex.trace("note", "hfi1_mmu_rb_remove", handler.name, `${hex(node.addr)} +${hex(node.len)}`);
  await handler.lock.lock();
  handler.root.remove(node); // __mmu_int_rb_remove
  const i = handler.lruList.indexOf(node);
  if (i >= 0) handler.lruList.splice(i, 1);
  node.onList = null;
  await handler.lock.unlock();
  await handler.ops.remove(handler.opsArg, node);
}

/**
 * drivers/infiniband/hw/hfi1/mmu_rb.c: mmu_notifier_range_start() @5.4 — the handler's only
 * notifier op. Under the handler lock, walk the tree for [start, end - 1] (taking the next
 * node before the call, "guard against node removal") and call ops->invalidate per hit; a
 * node whose invalidate returns non-zero moves to del_list for the work item. Never sleeps
 * and never fails, so the OOM reaper's non-blockable start is fine.
 */
async function mmuNotifierRangeStart<A, N extends MmuRbNode>(
  handler: MmuRbHandler<A, N>,
  range: MmuNotifierRange,
): Promise<number> {
  const k = handler.kernel;
  handler.touch("mmu_notifier_range_start");
  let added = false;
  await handler.lock.lock();
  const root = handler.root;
  let node = root.firstOverlapping(range.start, range.end);
  while (node !== undefined) {
    const ptr = root.nextOverlapping(node, range.start, range.end);
    k.ex.count("hfi1.rb_nodes_visited");
    k.ex.trace("note", "hfi1_mmu_mem_invalidate", handler.name, `${hex(node.addr)} +${hex(node.len)}`);
    if ((await handler.ops.invalidate(handler.opsArg, node)) !== 0) {
      root.remove(node);
      const i = handler.lruList.indexOf(node);
      if (i >= 0) handler.lruList.splice(i, 1);
      handler.delList.push(node);
      node.onList = "del";
      added = true;
    }
    node = ptr;
  }
  await handler.lock.unlock();
  if (added) handler.queueDelWork();
  return 0;
}

/** drivers/infiniband/hw/hfi1/mmu_rb.c: do_remove() @5.4 */
async function doRemove<A, N extends MmuRbNode>(handler: MmuRbHandler<A, N>, delList: N[]): Promise<void> {
  for (const node of delList.splice(0)) {
    node.onList = null; // list_del(&node->list)
    await handler.ops.remove(handler.opsArg, node);
  }
}

/** drivers/infiniband/hw/hfi1/mmu_rb.c: handle_remove() @5.4 — the del_work item. */
async function handleRemove<A, N extends MmuRbNode>(handler: MmuRbHandler<A, N>): Promise<void> {
  handler.touch("handle_remove");
  await handler.lock.lock();
  const delList = handler.delList.splice(0); // list_replace_init
  await handler.lock.unlock();
  await doRemove(handler, delList);
}
