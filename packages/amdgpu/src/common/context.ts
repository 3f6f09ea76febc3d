/**
 * What user space does with the amdgpu DRM file, shared by both variants, and the DriverModel
 * context extended with the amdgpu-only operations the scenarios need (a CS whose fence is
 * not waited, KFD allocations and user-queue dispatches, a get-pages from a task that holds
 * the file but not the mm).
 *
 * Who calls: the contract's ops are ioctls of threads of the process. A thread holds its own
 * mm_users reference for its life (copy_mm with CLONE_VM), so the address space cannot reach
 * exit_mmap while one of them is inside an ioctl, whatever the main thread does: the context
 * takes one reference for them at open and drops it when the process's last thread exits
 * (exitProcess). A scenario's exit_task() of the main thread alone therefore leaves the mm to
 * the other threads, as the kernel does. This stands in for `current`; it is not driver code.
 * A task that holds the file but not the mm (A4's child) is `childGetUserPages`.
 */
import {
  type AccessResult,
  type BufferHandle,
  copyMmCloneVm,
  type DeviceContext,
  type DmaFence,
  EAGAIN,
  exitTask,
  type Kernel,
  type MmStruct,
  type Page,
} from "@mnlab/core";
import { type AmdgpuBo, type AmdgpuTask, ttmBoRelease } from "./bo.ts";
import type { AmdgpuGpu } from "./job.ts";
import {
  AmdkfdProcessInfo,
  destroyProcessInfo,
  freeMemoryOfGpu,
  initUserPages,
  type KfdUserptrOps,
  KgdMem,
  kfdQueueAccess,
  mapMemoryToGpu,
} from "./kfd.ts";

export interface AmdgpuBuffer extends BufferHandle {
  readonly bo: AmdgpuBo;
}

export interface KfdBuffer extends BufferHandle {
  readonly mem: KgdMem;
}

export interface AmdgpuContext extends DeviceContext {
  readonly task: AmdgpuTask;
  readonly kfd: AmdkfdProcessInfo;
  /** One amdgpu_cs_ioctl through drmIoctl (restarted on -EAGAIN); the job's fence, not waited. */
  submitCs(buf: BufferHandle, addr: number, write: boolean): Promise<DmaFence | number>;
  /** One amdgpu_cs_ioctl issued with ioctl(2) directly: -EAGAIN comes back to the caller. */
  csIoctlOnce(buf: BufferHandle, addr: number, write: boolean): Promise<DmaFence | number>;
  /** KFD: alloc_memory_of_gpu (userptr: init_user_pages) and map_memory_to_gpu. */
  registerKfd(start: number, len: number): Promise<KfdBuffer | number>;
  /** A user-mode queue dispatch touching addr (no ioctl, no fence). */
  queueAccess(addr: number, write: boolean): Promise<AccessResult>;
  freeKfd(buf: KfdBuffer): Promise<void>;
  /** amdgpu_ttm_tt_get_user_pages + _done from a task that holds the file, not the mm. */
  childGetUserPages(buf: BufferHandle): Promise<number>;
  /** kernel/exit.c: exit_mm() of every thread left: task->mm = NULL, then their mmputs. */
  exitProcess(): Promise<void>;
  /** Let the driver's deferred work (5.4: amdgpu_mn_destroy) finish: scenario sequencing, not a kernel call. */
  flushWork(): Promise<void>;
}

/** libdrm xf86drm.c: drmIoctl() — restarts the ioctl on EINTR and EAGAIN. */
export async function drmIoctl<T>(
  ioctl: () => Promise<T | number>,
  count: (restart: boolean) => void,
): Promise<T | number> {
  for (;;) {
    const r = await ioctl();
    count(r === EAGAIN);
    if (r !== EAGAIN) return r;
  }
}

/** The device side of `access`: wait for the job (DRM_IOCTL_AMDGPU_WAIT_CS) and return what it read. */
export async function waitJob(fence: DmaFence): Promise<AccessResult> {
  await fence.wait();
  return fence.results[0] ?? { ok: false, fault: "not-mapped" };
}

/** What a variant provides to the shared context (the kernel entry points it models). */
export interface AmdgpuVariantImpl {
  readonly mm: MmStruct;
  readonly task: AmdgpuTask;
  readonly gpu: AmdgpuGpu;
  readonly kfdOps: KfdUserptrOps;
  /** amdgpu_gem_userptr_ioctl(REGISTER | ANONONLY): a GFX BO, or a bare one for KFD. */
  createUserptr(
    name: string,
    addr: number,
    size: number,
    write: boolean,
    kfd: boolean,
  ): Promise<AmdgpuBo | number>;
  /** amdgpu_gem_userptr_ioctl's VALIDATE block. */
  validate(bo: AmdgpuBo): Promise<number>;
  /** amdgpu_cs_ioctl for one IB touching addr. */
  cs(bo: AmdgpuBo, addr: number, write: boolean): Promise<DmaFence | number>;
  /** amdgpu_gem_object_free */
  free(bo: AmdgpuBo): Promise<void>;
  /** Wait for the driver's deferred work (5.4: amdgpu_mn_destroy). */
  flushWork(): Promise<void>;
}

/**
 * The harness hands scenarios its own wrapper of the context (contract methods only), so the
 * amdgpu operations are found through the execution's Kernel: one DRM file per execution.
 */
const contexts = new WeakMap<Kernel, AmdgpuContext>();

/** The amdgpu context opened on `k`, for scenario bodies. */
export function amdgpuContextOf(k: Kernel): AmdgpuContext {
  const c = contexts.get(k);
  if (c === undefined) throw new Error("amdgpu: no amdgpu context was opened in this execution");
  return c;
}

/** The DeviceContext both variants present, over their own kernel entry points. */
export async function amdgpuContext(k: Kernel, impl: AmdgpuVariantImpl): Promise<AmdgpuContext> {
  // The ioctl threads' mm_users reference (see the file comment); setup, before any race.
  await copyMmCloneVm(impl.mm);
  const ctx = makeContext(k, impl);
  contexts.set(k, ctx);
  return ctx;
}

function makeContext(k: Kernel, impl: AmdgpuVariantImpl): AmdgpuContext {
  const { mm, task, gpu } = impl;
  const kfd = new AmdkfdProcessInfo(k, task, mm, impl.kfdOps);
  const bos: AmdgpuBo[] = [];
  const kfdBufs: KfdBuffer[] = [];
  let n = 0;
  let threadsRef = true;
  let closed = false;
  const cs = (buf: BufferHandle, addr: number, write: boolean) =>
    drmIoctl(
      () => impl.cs((buf as AmdgpuBuffer).bo, addr, write),
      (restart) => {
        k.ex.count("amdgpu.cs_ioctl");
        if (restart) k.ex.count("amdgpu.cs_restart");
      },
    );
  return {
    task,
    kfd,
    get mmus() {
      return [...gpu.views, kfd.queues];
    },
    async register(start, len, opts) {
      const bo = await impl.createUserptr(`bo${n++}`, start, len, opts.write, false);
      if (typeof bo === "number") return bo;
      bos.push(bo);
      return { start, end: start + len, bo } satisfies AmdgpuBuffer;
    },
    populate: (buf) => impl.validate((buf as AmdgpuBuffer).bo),
    async access(buf, addr, write) {
      const f = await cs(buf, addr, write);
      if (typeof f === "number") return f;
      return waitJob(f);
    },
    submitCs: cs,
    async csIoctlOnce(buf, addr, write) {
      k.ex.count("amdgpu.cs_ioctl");
      const r = await impl.cs((buf as AmdgpuBuffer).bo, addr, write);
      if (r === EAGAIN) k.ex.count("amdgpu.cs_restart");
      return r;
    },
    async unregister(buf) {
      const bo = (buf as AmdgpuBuffer).bo;
      const i = bos.indexOf(bo);
      if (i >= 0) bos.splice(i, 1);
      await impl.free(bo); // GEM_CLOSE of the last handle
    },
    async registerKfd(start, len) {
      // amdgpu_amdkfd_gpuvm_alloc_memory_of_gpu(ALLOC_MEM_FLAGS_USERPTR), then map_memory_to_gpu
      const bo = await impl.createUserptr(`kfd_bo${n++}`, start, len, true, true);
      if (typeof bo === "number") return bo;
      const mem = new KgdMem(bo, kfd);
      bo.kfdBo = mem;
      let r = await initUserPages(mem, start);
      if (r !== 0) {
        // allocate_init_user_pages_failed: amdgpu_bo_unref(&bo) (init_user_pages has already
        // unregistered its notifier), then kfree(mem).
        await ttmBoRelease(bo);
        return r;
      }
      r = await mapMemoryToGpu(mem, mm);
      if (r !== 0) return r;
      const out: KfdBuffer = { start, end: start + len, mem };
      kfdBufs.push(out);
      return out;
    },
    queueAccess: (addr, write) => kfdQueueAccess(kfd, addr, write),
    async freeKfd(buf) {
      const i = kfdBufs.indexOf(buf);
      if (i >= 0) kfdBufs.splice(i, 1);
      await freeMemoryOfGpu(buf.mem);
      await ttmBoRelease(buf.mem.bo);
    },
    async childGetUserPages(buf) {
      const bo = (buf as AmdgpuBuffer).bo;
      const r = await impl.kfdOps.getUserPages(bo, new Array<Page | null>(bo.ttm.numPages).fill(null));
      if (r === 0) await impl.kfdOps.getUserPagesDone(bo);
      return r;
    },
    // kernel/exit.c: exit_mm() @5.4/5.5 of the threads left: current->mm = NULL, then mmput.
    async exitProcess() {
      await task.mm.set(null);
      if (threadsRef) {
        threadsRef = false;
        await exitTask(mm); // the other threads' exit_mm, as one
      }
      if (mm.tasks > 0) await exitTask(mm); // the main thread's, unless the scenario exited it
    },
    flushWork: () => impl.flushWork(),
    async close() {
      if (closed) return;
      closed = true;
      // amdgpu_driver_postclose_kms / kfd process release: the KFD VM, then every GEM handle.
      await destroyProcessInfo(kfd);
      for (const b of kfdBufs.splice(0)) await ttmBoRelease(b.mem.bo);
      for (const bo of bos.splice(0)) await impl.free(bo);
    },
  };
}
