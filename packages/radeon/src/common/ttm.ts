/**
 * TTM as radeon userptr BOs use it (drivers/gpu/drm/radeon/radeon_ttm.c and radeon_object.c,
 * drivers/gpu/drm/ttm/ttm_bo.c, ttm_tt.c @5.4; unchanged in 5.5):
 *   validate to GTT   ttm_tt_bind: populate (kzalloc the sg table), then radeon_ttm_backend_bind:
 *                     radeon_ttm_tt_pin_userptr (ANONONLY find_vma check, get_user_pages with
 *                     page references, sg table, DMA map) and radeon_gart_bind; state = bound
 *   validate to CPU   ttm_bo_move_ttm: ttm_bo_wait, ttm_tt_unbind: radeon_gart_unbind and
 *                     radeon_ttm_tt_unpin_userptr (set_page_dirty, put_page); state = unbound
 * There is no collision detection anywhere: GUP reads the PTEs whenever the BO is bound, and the
 * notifier makes the BO idle and unbound so that the next CS binds it again.
 */
import {
  EPERM,
  getUserPages,
  hex,
  type Kernel,
  kfree,
  type MmStruct,
  PAGE_SIZE,
  reclaimPage,
  releaseUserPages,
} from "@mnlab/core";
import { allocationModel } from "../knobs.ts";
import { RADEON_GEM_USERPTR_ANONONLY, RADEON_GEM_USERPTR_READONLY, type RadeonDomain } from "../uapi.ts";
import type { RadeonBo, RadeonTtmTt } from "./bo.ts";

/**
 * A GFP_KERNEL allocation made while holding locks (knobs.ts): lockdep's fs_reclaim, or a
 * direct reclaim of one page of the same mm, or nothing.
 */
export async function radeonGfpKernelAlloc(k: Kernel, mm: MmStruct | null, what: string): Promise<void> {
  const mode = allocationModel(k);
  if (mode === "plain") return;
  if (mode === "gfp-kernel") {
    k.ex.trace("note", "kmalloc(GFP_KERNEL)", what);
    k.gfpKernelAlloc();
    return;
  }
  // __alloc_pages_slowpath -> __perform_reclaim -> fs_reclaim_acquire -> try_to_free_pages
  k.ex.mightSleep(`${what}: kmalloc(GFP_KERNEL)`);
  k.ex.trace("note", "direct reclaim", what, hex(mode.directReclaim));
  k.fsReclaimMap.acquire();
  if (mm !== null) await reclaimPage(mm, mode.directReclaim);
  k.fsReclaimMap.release();
}

// drivers/gpu/drm/radeon/radeon_object.c: radeon_bo_reserve() @5.4 — ttm_bo_reserve(bo, !no_intr, false, NULL)
export async function radeonBoReserve(bo: RadeonBo, _noIntr: boolean): Promise<number> {
  // No ticket, no_wait false: a plain ww_mutex_lock(resv, NULL). Uninterruptible here (the
  // notifier passes no_intr = true; the model has no signals), so it cannot fail.
  await bo.use("radeon_bo_reserve").resv.lock();
  return 0;
}

// drivers/gpu/drm/radeon/radeon_object.h: radeon_bo_unreserve() @5.4 — ttm_bo_unreserve
export async function radeonBoUnreserve(bo: RadeonBo): Promise<void> {
  await bo.resv.unlock();
}

/**
 * drivers/dma-buf/dma-resv.c: dma_resv_wait_timeout_rcu(resv, wait_all=true, intr, MAX_SCHEDULE_TIMEOUT) @5.4
 * — waits for every fence, under RCU (no lock of its own). Returns the ticks it waited.
 */
export async function dmaResvWaitTimeoutRcu(bo: RadeonBo): Promise<number> {
  const k = bo.rdev.kernel;
  const t0 = k.ex.now;
  for (const f of [...bo.use("dma_resv_wait_timeout_rcu").fences]) {
    if (!f.signaled) await f.wait();
  }
  return k.ex.now - t0;
}

// drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_tt_pin_userptr() @5.4
async function radeonTtmTtPinUserptr(ttm: RadeonTtmTt, current: MmStruct | null): Promise<number> {
  const bo = ttm.bo;
  const k = bo.rdev.kernel;
  const write = (ttm.userflags & RADEON_GEM_USERPTR_READONLY) === 0;
  if (current !== ttm.usermm) return EPERM;
  const mm = ttm.usermm!;
  if ((ttm.userflags & RADEON_GEM_USERPTR_ANONONLY) !== 0) {
    // "check that we only pin down anonymous memory to prevent problems with writeback"
    const end = ttm.userptr + ttm.numPages * PAGE_SIZE;
    const vma = mm.findVma(ttm.userptr);
    if (vma === undefined || vma.end < end) return EPERM; // every model VMA is anonymous (no vm_file)
  }
  let pinned = 0;
  const got = [];
  do {
    const r = await getUserPages(mm, ttm.userptr + pinned * PAGE_SIZE, ttm.numPages - pinned, { write });
    if (r.ret < 0) {
      releaseUserPages(mm, got, false); // release_pages(ttm->pages, pinned)
      return r.ret;
    }
    for (const p of r.pages) {
      ttm.pages[pinned++] = p.page;
      got.push(p);
    }
  } while (pinned < ttm.numPages);
  await radeonGfpKernelAlloc(k, mm, "sg_alloc_table_from_pages");
  ttm.sg!.sgl = got; // sg_alloc_table_from_pages, dma_map_sg, drm_prime_sg_to_page_addr_arrays
  k.ex.count("radeon.userptr_pin");
  return 0;
}

// drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_tt_unpin_userptr() @5.4
function radeonTtmTtUnpinUserptr(ttm: RadeonTtmTt): void {
  // "double check that we don't free the table twice"
  const sgl = ttm.sg?.sgl ?? null;
  if (sgl === null) return;
  // dma_unmap_sg; for each page: set_page_dirty unless READONLY, mark_page_accessed, put_page
  releaseUserPages(ttm.usermm!, sgl, false);
  ttm.sg!.sgl = null; // sg_free_table
}

/**
 * drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_backend_bind() @5.4 — pin, then program the
 * GART from ttm->pages. Unclear record (not in the reference; from memory of the source, not
 * verified): the call to radeon_ttm_tt_pin_userptr() is not checked, and the GART flags of a
 * userptr may lose RADEON_GART_PAGE_WRITE. The model maps only pages a successful pin obtained
 * (a failed pin maps nothing, rather than whatever stale DMA addresses the TT still holds) and
 * maps them writable unless the BO is READONLY.
 */
async function radeonTtmBackendBind(ttm: RadeonTtmTt, current: MmStruct | null): Promise<number> {
  const bo = ttm.bo;
  const r = await radeonTtmTtPinUserptr(ttm, current);
  if (r !== 0) bo.rdev.kernel.ex.trace("note", "radeon_ttm_tt_pin_userptr failed", bo.name, String(r));
  const sgl = ttm.sg?.sgl ?? null;
  const writable = (ttm.userflags & RADEON_GEM_USERPTR_READONLY) === 0;
  // radeon_gart_bind()
  await bo.rdev.gart.map(sgl ?? [], { writable });
  return 0;
}

// drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_backend_unbind() @5.4
async function radeonTtmBackendUnbind(ttm: RadeonTtmTt): Promise<void> {
  // radeon_gart_unbind()
  await ttm.bo.rdev.gart.unmap(ttm.userptr, ttm.userptr + ttm.numPages * PAGE_SIZE);
  radeonTtmTtUnpinUserptr(ttm);
}

// drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_tt_populate() @5.4 — a userptr only gets its sg table
async function radeonTtmTtPopulate(ttm: RadeonTtmTt): Promise<number> {
  const k = ttm.bo.rdev.kernel;
  await radeonGfpKernelAlloc(k, ttm.usermm, "radeon_ttm_tt_populate: kzalloc(sg_table)");
  ttm.sg = { sgl: null };
  await ttm.state.set("tt_unbound");
  return 0;
}

// drivers/gpu/drm/ttm/ttm_tt.c: ttm_tt_bind() @5.4 — caller holds the reservation
async function ttmTtBind(ttm: RadeonTtmTt, current: MmStruct | null): Promise<number> {
  if (ttm.state.get() === "tt_bound") return 0;
  if (ttm.state.get() === "tt_unpopulated") {
    const r = await radeonTtmTtPopulate(ttm);
    if (r !== 0) return r;
  }
  const r = await radeonTtmBackendBind(ttm, current);
  if (r !== 0) return r;
  await ttm.state.set("tt_bound");
  return 0;
}

// drivers/gpu/drm/ttm/ttm_tt.c: ttm_tt_unbind() @5.4 — caller holds the reservation
export async function ttmTtUnbind(ttm: RadeonTtmTt): Promise<void> {
  if (ttm.state.get() === "tt_bound") {
    await radeonTtmBackendUnbind(ttm);
    await ttm.state.set("tt_unbound");
  }
}

/**
 * drivers/gpu/drm/ttm/ttm_bo.c: ttm_bo_validate() @5.4 for a userptr BO (ttm_bo_handle_move_mem
 * -> ttm_bo_move_ttm; SYSTEM and TT are both non-fixed), after radeon_ttm_placement_from_domain.
 * Caller holds the reservation. `current` is the calling task's mm (null: none of this process).
 */
export async function ttmBoValidate(
  bo: RadeonBo,
  domain: RadeonDomain,
  current: MmStruct | null,
): Promise<number> {
  const k = bo.rdev.kernel;
  if (!bo.resv.heldBySelf()) k.warn(`ttm_bo_validate(${bo.name}) without its reservation`); // lockdep_assert_held
  const ttm = bo.use("ttm_bo_validate").ttm;
  if (bo.domain === domain || ttm === null) return 0;
  if (domain === "CPU") {
    // ttm_bo_move_ttm: old placement not SYSTEM: ttm_bo_wait (the fences), unbind.
    await dmaResvWaitTimeoutRcu(bo);
    await ttmTtUnbind(ttm);
    bo.domain = "CPU";
    return 0;
  }
  const r = await ttmTtBind(ttm, current);
  if (r !== 0) return r;
  bo.domain = "GTT";
  return 0;
}

/**
 * drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_bo_destroy() @5.4, reached from ttm_bo_release
 * once the BO is idle: ttm_bo_cleanup_memtype_use -> ttm_tt_destroy (unbind: unpin the pages;
 * unpopulate: kfree the sg), then kfree(bo).
 */
export async function radeonTtmBoDestroy(bo: RadeonBo): Promise<void> {
  const ttm = bo.use("ttm_bo_cleanup_memtype_use").ttm;
  if (ttm !== null) {
    await radeonBoReserve(bo, true);
    await ttmTtUnbind(ttm);
    ttm.sg = null;
    await radeonBoUnreserve(bo);
  }
  bo.ttm = null;
  const i = bo.rdev.bos.indexOf(bo);
  if (i >= 0) bo.rdev.bos.splice(i, 1); // list_del_init(&bo->list) under gem.mutex
  kfree(bo.rdev.kernel, bo, "radeon_ttm_bo_destroy: kfree(bo)");
}

/**
 * drivers/gpu/drm/ttm/ttm_bo.c: ttm_bo_release() -> ttm_bo_cleanup_refs_or_queue() @5.4 — a busy
 * BO goes on the delayed-destroy list and the workqueue frees it when its fences have signalled.
 */
export async function ttmBoRelease(bo: RadeonBo): Promise<void> {
  const k = bo.rdev.kernel;
  if (bo.fences.every((f) => f.signaled)) {
    await radeonTtmBoDestroy(bo);
    return;
  }
  k.ex.spawn(`ttm_bo_delayed_delete(${bo.name})`, async () => {
    await dmaResvWaitTimeoutRcu(bo);
    await radeonTtmBoDestroy(bo);
  });
}
