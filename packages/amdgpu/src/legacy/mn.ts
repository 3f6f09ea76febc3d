/**
 * drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c as of Linux 5.4 (reference gpu-drivers.md 1.1-1.3,
 * 1.5): one struct amdgpu_mn per (device, mm, type), found through adev->mn_hash under
 * adev->mn_lock, with an embedded hmm_mirror and an interval tree of amdgpu_mn_nodes under
 * amn->lock — an rw-semaphore that is both the tree lock and HMM's "driver lock" (read in the
 * sync callbacks, write in the CS around the validity check and the fence attach).
 *
 * Kept as 5.4 has it:
 *  - nodes merge on register and never shrink on unregister (O3): an invalidation walks every
 *    node it meets and relies on amdgpu_ttm_tt_affect_userptr to skip BOs;
 *  - amdgpu_mn_get returns the amn without a reference; the mirror's release only schedules
 *    amdgpu_mn_destroy, which kfree()s the amn; nothing waits for fences at exit, and after
 *    __mmu_notifier_release no later unmap of exit_mmap reaches amdgpu (O4, reference
 *    inference);
 *  - the GFX callback waits for every fence of every overlapping BO and unmaps nothing; the
 *    HSA callback evicts through amdgpu_amdkfd_evict_userptr.
 */
import {
  EAGAIN,
  ENOMEM,
  type HasLifetime,
  HmmMirror,
  hmmMirrorRegister,
  hmmMirrorUnregister,
  IntervalTree,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  type MmuNotifierRange,
  rangeBlockable,
  touch,
} from "@mnlab/core";
import { Mutex, RwSemaphore, type ThreadHandle } from "@mnlab/sim";
import { type AmdgpuBo, amdgpuTtmTtAffectUserptr, dmaResvWaitTimeoutRcu } from "../common/bo.ts";
import { AmdgpuGpu } from "../common/job.ts";
import { amdgpuAmdkfdEvictUserptr, type KgdMem } from "../common/kfd.ts";
import type { LegacyBo } from "./ttm.ts";

export type AmdgpuMnType = "GFX" | "HSA";

/** struct amdgpu_device @5.4, reduced to the notifier bookkeeping and the GPU. */
export class LegacyDevice {
  /** adev->mn_lock: protects mn_hash. */
  readonly mnLock: Mutex;
  /** adev->mn_hash, keyed by AMDGPU_MN_KEY(mm, type). */
  readonly mnHash: AmdgpuMn[] = [];
  readonly gpu: AmdgpuGpu;
  /** amdgpu_mn_destroy work items scheduled on system_wq, for flush_scheduled_work(). */
  readonly work: ThreadHandle[] = [];

  constructor(
    readonly kernel: Kernel,
    mm: MmStruct,
  ) {
    this.mnLock = new Mutex(kernel.ex, "adev->mn_lock");
    this.gpu = new AmdgpuGpu(kernel, "adev", mm);
  }
}

/** struct amdgpu_mn_node @5.4: an inclusive interval and its BOs. */
export class AmdgpuMnNode {
  start = 0;
  last = 0;
  bos: LegacyBo[] = [];
}

/** The hmm_mirror embedded in the amn: container_of() gives the amn back. */
class AmnMirror extends HmmMirror {
  constructor(readonly amn: AmdgpuMn) {
    super(`amn(${amn.type})->mirror`, amn.type === "GFX" ? GFX_OPS : HSA_OPS);
  }
}

/** struct amdgpu_mn @5.4 */
export class AmdgpuMn implements HasLifetime {
  /** amn->lock: the tree lock and HMM's driver lock. */
  readonly lock: RwSemaphore;
  readonly objects = new IntervalTree<AmdgpuMnNode>();
  readonly mirror: HmmMirror;
  /** kfree()d by amdgpu_mn_destroy; the embedded mirror shares it. */
  readonly lifetime: Lifetime;

  constructor(
    readonly adev: LegacyDevice,
    readonly mm: MmStruct,
    readonly type: AmdgpuMnType,
  ) {
    this.lock = new RwSemaphore(adev.kernel.ex, `amn(${type})->lock`, "amn->lock");
    this.lifetime = new Lifetime(`struct amdgpu_mn amn(${type}) of ${mm.name}`);
    this.mirror = new AmnMirror(this);
    this.mirror.lifetime = this.lifetime;
  }
}

/** Any dereference of an amn: after amdgpu_mn_destroy's kfree it is a use-after-free (O4). */
export function amnUse(amn: AmdgpuMn, what: string): AmdgpuMn {
  touch(amn.adev.kernel, amn, what);
  return amn;
}

function treeFirst(amn: AmdgpuMn, start: number, last: number): AmdgpuMnNode | undefined {
  return amn.objects.firstOverlapping(start, last + 1);
}

/** kernel/workqueue.c: flush_scheduled_work() @5.4 — wait for the destroy work items queued so far. */
export async function flushScheduledWork(adev: LegacyDevice): Promise<void> {
  for (const w of adev.work.splice(0)) await w.join();
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_lock() @5.4 — the CS side, for write
export async function amdgpuMnLock(mn: AmdgpuMn | null): Promise<void> {
  if (mn !== null) await amnUse(mn, "amdgpu_mn_lock").lock.downWrite();
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_unlock() @5.4
export async function amdgpuMnUnlock(mn: AmdgpuMn | null): Promise<void> {
  if (mn !== null) await mn.lock.upWrite();
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_read_lock() @5.4 — 0, or -EAGAIN when non-blockable
async function amdgpuMnReadLock(amn: AmdgpuMn, blockable: boolean): Promise<number> {
  if (blockable) await amn.lock.downRead();
  else if (!(await amn.lock.downReadTrylock())) return EAGAIN;
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_invalidate_node() @5.4 — `end` inclusive
async function amdgpuMnInvalidateNode(node: AmdgpuMnNode, start: number, end: number): Promise<void> {
  for (const bo of [...node.bos]) {
    touch(bo.kernel, bo, "amdgpu_mn_invalidate_node: bo");
    bo.kernel.ex.count("amdgpu.bo_checked");
    if (!amdgpuTtmTtAffectUserptr(bo.ttm, start, end)) continue;
    bo.kernel.ex.count("amdgpu.bo_wait");
    // dma_resv_wait_timeout_rcu(resv, true, false, MAX_SCHEDULE_TIMEOUT); "failed to wait" only logs.
    await dmaResvWaitTimeoutRcu(bo);
  }
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_sync_pagetables_gfx() @5.4
async function amdgpuMnSyncPagetablesGfx(mirror: HmmMirror, update: MmuNotifierRange): Promise<number> {
  const amn = amnUse((mirror as AmnMirror).amn, "amdgpu_mn_sync_pagetables_gfx");
  const start = update.start;
  const end = update.end - 1; // notification is exclusive, but interval is inclusive
  const blockable = rangeBlockable(update);
  if ((await amdgpuMnReadLock(amn, blockable)) !== 0) return EAGAIN;
  for (let it = treeFirst(amn, start, end); it !== undefined; ) {
    if (!blockable) {
      await amn.lock.upRead();
      return EAGAIN;
    }
    const node = it;
    it = amn.objects.nextOverlapping(it, start, end + 1);
    amn.adev.kernel.ex.count("amdgpu.node_walked");
    await amdgpuMnInvalidateNode(node, start, end);
  }
  await amn.lock.upRead();
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_sync_pagetables_hsa() @5.4
async function amdgpuMnSyncPagetablesHsa(mirror: HmmMirror, update: MmuNotifierRange): Promise<number> {
  const amn = amnUse((mirror as AmnMirror).amn, "amdgpu_mn_sync_pagetables_hsa");
  const start = update.start;
  const end = update.end - 1;
  const blockable = rangeBlockable(update);
  if ((await amdgpuMnReadLock(amn, blockable)) !== 0) return EAGAIN;
  for (let it = treeFirst(amn, start, end); it !== undefined; ) {
    if (!blockable) {
      await amn.lock.upRead();
      return EAGAIN;
    }
    const node = it;
    it = amn.objects.nextOverlapping(it, start, end + 1);
    amn.adev.kernel.ex.count("amdgpu.node_walked");
    for (const bo of [...node.bos]) {
      amn.adev.kernel.ex.count("amdgpu.bo_checked");
      if (amdgpuTtmTtAffectUserptr(bo.ttm, start, end)) {
        await amdgpuAmdkfdEvictUserptr(bo.kfdBo as KgdMem, amn.mm);
      }
    }
  }
  await amn.lock.upRead();
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_destroy() @5.4 — the work item
async function amdgpuMnDestroy(amn: AmdgpuMn): Promise<void> {
  const adev = amn.adev;
  adev.kernel.ex.trace("call", "amdgpu_mn_destroy", `amn(${amn.type})`);
  await adev.mnLock.lock();
  await amn.lock.downWrite();
  const i = adev.mnHash.indexOf(amn);
  if (i >= 0) adev.mnHash.splice(i, 1); // hash_del
  for (const node of [...amn.objects.items()]) {
    for (const bo of node.bos) await bo.mn.set(null);
    node.bos = [];
    amn.objects.remove(node); // kfree(node)
  }
  await amn.lock.upWrite();
  await adev.mnLock.unlock();
  await hmmMirrorUnregister(amn.mirror);
  kfree(adev.kernel, amn, "amdgpu_mn_destroy: kfree(amn)");
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_hmm_mirror_release() @5.4 — only schedules the destroy
async function amdgpuHmmMirrorRelease(mirror: HmmMirror): Promise<void> {
  const amn = (mirror as AmnMirror).amn;
  const ex = amn.adev.kernel.ex;
  ex.trace("note", "schedule_work", "amdgpu_mn_destroy");
  amn.adev.work.push(ex.spawn(`kworker: amdgpu_mn_destroy(${amn.type})`, () => amdgpuMnDestroy(amn)));
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_hmm_mirror_ops[] @5.4
const GFX_OPS = { release: amdgpuHmmMirrorRelease, syncCpuDevicePagetables: amdgpuMnSyncPagetablesGfx };
const HSA_OPS = { release: amdgpuHmmMirrorRelease, syncCpuDevicePagetables: amdgpuMnSyncPagetablesHsa };

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_get() @5.4 — for current->mm; no reference taken
export async function amdgpuMnGet(
  adev: LegacyDevice,
  mm: MmStruct,
  type: AmdgpuMnType,
): Promise<AmdgpuMn | number> {
  await adev.mnLock.lock();
  await mm.mmapSem.downWrite(); // down_write_killable
  let amn: AmdgpuMn | number | undefined = adev.mnHash.find((a) => a.mm === mm && a.type === type);
  if (amn === undefined) {
    amn = new AmdgpuMn(adev, mm, type); // kzalloc
    const r = await hmmMirrorRegister(amn.mirror, mm);
    if (r !== 0) amn = r;
    else adev.mnHash.push(amn);
  }
  await mm.mmapSem.upWrite();
  await adev.mnLock.unlock();
  return amn;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_register() @5.4 — merge every overlapping node
export async function amdgpuMnRegister(bo: LegacyBo, addr: number, mm: MmStruct): Promise<number> {
  let end = addr + bo.size - 1;
  const type: AmdgpuMnType = bo.kfdBo !== null ? "HSA" : "GFX";
  const amn = await amdgpuMnGet(bo.adev, mm, type);
  if (typeof amn === "number") return amn;
  if (amn === undefined) return ENOMEM;
  let node: AmdgpuMnNode | null = null;
  const bos: LegacyBo[] = [];
  await amn.lock.downWrite();
  for (let it = treeFirst(amn, addr, end); it !== undefined; it = treeFirst(amn, addr, end)) {
    node = it; // kfree(node) of the previous one
    amn.objects.remove(it);
    addr = Math.min(it.start, addr);
    end = Math.max(it.last, end);
    bos.push(...it.bos);
  }
  node ??= new AmdgpuMnNode(); // new_node, preallocated with kmalloc
  await bo.mn.set(amn);
  node.start = addr;
  node.last = end;
  node.bos = [bo, ...bos];
  amn.objects.insert(node, node.start, node.last + 1);
  await amn.lock.upWrite();
  bo.kernel.ex.trace(
    "note",
    "amdgpu_mn_register",
    bo.name,
    `node [${addr.toString(16)}, ${end.toString(16)}]`,
  );
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_unregister() @5.4 — the node stays until empty (O3)
export async function amdgpuMnUnregister(bo: LegacyBo): Promise<void> {
  const adev = bo.adev;
  await adev.mnLock.lock();
  const amn = bo.mn.get(); // under mn_lock
  if (amn === null) {
    await adev.mnLock.unlock();
    return;
  }
  await amnUse(amn, "amdgpu_mn_unregister").lock.downWrite();
  const node = [...amn.objects.items()].find((n) => n.bos.includes(bo));
  await bo.mn.set(null);
  if (node !== undefined) {
    node.bos.splice(node.bos.indexOf(bo), 1);
    if (node.bos.length === 0) amn.objects.remove(node); // kfree(node)
  }
  await amn.lock.upWrite();
  await adev.mnLock.unlock();
}

export type { AmdgpuBo };
