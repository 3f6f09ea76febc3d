/**
 * Scenario configuration, not model code: how PFNMAP's page-table allocation is modelled in
 * one execution. Both variants read it at the point where nvkm allocates GPU page tables
 * under svmm->mutex (reference 2.5 O4, present in OLD and NEW).
 *
 *  - "gfp-kernel" (the default): a GFP_KERNEL allocation, Kernel.gfpKernelAlloc(). Lockdep
 *    learns svmm->mutex -> fs_reclaim; with the core's fs_reclaim -> invalidate_range_start
 *    priming and any callback taking svmm->mutex inside invalidate_range_start, that closes a
 *    cycle: the splat Jason reported on the v1 thread (21 Oct 2019). It fires in any
 *    exploration that has both a PFNMAP and a blockable callback, in both variants.
 *  - "plain": the allocation is not modelled. The scenario table uses it for every scenario
 *    that is about another hazard, so that O4's report, common to both variants, does not
 *    end the exploration before that hazard is reached. Nothing else changes.
 *  - { directReclaim: addr }: the allocation enters direct reclaim, which unmaps the page at
 *    `addr` of the same mm (shrink_page_list -> try_to_unmap, under fs_reclaim): V8.
 */
import type { Kernel } from "@mnlab/core";

export type PfnmapAllocation = "gfp-kernel" | "plain" | { directReclaim: number };

const modes = new WeakMap<Kernel, PfnmapAllocation>();

/** Choose the PFNMAP allocation model for the execution running on `k`. */
export function setPfnmapAllocation(k: Kernel, mode: PfnmapAllocation): void {
  modes.set(k, mode);
}

export function pfnmapAllocation(k: Kernel): PfnmapAllocation {
  return modes.get(k) ?? "gfp-kernel";
}
