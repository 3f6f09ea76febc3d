/**
 * drivers/gpu/drm/radeon/radeon_mn.c as of Linux 5.4 (reference gpu-drivers.md 3.1): one
 * struct radeon_mn per mm, got with mmu_notifier_get() ("drm/radeon: use mmu_notifier_get/put
 * for struct radeon_mn"), allocated by alloc_notifier and kfree()d by free_notifier after SRCU.
 * It holds a mutex, rmn->lock, and an interval tree of radeon_mn_nodes, each an interval and
 * the list of BOs in it. Registering a BO merges every node it overlaps into one (a node never
 * shrinks); the hlist callback takes rmn->lock for the whole invalidation and, for every BO of
 * every overlapping node, reserves it, waits for its fences and moves it to the CPU domain.
 *
 * Kept as the kernel had them: no per-BO overlap check and no node shrinking (O3); a release
 * whose range has flags = 0, so it is non-blockable and bails with -EAGAIN while any node
 * exists (O4); kmalloc(GFP_KERNEL) under rmn->lock (O5); the reservation taken inside the
 * notifier (O6); GUP racing an invalidation that found the BO unbound (O2).
 */
import {
  EAGAIN,
  type HasLifetime,
  IntervalTree,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuNotifier,
  type MmuNotifierOps,
  type MmuNotifierRange,
  mmuNotifierGetLocked,
  mmuNotifierPut,
  rangeBlockable,
  touch,
  ULONG_MAX,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";
import type { RadeonBo, RadeonMnImpl } from "../common/bo.ts";
import {
  dmaResvWaitTimeoutRcu,
  radeonBoReserve,
  radeonBoUnreserve,
  radeonGfpKernelAlloc,
  ttmBoValidate,
} from "../common/ttm.ts";

/** struct radeon_mn @5.4 */
export class RadeonMn extends MmuNotifier {
  /** rmn->lock: the tree, and the whole invalidation. */
  readonly lock: Mutex;
  /** rmn->objects: rb_root_cached interval tree of nodes. */
  readonly objects = new IntervalTree<RadeonMnNode>();

  constructor(
    readonly kernel: Kernel,
    name: string,
  ) {
    super(`radeon_mn(${name})`, radeonMnOps);
    this.lock = new Mutex(kernel.ex, `radeon_mn(${name})->lock`, "rmn->lock");
    this.lifetime = new Lifetime(`struct radeon_mn radeon_mn(${name})`);
  }
}

/** struct radeon_mn_node @5.4: it.start, it.last (inclusive) and the bos list. */
export class RadeonMnNode implements HasLifetime {
  start = 0;
  last = 0;
  bos: RadeonBo[] = [];
  readonly lifetime: Lifetime;

  constructor(id: number) {
    this.lifetime = new Lifetime(`struct radeon_mn_node #${id}`);
  }
}

/** bo->mn and the node whose bos list bo->mn_list is on (radeon.h @5.4). */
interface BoMnLink {
  mn: RadeonMn | null;
  node: RadeonMnNode | null;
}
const links = new WeakMap<RadeonBo, BoMnLink>();
/** The BO's 5.4 fields (model bookkeeping: the struct members live here, not on the shared BO). */
function linkOf(bo: RadeonBo): BoMnLink {
  let l = links.get(bo);
  if (l === undefined) {
    l = { mn: null, node: null };
    links.set(bo, l);
  }
  return l;
}

const nodeIds = new WeakMap<Kernel, number>();
/** The kmalloc'd node (numbered per execution, for traces). */
function newNode(k: Kernel): RadeonMnNode {
  const id = (nodeIds.get(k) ?? 0) + 1;
  nodeIds.set(k, id);
  return new RadeonMnNode(id);
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_invalidate_range_start() @5.4
async function radeonMnInvalidateRangeStart(mn: MmuNotifier, range: MmuNotifierRange): Promise<number> {
  const rmn = mn as RadeonMn;
  const k = rmn.kernel;
  touch(k, rmn, "radeon_mn_invalidate_range_start");
  let ret = 0;
  // "notification is exclusive, but interval is inclusive"
  const end = range.end - 1;
  // "TODO we should be able to split locking for interval tree and the tear down."
  if (rangeBlockable(range)) await rmn.lock.lock();
  else if (!(await rmn.lock.trylock())) return EAGAIN;
  let it = rmn.objects.firstOverlapping(range.start, end + 1);
  while (it !== undefined) {
    if (!rangeBlockable(range)) {
      ret = EAGAIN;
      break;
    }
    const node = it;
    touch(k, node, "radeon_mn_invalidate_range_start: interval_tree_iter_next");
    it = rmn.objects.nextOverlapping(it, range.start, end + 1);
    // Every BO of the node, overlapping the range or not (O3).
    for (const bo of node.bos) {
      const ttm = bo.use("radeon_mn_invalidate_range_start: bo").ttm;
      if (ttm === null || (await ttm.state.load()) !== "tt_bound") continue;
      // radeon_bo_reserve(bo, true) cannot fail uninterruptibly: the DRM_ERROR path is not taken.
      await radeonBoReserve(bo, true);
      const waited = await dmaResvWaitTimeoutRcu(bo);
      k.ex.count("radeon.fence_wait_ticks", waited);
      // radeon_ttm_placement_from_domain(bo, RADEON_GEM_DOMAIN_CPU); ttm_bo_validate()
      await ttmBoValidate(bo, "CPU", null);
      k.ex.count("radeon.bo_invalidated");
      k.ex.count(`radeon.bo_invalidated.${bo.name}`);
      await radeonBoUnreserve(bo);
    }
  }
  await rmn.lock.unlock();
  return ret;
}

/**
 * drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_release() @5.4 — invalidates [0, ULONG_MAX)
 * with `.flags = 0`: not MMU_NOTIFIER_RANGE_BLOCKABLE, so the trylock path, and -EAGAIN at the
 * first node. The return value is dropped: nothing is waited for or unbound at exit (O4).
 */
async function radeonMnRelease(mn: MmuNotifier, mm: MmStruct): Promise<void> {
  const range: MmuNotifierRange = { mm, start: 0, end: ULONG_MAX, event: "UNMAP", blockable: false };
  const r = await radeonMnInvalidateRangeStart(mn, range);
  mm.kernel.ex.trace("note", "radeon_mn_release", mn.name, `invalidate returned ${r}`);
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_alloc_notifier() @5.4 — kzalloc, mutex_init, empty tree
function radeonMnAllocNotifier(mm: MmStruct): MmuNotifier {
  mm.kernel.gfpKernelAlloc(); // under mmap_sem (write) from mmu_notifier_get: no radeon lock held
  return new RadeonMn(mm.kernel, mm.name);
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_free_notifier() @5.4 — kfree, after SRCU
function radeonMnFreeNotifier(mn: MmuNotifier): void {
  const rmn = mn as RadeonMn;
  kfree(rmn.kernel, rmn, "radeon_mn_free_notifier: kfree(rmn)");
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_ops @5.4
const radeonMnOps: MmuNotifierOps = {
  release: radeonMnRelease,
  invalidateRangeStart: radeonMnInvalidateRangeStart,
  allocNotifier: radeonMnAllocNotifier,
  freeNotifier: radeonMnFreeNotifier,
};

// include/linux/mmu_notifier.h: mmu_notifier_get() @5.4 — mmu_notifier_get_locked under mmap_sem (write)
async function mmuNotifierGet(ops: MmuNotifierOps, mm: MmStruct): Promise<MmuNotifier | { err: number }> {
  await mm.mmapSem.downWrite();
  const ret = await mmuNotifierGetLocked(ops, mm);
  await mm.mmapSem.upWrite();
  return ret;
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_register() @5.4
async function radeonMnRegister(bo: RadeonBo, addr0: number, current: MmStruct): Promise<number> {
  const k = bo.rdev.kernel;
  let addr = addr0;
  let end = addr + bo.size - 1;
  const mn = await mmuNotifierGet(radeonMnOps, current);
  if (!(mn instanceof MmuNotifier)) return mn.err;
  const rmn = mn as RadeonMn;
  touch(k, rmn, "radeon_mn_register");
  const bos: RadeonBo[] = [];
  let node: RadeonMnNode | null = null;
  await rmn.lock.lock();
  for (;;) {
    const it = rmn.objects.firstOverlapping(addr, end + 1);
    if (it === undefined) break;
    if (node !== null) kfree(k, node, "radeon_mn_register: kfree(node)");
    node = it;
    touch(k, node, "radeon_mn_register: interval_tree_iter_first");
    rmn.objects.remove(node);
    addr = Math.min(node.start, addr);
    end = Math.max(node.last, end);
    bos.unshift(...node.bos); // list_splice(&node->bos, &bos)
  }
  if (node === null) {
    // kmalloc(GFP_KERNEL) while holding rmn->lock (O5).
    await radeonGfpKernelAlloc(k, current, "radeon_mn_register: kmalloc(radeon_mn_node)");
    node = newNode(k);
  }
  linkOf(bo).mn = rmn;
  node.start = addr;
  node.last = end;
  node.bos = [bo, ...bos]; // INIT_LIST_HEAD; list_splice(&bos); list_add(&bo->mn_list)
  for (const b of node.bos) linkOf(b).node = node;
  rmn.objects.insert(node, node.start, node.last + 1);
  k.ex.trace("note", "radeon_mn_register", bo.name, `node [0x${addr.toString(16)}, 0x${end.toString(16)}]`);
  await rmn.lock.unlock();
  return 0;
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_unregister() @5.4
async function radeonMnUnregister(bo: RadeonBo): Promise<void> {
  const l = linkOf(bo);
  const rmn = l.mn;
  if (rmn === null) return;
  const k = rmn.kernel;
  touch(k, rmn, "radeon_mn_unregister");
  await rmn.lock.lock();
  const node = l.node!;
  touch(k, node, "radeon_mn_unregister: list_del(&bo->mn_list)");
  node.bos = node.bos.filter((b) => b !== bo); // list_del(&bo->mn_list)
  l.node = null;
  if (node.bos.length === 0) {
    // The node goes only when empty; a merged node never shrinks (R4).
    rmn.objects.remove(node);
    kfree(k, node, "radeon_mn_unregister: kfree(node)");
  }
  await rmn.lock.unlock();
  await mmuNotifierPut(rmn);
  l.mn = null;
}

/** The 5.4 radeon_mn.c entry points. */
export function radeonMn54(_k: Kernel): RadeonMnImpl {
  return { register: radeonMnRegister, unregister: radeonMnUnregister };
}
