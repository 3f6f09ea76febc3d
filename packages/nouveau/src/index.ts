/**
 * @mnlab/nouveau — nouveau SVM (drivers/gpu/drm/nouveau/nouveau_svm.c) as Linux 5.4 had it, on
 * the hmm_mirror API, and as Jason Gunthorpe's series converted it for 5.5: a plain
 * mmu_notifier for the PFNCLR (c625c274ee00) and a temporary mmu_interval_notifier per GPU
 * fault window for the collision retry (20fef4ef84bf). Reference: gpu-drivers.md section 2.
 */
import type { DriverModel, DriverPackage } from "@mnlab/core";
import { interval } from "./interval/index.ts";
import { legacy } from "./legacy/index.ts";
import { scenarios } from "./scenarios.ts";

export { type NouveauChannels, nouveauChannels } from "./channels.ts";
export { interval } from "./interval/index.ts";
export { type PfnmapAllocation, pfnmapAllocation, setPfnmapAllocation } from "./knobs.ts";
export { legacy } from "./legacy/index.ts";
export {
  CHANNEL_FREE_DURING_FAULT_LOOKUP,
  conformanceScenarios,
  driverScenarios,
  MUNMAP_LAST_PAGE_DURING_FAULT,
  referenceScenarios,
  scenarios,
  V1,
  V2,
  V3,
  V4,
  V6,
  V6_COUNTERS,
  V6_FAULT_AT,
  V6_TRAFFIC,
  V8,
} from "./scenarios.ts";
export { CHANNEL_INST, SECOND_CHANNEL_INST, SVM_INIT_ARGS } from "./uapi.ts";

export const variants: DriverModel[] = [legacy, interval];

export const driverPackage: DriverPackage = {
  name: "nouveau",
  title: "nouveau SVM: GPU mirroring of a whole process address space with replayable faults (nouveau_svm.c)",
  design: {
    legacy: [
      "- One `hmm_mirror` per client (`nouveau_svmm`); its `sync_cpu_device_pagetables` runs for **every** invalidation",
      "  of the mm, PFNCLRs under `svmm->mutex`, and refuses every non-blockable one (the OOM reaper never reaps).",
      "- The fault worker holds `mmap_sem` (read) **without an mmget**, registers an `hmm_range`, waits up to",
      "  1000 ms for it to be valid (an mm-global gate), faults, then checks `valid` under `svmm->mutex` and PFNMAPs.",
      "- `valid` is a level: a complete invalidation between the fault and the check goes unseen (ABA, stale PFNs).",
      "- The svmm is kfree()d at fini with no reference held by the worker; the mirror's `release` is empty.",
    ].join("\n"),
    interval: [
      "- The svmm embeds a plain `mmu_notifier` whose `invalidate_range_start` still PFNCLRs for every invalidation",
      "  (skipping the hardware once `svmm->vmm` is NULL); fini NULLs `vmm` and frees the svmm after SRCU.",
      "- Each fault window gets a **temporary** `mmu_interval_notifier` on the worker's stack: `mmget_not_zero`,",
      "  insert, the again-loop (`read_begin`, `hmm_range_fault`, `svmm->mutex`, `read_retry`, PFNMAP), remove.",
      "- The itree callback only takes `svmm->mutex` and calls `set_seq`; the PFNCLR comes after, from the hlist",
      "  callback. `mmap_sem` and `svmm->mutex` are never held together; the driver grew by 50 lines.",
    ].join("\n"),
  },
  patches: [
    {
      commit: "c625c274ee00",
      title: "nouveau: use mmu_notifier directly for invalidate_range_start",
      insertions: 63,
      deletions: 32,
    },
    {
      commit: "20fef4ef84bf",
      title: "nouveau: use mmu_interval_notifier instead of hmm_mirror",
      insertions: 99,
      deletions: 80,
    },
  ],
  variants,
  scenarios,
};
