/**
 * Scenario configuration, not model code: how the GFP_KERNEL allocations that radeon makes
 * while holding a lock are modelled in one execution. Both variants read it where the kernel
 * allocates:
 *   - radeon_ttm_tt_populate's kzalloc of the sg table and radeon_ttm_tt_pin_userptr's
 *     sg_alloc_table_from_pages, under the BO's reservation (and mmap_sem, read) — O6;
 *   - (5.4 only) radeon_mn_register's kmalloc of a node under rmn->lock — O5.
 * Modes:
 *  - "gfp-kernel" (the default): Kernel.gfpKernelAlloc(). Lockdep learns reservation ->
 *    fs_reclaim (and, in 5.4, rmn->lock -> fs_reclaim); with the core's fs_reclaim ->
 *    invalidate_range_start priming and a callback that takes rmn->lock or a reservation
 *    inside invalidate_range_start, that closes a cycle in any exploration that has both.
 *  - "plain": the allocation is not modelled. The scenario table uses it for every scenario
 *    about another hazard, so that O5/O6, which are lock-order reports common to many
 *    scenarios, do not end the exploration before that hazard is reached.
 *  - { directReclaim: addr }: the allocation enters direct reclaim, which unmaps the page at
 *    `addr` of the same mm (shrink_page_list -> try_to_unmap, under fs_reclaim): R8.
 */
import type { Kernel } from "@mnlab/core";

export type AllocationModel = "gfp-kernel" | "plain" | { directReclaim: number };

const modes = new WeakMap<Kernel, AllocationModel>();

/** Choose the allocation model for the execution running on `k`. */
export function setAllocationModel(k: Kernel, mode: AllocationModel): void {
  modes.set(k, mode);
}

export function allocationModel(k: Kernel): AllocationModel {
  return modes.get(k) ?? "gfp-kernel";
}

/**
 * Virtual ticks a GPU job keeps running after its last access before its fence signals:
 * the GPU time a fence wait in the invalidate callback (or GEM_WAIT_IDLE) has to sit out.
 */
export const RADEON_JOB_TICKS = 4;
