/**
 * The HSA/KFD user of userptr BOs (drivers/gpu/drm/amd/amdgpu/amdgpu_amdkfd_gpuvm.c and the
 * KFD queue manager it calls, reference 1.3, 1.4). The series changed this file by a few
 * lines (62914a99dee5: +2/-3, 81fa1af31b5d: +4/-0: the FIXMEs around the unlocked, unchecked
 * amdgpu_ttm_tt_get_user_pages_done); the code is shared and calls the variant's
 * register/get_user_pages/_done through KfdUserptrOps. Unclear in the record: the exact
 * content of those small hunks; the model keeps both variants' KFD logic identical.
 *
 * User-mode queues read GPUVM PTEs at any time while they run, with no CS and no fence; an
 * invalidation therefore stops them (kgd2kfd_quiesce_mm) before it returns, and the restore
 * worker re-acquires the pages, re-validates, rewrites the PTEs and resumes the queues. The
 * queues' view of memory is a DeviceMmu whose entries are the mapped BOs' GPUVM PTEs while the
 * queues run, and nothing while they are preempted.
 */
import {
  type AccessResult,
  DeviceMmu,
  type Kernel,
  type MmStruct,
  mmgetNotZero,
  mmput,
  PAGE_SIZE,
  type Page,
} from "@mnlab/core";
import { Atomic, Mutex, WaitQueue } from "@mnlab/sim";
import { type AmdgpuBo, type AmdgpuTask, amdgpuBoReserve, amdgpuBoUnreserve, ttmBoValidate } from "./bo.ts";

/** AMDGPU_USERPTR_RESTORE_DELAY_MS */
export const AMDGPU_USERPTR_RESTORE_DELAY_MS = 1;

/** The variant's userptr functions the KFD code calls. */
export interface KfdUserptrOps {
  /** amdgpu_mn_register(bo, addr) */
  register(bo: AmdgpuBo, addr: number): Promise<number>;
  /** amdgpu_mn_unregister(bo) */
  unregister(bo: AmdgpuBo): Promise<void>;
  /** amdgpu_ttm_tt_get_user_pages(bo, pages) */
  getUserPages(bo: AmdgpuBo, pages: (Page | null)[]): Promise<number>;
  /** amdgpu_ttm_tt_get_user_pages_done(ttm): KFD ignores the result */
  getUserPagesDone(bo: AmdgpuBo): Promise<boolean>;
}

/** struct kgd_mem @5.4/5.5, reduced to a userptr allocation mapped in one VM. */
export class KgdMem {
  /** mem->invalid: bumped by every eviction, reset by the restore worker with a cmpxchg. */
  readonly invalid: Atomic;
  /** bo_va is_mapped in the process VM. */
  mapped = false;
  /** The GPUVM PTEs of the BO (amdgpu_vm_bo_update wrote them from the GART). */
  ptes: (Page | null)[];
  freed = false;

  constructor(
    readonly bo: AmdgpuBo,
    readonly info: AmdkfdProcessInfo,
  ) {
    this.invalid = new Atomic(bo.kernel.ex, `${bo.name} mem->invalid`);
    this.ptes = new Array<Page | null>(bo.ttm.numPages).fill(null);
  }
}

/** struct amdkfd_process_info @5.4/5.5 plus the process's queues (kfd_process, qpd, dqm). */
export class AmdkfdProcessInfo {
  readonly lock: Mutex;
  readonly evictedBos: Atomic;
  readonly userptrValidList: KgdMem[] = [];
  readonly userptrInvalList: KgdMem[] = [];
  /** dqm->lock and qpd->evicted: queue eviction is counted (kfd_device_queue_manager.c). */
  readonly dqmLock: Mutex;
  qpdEvicted = 0;
  /** What the running queues can reach. */
  readonly queues: DeviceMmu;
  // restore_userptr_work, a delayed work item
  private workPending = false;
  private workRunning = false;
  private workCancelled = false;
  private readonly workIdle: WaitQueue;

  constructor(
    readonly kernel: Kernel,
    readonly task: AmdgpuTask,
    readonly mm: MmStruct,
    readonly ops: KfdUserptrOps,
  ) {
    const ex = kernel.ex;
    this.lock = new Mutex(ex, "process_info->lock");
    this.evictedBos = new Atomic(ex, "process_info->evicted_bos");
    this.dqmLock = new Mutex(ex, "dqm->lock");
    this.queues = new DeviceMmu(kernel, "kfd user queues", mm);
    this.workIdle = new WaitQueue(ex, "restore_userptr_work");
  }

  get allMems(): KgdMem[] {
    return [...this.userptrValidList, ...this.userptrInvalList];
  }

  /** kernel/workqueue.c: schedule_delayed_work() @5.4 — false if already pending. */
  scheduleRestore(): boolean {
    if (this.workPending || this.workCancelled) return false;
    this.workPending = true;
    const ex = this.kernel.ex;
    ex.spawn("kfd restore_userptr_work", async () => {
      await ex.sleep(AMDGPU_USERPTR_RESTORE_DELAY_MS);
      this.workPending = false;
      if (this.workCancelled) return void (await this.workIdle.wakeUpAll());
      this.workRunning = true;
      await amdgpuAmdkfdRestoreUserptrWorker(this);
      this.workRunning = false;
      await this.workIdle.wakeUpAll();
    });
    return true;
  }

  /** kernel/workqueue.c: cancel_delayed_work_sync() @5.4 */
  async cancelRestoreSync(): Promise<void> {
    this.workCancelled = true;
    await this.workIdle.waitEvent(() => !this.workRunning && !this.workPending);
  }
}

async function syncQueueView(info: AmdkfdProcessInfo): Promise<void> {
  const view = info.queues;
  if (info.qpdEvicted > 0) {
    if (view.size > 0) await view.unmap(0, Number.MAX_SAFE_INTEGER);
    return;
  }
  const pages = [];
  for (const mem of info.allMems) {
    if (!mem.mapped) continue;
    for (let i = 0; i < mem.ptes.length; i++) {
      pages.push({ addr: mem.bo.ttm.userptr + i * PAGE_SIZE, page: mem.ptes[i] ?? null, write: true });
    }
  }
  await view.unmap(0, Number.MAX_SAFE_INTEGER);
  if (pages.length > 0) await view.map(pages);
}

// drivers/gpu/drm/amd/amdkfd/kfd_process.c: kgd2kfd_quiesce_mm() -> evict_process_queues_cpsch() @5.4
export async function kgd2kfdQuiesceMm(info: AmdkfdProcessInfo): Promise<number> {
  info.kernel.ex.trace("call", "kgd2kfd_quiesce_mm", info.mm.name);
  await info.dqmLock.lock();
  // "already evicted, do nothing" beyond counting: the first eviction preempts the queues.
  if (info.qpdEvicted++ === 0) await syncQueueView(info);
  await info.dqmLock.unlock();
  return 0;
}

// drivers/gpu/drm/amd/amdkfd/kfd_process.c: kgd2kfd_resume_mm() -> restore_process_queues_cpsch() @5.4
export async function kgd2kfdResumeMm(info: AmdkfdProcessInfo): Promise<number> {
  info.kernel.ex.trace("call", "kgd2kfd_resume_mm", info.mm.name);
  await info.dqmLock.lock();
  if (info.qpdEvicted > 1) info.qpdEvicted--;
  else if (info.qpdEvicted === 1) {
    info.qpdEvicted = 0;
    await syncQueueView(info);
  }
  await info.dqmLock.unlock();
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_amdkfd_gpuvm.c: amdgpu_amdkfd_evict_userptr() @5.4/5.5
export async function amdgpuAmdkfdEvictUserptr(mem: KgdMem, _mm: MmStruct): Promise<number> {
  const info = mem.info;
  const k = info.kernel;
  k.ex.count("amdgpu.kfd_evict");
  await mem.invalid.add(1);
  const evictedBos = await info.evictedBos.add(1);
  let r = 0;
  if (evictedBos === 1) {
    // First eviction, stop the queues.
    r = await kgd2kfdQuiesceMm(info);
    info.scheduleRestore();
  }
  return r;
}

/** A user-mode queue dispatch reading or writing one dword: no CS, no fence, no driver call. */
export function kfdQueueAccess(info: AmdkfdProcessInfo, addr: number, write: boolean): Promise<AccessResult> {
  return info.queues.access(addr, write);
}

// amdgpu_amdkfd_gpuvm.c: update_gpuvm_pte() -> amdgpu_vm_bo_update() @5.4/5.5 — PTEs from the GART
async function updateGpuvmPte(mem: KgdMem): Promise<void> {
  await mem.bo.kernel.ex.point("amdgpu_vm_bo_update", mem.bo.name);
  mem.ptes = mem.bo.ttm.bound ? mem.bo.ttm.gart.slice() : mem.ptes.map(() => null);
}

// amdgpu_amdkfd_gpuvm.c: init_user_pages() @5.4/5.5 — caller: alloc_memory_of_gpu, process context
export async function initUserPages(mem: KgdMem, userAddr: number): Promise<number> {
  const info = mem.info;
  const bo = mem.bo;
  await info.lock.lock();
  let ret = await info.ops.register(bo, userAddr);
  if (ret !== 0) {
    await info.lock.unlock();
    return ret;
  }
  ret = await info.ops.getUserPages(bo, bo.ttm.pages);
  if (ret === 0) {
    await amdgpuBoReserve(bo);
    ret = await ttmBoValidate(bo, "GTT");
    await amdgpuBoUnreserve(bo);
    // 5.4 ignores the result; 5.5 adds "FIXME: Cannot ignore the return code, must hold notifier_lock".
    await info.ops.getUserPagesDone(bo);
  }
  if (ret !== 0) await info.ops.unregister(bo);
  else info.userptrValidList.push(mem);
  await info.lock.unlock();
  return ret;
}

// amdgpu_amdkfd_gpuvm.c: amdgpu_amdkfd_gpuvm_map_memory_to_gpu() @5.4/5.5 (userptr part)
export async function mapMemoryToGpu(mem: KgdMem, mm: MmStruct): Promise<number> {
  const info = mem.info;
  // "Make sure restore workers don't access the BO under us"
  await mm.mmapSem.downWrite();
  let isInvalidUserptr = (await mem.invalid.read()) !== 0;
  await mm.mmapSem.upWrite();
  await amdgpuBoReserve(mem.bo);
  // Not invalid but not validated yet: the queues are stopped, leave it to the restore worker.
  if (!mem.bo.ttm.bound) isInvalidUserptr = true;
  if (!mem.mapped) {
    mem.mapped = true;
    // map_bo_to_gpuvm(..., no_update_pte = is_invalid_userptr)
    if (!isInvalidUserptr) await updateGpuvmPte(mem);
  }
  await amdgpuBoUnreserve(mem.bo);
  await info.dqmLock.lock();
  await syncQueueView(info);
  await info.dqmLock.unlock();
  return 0;
}

// amdgpu_amdkfd_gpuvm.c: amdgpu_amdkfd_gpuvm_free_memory_of_gpu() @5.4/5.5 (userptr part)
export async function freeMemoryOfGpu(mem: KgdMem): Promise<void> {
  const info = mem.info;
  await info.lock.lock();
  for (const l of [info.userptrValidList, info.userptrInvalList]) {
    const i = l.indexOf(mem);
    if (i >= 0) l.splice(i, 1);
  }
  await info.lock.unlock();
  // "No more MMU notifiers"
  await info.ops.unregister(mem.bo);
  // unmap_bo_from_gpuvm(): the PTEs go, then the queues no longer see them.
  mem.mapped = false;
  mem.ptes.fill(null);
  await info.dqmLock.lock();
  await syncQueueView(info);
  await info.dqmLock.unlock();
  mem.freed = true; // kfree(mem) comes with the BO's release
}

// amdgpu_amdkfd_gpuvm.c: update_invalid_user_pages() @5.4/5.5 — process_info->lock held
async function updateInvalidUserPages(info: AmdkfdProcessInfo): Promise<number> {
  // Move all invalidated BOs to the userptr_inval_list and release their user pages.
  for (const mem of [...info.userptrValidList]) {
    if ((await mem.invalid.read()) === 0) continue;
    await amdgpuBoReserve(mem.bo);
    await ttmBoValidate(mem.bo, "CPU");
    await amdgpuBoUnreserve(mem.bo);
    info.userptrValidList.splice(info.userptrValidList.indexOf(mem), 1);
    info.userptrInvalList.push(mem);
  }
  if (info.userptrInvalList.length === 0) return 0;
  for (const mem of info.userptrInvalList) {
    const invalid = await mem.invalid.read();
    if (invalid === 0) continue; // not invalidated since the last attempt
    const ret = await info.ops.getUserPages(mem.bo, mem.bo.ttm.pages);
    if (ret !== 0) return ret;
    // 5.5: "FIXME: Cannot ignore the return code, must hold notifier_lock" — unlocked, ignored.
    await info.ops.getUserPagesDone(mem.bo);
    // Mark the BO as valid unless it was invalidated again concurrently.
    if ((await mem.invalid.cmpxchg(invalid, 0)) !== invalid) return -11; // -EAGAIN
  }
  return 0;
}

// amdgpu_amdkfd_gpuvm.c: validate_invalid_user_pages() @5.4/5.5 — process_info->lock held
async function validateInvalidUserPages(info: AmdkfdProcessInfo): Promise<number> {
  for (const mem of [...info.userptrInvalList]) {
    const bo = mem.bo;
    await amdgpuBoReserve(bo);
    // Validate the BO if we got user pages.
    if (bo.ttm.pages[0] !== null) await ttmBoValidate(bo, "GTT");
    info.userptrInvalList.splice(info.userptrInvalList.indexOf(mem), 1);
    info.userptrValidList.push(mem);
    if (mem.mapped) await updateGpuvmPte(mem);
    await amdgpuBoUnreserve(bo);
  }
  return 0;
}

/** The restore worker's body under process_info->lock: the evicted_bos it leaves (0 = resumed). */
async function restoreUserptrLocked(info: AmdkfdProcessInfo): Promise<number> {
  const evictedBos = await info.evictedBos.read();
  if (evictedBos === 0) return 0;
  // Restore BOs that are still valid.
  if ((await updateInvalidUserPages(info)) !== 0) return evictedBos;
  // userptr_inval_list can be empty if all evicted userptr BOs have been validated by the caller.
  if (info.userptrInvalList.length > 0) {
    if ((await info.evictedBos.read()) !== evictedBos) return evictedBos; // concurrent eviction, try again
    if ((await validateInvalidUserPages(info)) !== 0) return evictedBos;
  }
  // Final check for concurrent eviction and atomic update: a later eviction is a first one and quiesces.
  if ((await info.evictedBos.cmpxchg(evictedBos, 0)) !== evictedBos) return evictedBos;
  await kgd2kfdResumeMm(info);
  return 0;
}

// amdgpu_amdkfd_gpuvm.c: amdgpu_amdkfd_restore_userptr_worker() @5.4/5.5
export async function amdgpuAmdkfdRestoreUserptrWorker(info: AmdkfdProcessInfo): Promise<void> {
  const k = info.kernel;
  k.ex.trace("call", "amdgpu_amdkfd_restore_userptr_worker", info.mm.name);
  k.ex.count("amdgpu.kfd_restore");
  // get_task_mm(usertask): NULL once the task has exited.
  const mm = info.task.mm.get(); // under task_lock
  if (mm === null || !(await mmgetNotZero(mm))) return;
  await info.lock.lock();
  const evictedBos = await restoreUserptrLocked(info);
  await info.lock.unlock();
  await mmput(mm);
  // If validation failed, reschedule another attempt.
  if (evictedBos !== 0) {
    k.ex.count("amdgpu.kfd_restore_again");
    info.scheduleRestore();
  }
}

// amdgpu_amdkfd_gpuvm.c: amdgpu_amdkfd_gpuvm_destroy_process_vm() -> amdgpu_amdkfd_gpuvm_destroy_cb() @5.4
export async function destroyProcessInfo(info: AmdkfdProcessInfo): Promise<void> {
  await info.cancelRestoreSync();
  for (const mem of info.allMems) await freeMemoryOfGpu(mem);
  await info.dqmLock.lock();
  if (info.queues.size > 0) await info.queues.unmap(0, Number.MAX_SAFE_INTEGER);
  await info.dqmLock.unlock();
}
