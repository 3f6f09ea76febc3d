/**
 * The 5.5 variant as a DriverModel (reference gpu-drivers.md 1.6):
 *   open        the DRM file on an amdgpu device: adev (notifier_lock), the GPU, a KFD process
 *   register    amdgpu_gem_userptr_ioctl(REGISTER | ANONONLY[, READONLY]): insert bo->notifier
 *   populate    the same ioctl's VALIDATE block: get_user_pages, validate into GTT, _done ignored
 *   access      amdgpu_cs_ioctl through drmIoctl (restarted on -EAGAIN), then wait for the job
 *   unregister  the last GEM handle goes: mmu_interval_notifier_remove, the BO is destroyed once idle
 *   close       the KFD process VM goes, then every remaining BO
 */
import type { DriverModel, Kernel, MmStruct } from "@mnlab/core";
import { AmdgpuTask } from "../common/bo.ts";
import { amdgpuContext } from "../common/context.ts";
import {
  amdgpuCsIoctl,
  amdgpuGemObjectFree,
  amdgpuGemUserptrRegister,
  amdgpuGemUserptrValidate,
} from "./cs.ts";
import { amdgpuMnRegister, amdgpuMnUnregister, IntervalDevice } from "./mn.ts";
import { amdgpuTtmTtGetUserPages, amdgpuTtmTtGetUserPagesDone, type IntervalBo } from "./ttm.ts";

export const interval: DriverModel = {
  info: {
    driver: "amdgpu",
    id: "interval",
    kernel: "5.5",
    files: [
      "drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_amdkfd_gpuvm.c",
    ],
    commits: ["a9ae8731e6e5", "62914a99dee5", "81fa1af31b5d"],
    source: new URL(".", import.meta.url).href,
    summary:
      "one mmu_interval_notifier per userptr BO, adev->notifier_lock around set_seq and the CS's read_retry, get_user_pages' 1000 ms again-loop",
  },
  async open(k: Kernel, mm: MmStruct) {
    const adev = new IntervalDevice(k, mm);
    const task = new AmdgpuTask(k, "proc", mm);
    return amdgpuContext(k, {
      mm,
      task,
      gpu: adev.gpu,
      kfdOps: {
        register: (bo, addr) => amdgpuMnRegister(bo as IntervalBo, addr, mm),
        unregister: (bo) => amdgpuMnUnregister(bo as IntervalBo),
        getUserPages: (bo, pages) => amdgpuTtmTtGetUserPages(bo as IntervalBo, pages),
        getUserPagesDone: (bo) => amdgpuTtmTtGetUserPagesDone(bo as IntervalBo),
      },
      createUserptr: (name, addr, size, write, kfd) =>
        amdgpuGemUserptrRegister(adev, task, mm, name, addr, size, write, kfd),
      validate: (bo) => amdgpuGemUserptrValidate(bo as IntervalBo),
      cs: (bo, addr, write) => amdgpuCsIoctl(adev, mm, bo as IntervalBo, addr, write),
      free: (bo) => amdgpuGemObjectFree(bo as IntervalBo),
      flushWork: async () => {},
    });
  },
};
