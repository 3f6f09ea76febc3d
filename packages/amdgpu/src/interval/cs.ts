/**
 * The GFX command submission and GEM_USERPTR paths as of Linux 5.5
 * (drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c, amdgpu_gem.c; reference gpu-drivers.md 1.6).
 * 81fa1af31b5d drops p->mn = amdgpu_mn_get() and swaps amdgpu_mn_lock(p->mn) for
 * mutex_lock(&adev->notifier_lock); nothing else changes. The check under the lock is now
 * !mmu_interval_read_retry, so a complete invalidation between get_user_pages and the check is
 * seen (its callback's set_seq), where 5.4's hmm_range_valid had been reset to true (O1).
 *
 * GEM_USERPTR VALIDATE still binds the pages it got and calls _done unlocked, ignoring the
 * result (O5, kept as a FIXME).
 */
import { type DmaFence, EAGAIN, EPERM, kfree, type MmStruct, PAGE_SIZE, type Page } from "@mnlab/core";
import {
  type AmdgpuTask,
  AmdgpuTtmTt,
  amdgpuBoReserve,
  amdgpuBoUnreserve,
  amdgpuTtmTtGetUsermm,
  amdgpuTtmTtSetUserPages,
  ttmBoRelease,
  ttmBoValidate,
} from "../common/bo.ts";
import { drmSchedEntityPushJob } from "../common/job.ts";
import { amdgpuMnRegister, amdgpuMnUnregister, type IntervalDevice } from "./mn.ts";
import { amdgpuTtmTtGetUserPages, amdgpuTtmTtGetUserPagesDone, IntervalBo } from "./ttm.ts";

// drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c: amdgpu_cs_ioctl() @5.5 (parser_bos, list_validate, submit)
export async function amdgpuCsIoctl(
  adev: IntervalDevice,
  current: MmStruct,
  bo: IntervalBo,
  addr: number,
  write: boolean,
): Promise<DmaFence | number> {
  const k = bo.kernel;
  k.ex.trace("call", "amdgpu_cs_ioctl", bo.name);
  // amdgpu_cs_parser_bos()
  const userPages: (Page | null)[] = new Array<Page | null>(bo.ttm.numPages).fill(null);
  let r = await amdgpuTtmTtGetUserPages(bo, userPages);
  if (r !== 0) return r;
  const userInvalidated = bo.ttm.pages.some((p, i) => p !== userPages[i]);
  await amdgpuBoReserve(bo); // ttm_eu_reserve_buffers()
  // amdgpu_cs_list_validate()
  const usermm = amdgpuTtmTtGetUsermm(bo.ttm);
  if (usermm !== null && usermm !== current) r = EPERM;
  if (r === 0 && userInvalidated) {
    await ttmBoValidate(bo, "CPU");
    amdgpuTtmTtSetUserPages(bo.ttm, userPages);
  }
  if (r === 0) r = await ttmBoValidate(bo, "GTT"); // amdgpu_cs_validate()
  if (r !== 0) {
    await amdgpuTtmTtGetUserPagesDone(bo); // out_free_user_pages
    await amdgpuBoUnreserve(bo);
    return r;
  }
  // amdgpu_cs_submit()
  await adev.notifierLock.lock();
  // "If userptr are invalidated after amdgpu_cs_parser_bos(), return -EAGAIN"
  if (!(await amdgpuTtmTtGetUserPagesDone(bo))) {
    await adev.notifierLock.unlock();
    await amdgpuBoUnreserve(bo);
    return EAGAIN;
  }
  const fence = drmSchedEntityPushJob(adev.gpu, bo, addr, write);
  bo.resv.fences.push(fence); // ttm_eu_fence_buffer_objects(): fence, then unreserve
  await amdgpuBoUnreserve(bo);
  await adev.notifierLock.unlock();
  return fence;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c: amdgpu_gem_userptr_ioctl() @5.5 — create and REGISTER
export async function amdgpuGemUserptrRegister(
  adev: IntervalDevice,
  task: AmdgpuTask,
  current: MmStruct,
  name: string,
  addr: number,
  size: number,
  write: boolean,
  kfd = false,
): Promise<IntervalBo | number> {
  // amdgpu_ttm_tt_set_userptr(): usertask = current->group_leader
  const ttm = new AmdgpuTtmTt(addr, size / PAGE_SIZE, task, { readonly: !write, anononly: true });
  const bo = new IntervalBo(adev.kernel, name, ttm, adev);
  if (kfd) return bo; // amdgpu_amdkfd_gpuvm_alloc_memory_of_gpu: bo->kfd_bo is set, init_user_pages registers
  const r = await amdgpuMnRegister(bo, addr, current);
  if (r !== 0) {
    kfree(bo.kernel, bo, "amdgpu_gem_userptr_ioctl: release_object"); // drm_gem_object_put of the new BO
    return r;
  }
  return bo;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c: amdgpu_gem_userptr_ioctl() @5.5 — the VALIDATE block (O5)
export async function amdgpuGemUserptrValidate(bo: IntervalBo): Promise<number> {
  let r = await amdgpuTtmTtGetUserPages(bo, bo.ttm.pages);
  if (r !== 0) return r;
  await amdgpuBoReserve(bo);
  r = await ttmBoValidate(bo, "GTT");
  await amdgpuBoUnreserve(bo);
  await amdgpuTtmTtGetUserPagesDone(bo); // user_pages_done: unlocked, the result is not looked at
  return r;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c: amdgpu_gem_object_free() @5.5 — unregister, then the BO goes
export async function amdgpuGemObjectFree(bo: IntervalBo): Promise<void> {
  if (bo.freed) return;
  await amdgpuMnUnregister(bo);
  await ttmBoRelease(bo);
}
