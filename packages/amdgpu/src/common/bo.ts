/**
 * The parts of a userptr BO that the 5.5 series did not change, shared by both variants
 * (drivers/gpu/drm/amd/amdgpu/amdgpu_object.h, amdgpu_ttm.c, include/linux/dma-resv.h):
 *  - struct amdgpu_ttm_tt: the user address, the task that created it, the flags, and
 *    ttm->pages (the pages the BO is backed by while it is in GTT);
 *  - the GART: what amdgpu_ttm_backend_bind() wrote for the BO (amdgpu_gart_bind from
 *    ttm->pages). The GPU reads it when a job runs; nothing but the next bind or an unbind
 *    changes it — the invalidate callbacks of either variant do not (reference 1.3, 1.6);
 *  - the reservation object (dma_resv): its ww_mutex and its fences.
 *
 * amdgpu holds no page references (reference 1): a GART entry can point at a page the mm has
 * freed. The variants add their own fields (5.4: bo->mn and gtt->range as an hmm_range; 5.5:
 * bo->notifier and gtt->range bound to it).
 */
import {
  type DmaFence,
  type HasLifetime,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  PAGE_SIZE,
  type Page,
} from "@mnlab/core";
import { LocklessField, Mutex } from "@mnlab/sim";

/** include/uapi/asm-generic/errno-base.h: ESRCH (not in core's table). */
export const ESRCH = -3;

/** The task that created the userptr (gtt->usertask), reduced to task->mm. */
export class AmdgpuTask {
  /** task->mm: exit_mm() sets it to NULL (under task_lock) before its mmput; read locklessly by 5.4's get_user_pages. */
  readonly mm: LocklessField<MmStruct | null>;
  constructor(
    kernel: Kernel,
    readonly name: string,
    mm: MmStruct,
  ) {
    this.mm = new LocklessField<MmStruct | null>(kernel.ex, `task(${name})->mm`, mm);
  }
}

/** struct dma_resv @5.4/5.5, reduced: the ww_mutex and every fence (shared and exclusive). */
export class DmaResv {
  readonly lock: Mutex;
  readonly fences: DmaFence[] = [];
  constructor(kernel: Kernel, name: string) {
    this.lock = new Mutex(kernel.ex, `${name}->resv`, "reservation_ww_class_mutex");
  }
}

/** AMDGPU_GEM_USERPTR_* flags the model uses. */
export interface UserptrFlags {
  readonly: boolean;
  anononly: boolean;
}

/** struct amdgpu_ttm_tt @5.4/5.5 (the fields both versions share). */
export class AmdgpuTtmTt {
  /** ttm->pages: the pages the BO is backed by (set by amdgpu_ttm_tt_set_user_pages or get_user_pages). */
  pages: (Page | null)[];
  /** The BO is in GTT (TTM_PL_TT) and bound: `gart` is what the GPU reads. */
  bound = false;
  /** amdgpu_gart_bind()'s entries for this BO, one per page; null when unbound. */
  gart: (Page | null)[];

  constructor(
    readonly userptr: number,
    readonly numPages: number,
    readonly usertask: AmdgpuTask,
    readonly userflags: UserptrFlags,
  ) {
    this.pages = new Array<Page | null>(numPages).fill(null);
    this.gart = new Array<Page | null>(numPages).fill(null);
  }

  get end(): number {
    return this.userptr + this.numPages * PAGE_SIZE;
  }
}

/** struct amdgpu_bo @5.4/5.5, reduced to a userptr BO. */
export class AmdgpuBo implements HasLifetime {
  readonly resv: DmaResv;
  /** bo->kfd_bo: the KFD allocation it backs (HSA), or null (GFX). */
  kfdBo: unknown = null;
  /** kfree()d by amdgpu_bo_destroy once the BO is idle (TTM's delayed delete). */
  readonly lifetime: Lifetime;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly ttm: AmdgpuTtmTt,
  ) {
    this.resv = new DmaResv(kernel, name);
    this.lifetime = new Lifetime(`struct amdgpu_bo ${name}`);
  }

  get freed(): boolean {
    return this.lifetime.isFreed;
  }

  /** amdgpu_bo_size() */
  get size(): number {
    return this.ttm.numPages * PAGE_SIZE;
  }
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c: amdgpu_ttm_tt_affect_userptr() @5.4 — `end` inclusive
export function amdgpuTtmTtAffectUserptr(ttm: AmdgpuTtmTt | null, start: number, end: number): boolean {
  if (ttm === null || ttm.userptr === 0) return false;
  const size = ttm.numPages * PAGE_SIZE;
  if (ttm.userptr > end || ttm.userptr + size <= start) return false;
  return true;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c: amdgpu_ttm_tt_set_user_pages() @5.4/5.5
export function amdgpuTtmTtSetUserPages(ttm: AmdgpuTtmTt, pages: readonly (Page | null)[]): void {
  for (let i = 0; i < ttm.numPages; i++) ttm.pages[i] = pages[i] ?? null;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c: amdgpu_ttm_tt_get_usermm() @5.4/5.5
export function amdgpuTtmTtGetUsermm(ttm: AmdgpuTtmTt): MmStruct | null {
  return ttm.usertask.mm.get(); // current's own task in the CS: no race
}

/**
 * drivers/gpu/drm/ttm/ttm_bo.c: ttm_bo_validate() @5.4/5.5 for a userptr BO, caller holds the
 * reservation. To the CPU domain: amdgpu_ttm_backend_unbind + amdgpu_ttm_tt_unpin_userptr
 * (the GART entries go; no page references to drop). To GTT: amdgpu_ttm_tt_pin_userptr +
 * amdgpu_ttm_backend_bind from ttm->pages; a BO already bound stays as it is.
 */
export async function ttmBoValidate(bo: AmdgpuBo, domain: "CPU" | "GTT"): Promise<number> {
  const ex = bo.kernel.ex;
  if (!bo.resv.lock.heldBySelf()) bo.kernel.warn(`ttm_bo_validate(${bo.name}) without its reservation`);
  const ttm = bo.ttm;
  if (domain === "CPU") {
    if (!ttm.bound) return 0;
    await ex.point("amdgpu_ttm_backend_unbind", bo.name);
    ttm.gart.fill(null);
    ttm.bound = false;
    return 0;
  }
  if (ttm.bound) return 0;
  await ex.point(
    "amdgpu_ttm_backend_bind",
    bo.name,
    ttm.pages.map((p) => (p ? p.pfn.toString(16) : "-")).join(","),
  );
  for (let i = 0; i < ttm.numPages; i++) ttm.gart[i] = ttm.pages[i] ?? null;
  ttm.bound = true;
  return 0;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_object.h: amdgpu_bo_reserve() @5.4/5.5 (no_intr = true)
export function amdgpuBoReserve(bo: AmdgpuBo): Promise<void> {
  return bo.resv.lock.lock();
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_object.h: amdgpu_bo_unreserve() @5.4/5.5
export function amdgpuBoUnreserve(bo: AmdgpuBo): Promise<void> {
  return bo.resv.lock.unlock();
}

/**
 * drivers/dma-buf/dma-resv.c: dma_resv_wait_timeout_rcu(resv, wait_all = true, intr = false,
 * MAX_SCHEDULE_TIMEOUT) @5.4/5.5 — no lock: re-reads the fence list under RCU and waits on the
 * first unsignalled fence until none is left. Returns the virtual ticks spent waiting.
 */
export async function dmaResvWaitTimeoutRcu(bo: AmdgpuBo): Promise<number> {
  const ex = bo.kernel.ex;
  const t0 = ex.now;
  for (;;) {
    const f = bo.resv.fences.find((x) => !x.signaled);
    if (f === undefined) break;
    ex.trace("note", "dma_resv_wait_timeout_rcu", bo.name, `waits for ${f.name}`);
    await f.wait();
  }
  const ticks = ex.now - t0;
  if (ticks > 0) ex.count("amdgpu.fence_wait_ticks", ticks);
  return ticks;
}

/**
 * drivers/gpu/drm/ttm/ttm_bo.c: ttm_bo_release() -> ttm_bo_cleanup_refs() @5.4/5.5 for a
 * userptr BO whose last GEM reference went: the BO is destroyed once idle (delayed delete
 * waits for its fences), which unbinds it (amdgpu_ttm_backend_unbind, unpin_userptr).
 */
export async function ttmBoRelease(bo: AmdgpuBo): Promise<void> {
  await dmaResvWaitTimeoutRcu(bo);
  await amdgpuBoReserve(bo);
  await ttmBoValidate(bo, "CPU");
  await amdgpuBoUnreserve(bo);
  kfree(bo.kernel, bo, "amdgpu_bo_destroy"); // ttm_bo_put -> amdgpu_bo_destroy -> kfree(bo)
}
