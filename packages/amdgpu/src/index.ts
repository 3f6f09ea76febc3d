/**
 * @mnlab/amdgpu — amdgpu userptr BOs (drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c, amdgpu_ttm.c,
 * amdgpu_cs.c, amdgpu_gem.c, amdgpu_amdkfd_gpuvm.c) as Linux 5.4 had them, on hmm_mirror with
 * the driver's own interval tree under an rw-semaphore, and as Jason Gunthorpe's series
 * converted them for 5.5: one mmu_interval_notifier per BO and adev->notifier_lock
 * (a9ae8731e6e5, 62914a99dee5, 81fa1af31b5d). Reference: gpu-drivers.md section 1.
 *
 * src/legacy and src/interval hold what the series changed; src/common what both versions
 * share unchanged (the BO's TTM/GART state and reservation, GPU jobs and fences, the KFD
 * eviction and restore code, which calls the variant's get_user_pages and _done), and the
 * DriverModel context over them.
 */
import type { DriverModel, DriverPackage } from "@mnlab/core";
import { interval } from "./interval/index.ts";
import { legacy } from "./legacy/index.ts";
import { scenarios } from "./scenarios.ts";

export { type AmdgpuContext, amdgpuContextOf, type KfdBuffer } from "./common/context.ts";
export { JOB_TICKS } from "./common/job.ts";
export { interval } from "./interval/index.ts";
export { legacy } from "./legacy/index.ts";
export {
  A1,
  A2,
  A3,
  A4,
  CK1,
  CK2,
  CONFORMANCE_EXPECTED,
  COUNTERS,
  conformanceScenarios,
  K1,
  K2,
  K3,
  O5a,
  O5b,
  referenceScenarios,
  scenarios,
} from "./scenarios.ts";

export const variants: DriverModel[] = [legacy, interval];

export const driverPackage: DriverPackage = {
  name: "amdgpu",
  title:
    "amdgpu userptr BOs: GFX command submission and HSA/KFD user queues on anonymous memory (amdgpu_mn.c, amdgpu_ttm.c, amdgpu_cs.c, amdgpu_amdkfd_gpuvm.c)",
  design: {
    legacy: [
      "- One `struct amdgpu_mn` per (device, mm, type), found through `adev->mn_hash` under `adev->mn_lock`, with an",
      "  embedded `hmm_mirror` and an interval tree of `amdgpu_mn_node`s that **merge on register and never shrink**.",
      "- `amn->lock` is both the tree lock and HMM's driver lock: read in the sync callbacks, which wait for every fence",
      "  of every overlapping BO (GFX) or evict it from the KFD queues (HSA), and unmap nothing; write in the CS",
      "  around `hmm_range_valid` and the fence attach.",
      "- `amdgpu_ttm_tt_get_user_pages` reads `bo->mn` and `usertask->mm` unlocked, calls `find_vma` without mmap_sem,",
      "  registers an `hmm_range`, waits up to 1000 ms for it to be valid and faults; `valid` is a level, reset by any",
      "  invalidation's end, so a whole invalidation between get-pages and the CS's check goes unseen (O1).",
      "- Exit: the mirror's release only schedules `amdgpu_mn_destroy`; nothing waits for the GPU (O4).",
    ].join("\n"),
    interval: [
      "- Every userptr BO embeds an `mmu_interval_notifier` over exactly its range; `adev->notifier_lock` (one",
      "  device-global mutex) replaces the per-mm rwsem; the amn, its nodes, hash, tree, mirror and destroy work are gone.",
      "- `amdgpu_mn_invalidate_gfx`: false when non-blockable, else lock, `set_seq`, wait for all fences, unlock;",
      "  `amdgpu_mn_invalidate_hsa`: the same around the KFD eviction.",
      "- `get_user_pages`: `WARN_ON(gtt->range)`, `mmget_not_zero`, VMA checks under mmap_sem, a 1000 ms again-loop",
      "  around `read_begin` and `hmm_range_fault`; `_done` returns `!read_retry`, which the CS checks under",
      "  `notifier_lock` and KFD and GEM_USERPTR VALIDATE call unlocked and ignore (FIXME, O5).",
      "- Exit: the core's release pass calls the callbacks of every BO, blocking; later get-pages give `-ESRCH`.",
    ].join("\n"),
  },
  patches: [
    {
      commit: "a9ae8731e6e5",
      title: "drm/amdgpu: Call find_vma under mmap_sem",
      insertions: 21,
      deletions: 16,
    },
    {
      commit: "62914a99dee5",
      title: "drm/amdgpu: Use mmu_interval_insert instead of hmm_mirror",
      insertions: 77,
      deletions: 281,
    },
    {
      commit: "81fa1af31b5d",
      title: "drm/amdgpu: Use mmu_interval_notifier instead of hmm_mirror",
      insertions: 94,
      deletions: 237,
    },
  ],
  variants,
  scenarios,
};
