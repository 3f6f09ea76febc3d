/**
 * The 5.4 variant as a DriverModel (reference gpu-drivers.md 1.1-1.5):
 *   open        the DRM file on an amdgpu device: adev (mn_lock, mn_hash), the GPU, a KFD process
 *   register    amdgpu_gem_userptr_ioctl(REGISTER | ANONONLY[, READONLY]): amdgpu_mn_register
 *   populate    the same ioctl's VALIDATE block: get_user_pages, validate into GTT, _done ignored
 *   access      amdgpu_cs_ioctl through drmIoctl (restarted on -EAGAIN), then wait for the job
 *   unregister  the last GEM handle goes: amdgpu_mn_unregister, the BO is destroyed once idle
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
import { amdgpuMnRegister, amdgpuMnUnregister, flushScheduledWork, LegacyDevice } from "./mn.ts";
import { amdgpuTtmTtGetUserPages, amdgpuTtmTtGetUserPagesDone, type LegacyBo } from "./ttm.ts";

export const legacy: DriverModel = {
  info: {
    driver: "amdgpu",
    id: "legacy",
    kernel: "5.4",
    files: [
      "drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c",
      "drivers/gpu/drm/amd/amdgpu/amdgpu_amdkfd_gpuvm.c",
    ],
    commits: [],
    source: new URL(".", import.meta.url).href,
    summary:
      "userptr BOs on hmm_mirror: amdgpu_mn per (device, mm, type) with merged interval-tree nodes under an rwsem; lazy `valid` checked under amn->lock in the CS",
  },
  async open(k: Kernel, mm: MmStruct) {
    const adev = new LegacyDevice(k, mm);
    const task = new AmdgpuTask(k, "proc", mm);
    return amdgpuContext(k, {
      mm,
      task,
      gpu: adev.gpu,
      kfdOps: {
        register: (bo, addr) => amdgpuMnRegister(bo as LegacyBo, addr, mm),
        unregister: (bo) => amdgpuMnUnregister(bo as LegacyBo),
        getUserPages: (bo, pages) => amdgpuTtmTtGetUserPages(bo as LegacyBo, pages),
        getUserPagesDone: (bo) => amdgpuTtmTtGetUserPagesDone(bo as LegacyBo),
      },
      createUserptr: (name, addr, size, write, kfd) =>
        amdgpuGemUserptrRegister(adev, task, mm, name, addr, size, write, kfd),
      validate: (bo) => amdgpuGemUserptrValidate(bo as LegacyBo),
      cs: (bo, addr, write) => amdgpuCsIoctl(adev, mm, bo as LegacyBo, addr, write),
      free: (bo) => amdgpuGemObjectFree(bo as LegacyBo),
      flushWork: () => flushScheduledWork(adev),
    });
  },
};
