/**
 * The GFX command submission and GEM_USERPTR paths as of Linux 5.4
 * (drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c, amdgpu_gem.c; reference gpu-drivers.md 1.4, 1.5),
 * reduced to one userptr BO and one IB that touches one dword of it:
 *
 *   amdgpu_cs_parser_bos   p->mn = amdgpu_mn_get(GFX); get_user_pages into e->user_pages;
 *                          user_invalidated where they differ from ttm->pages; reserve (ww)
 *   amdgpu_cs_list_validate -EPERM for another mm's userptr; an invalidated BO goes to the CPU
 *                          domain, gets the new pages, and is validated into GTT (bind)
 *   amdgpu_cs_submit       amdgpu_mn_lock (amn->lock for write); -EAGAIN if any _done is
 *                          false; else push the job, fence the BOs, unlock
 *
 * GEM_USERPTR with VALIDATE gets the pages, validates into GTT and calls _done ignoring its
 * result (O5): the pages it binds may already be invalidated.
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
import {
  amdgpuMnGet,
  amdgpuMnLock,
  amdgpuMnRegister,
  amdgpuMnUnlock,
  amdgpuMnUnregister,
  type LegacyDevice,
} from "./mn.ts";
import { amdgpuTtmTtGetUserPages, amdgpuTtmTtGetUserPagesDone, LegacyBo } from "./ttm.ts";

// drivers/gpu/drm/amd/amdgpu/amdgpu_cs.c: amdgpu_cs_ioctl() @5.4 (parser_bos, list_validate, submit)
export async function amdgpuCsIoctl(
  adev: LegacyDevice,
  current: MmStruct,
  bo: LegacyBo,
  addr: number,
  write: boolean,
): Promise<DmaFence | number> {
  const k = bo.kernel;
  k.ex.trace("call", "amdgpu_cs_ioctl", bo.name);
  // amdgpu_cs_parser_bos()
  const mn = await amdgpuMnGet(adev, current, "GFX");
  if (typeof mn === "number") return mn;
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
    // out_free_user_pages: _done for every userptr entry that got pages; parser_fini backs off.
    await amdgpuTtmTtGetUserPagesDone(bo);
    await amdgpuBoUnreserve(bo);
    return r;
  }
  // amdgpu_cs_submit(): "No memory allocation is allowed while holding the mn lock."
  await amdgpuMnLock(mn);
  // "If userptr are invalidated after amdgpu_cs_parser_bos(), return -EAGAIN"
  if (!(await amdgpuTtmTtGetUserPagesDone(bo))) {
    await amdgpuMnUnlock(mn);
    await amdgpuBoUnreserve(bo); // error_abort, then amdgpu_cs_parser_fini's backoff
    return EAGAIN;
  }
  const fence = drmSchedEntityPushJob(adev.gpu, bo, addr, write);
  bo.resv.fences.push(fence); // ttm_eu_fence_buffer_objects(): fence, then unreserve
  await amdgpuBoUnreserve(bo);
  await amdgpuMnUnlock(mn);
  return fence;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c: amdgpu_gem_userptr_ioctl() @5.4 — create and REGISTER
export async function amdgpuGemUserptrRegister(
  adev: LegacyDevice,
  task: AmdgpuTask,
  current: MmStruct,
  name: string,
  addr: number,
  size: number,
  write: boolean,
  kfd = false,
): Promise<LegacyBo | number> {
  const k = adev.kernel;
  // amdgpu_ttm_tt_set_userptr(): usertask = current->group_leader
  const ttm = new AmdgpuTtmTt(addr, size / PAGE_SIZE, task, { readonly: !write, anononly: true });
  const bo = new LegacyBo(k, name, ttm, adev);
  if (kfd) return bo; // amdgpu_amdkfd_gpuvm_alloc_memory_of_gpu: bo->kfd_bo is set, init_user_pages registers
  const r = await amdgpuMnRegister(bo, addr, current);
  if (r !== 0) {
    kfree(bo.kernel, bo, "amdgpu_gem_userptr_ioctl: release_object"); // drm_gem_object_put of the new BO
    return r;
  }
  return bo;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c: amdgpu_gem_userptr_ioctl() @5.4 — the VALIDATE block (O5)
export async function amdgpuGemUserptrValidate(bo: LegacyBo): Promise<number> {
  let r = await amdgpuTtmTtGetUserPages(bo, bo.ttm.pages);
  if (r !== 0) return r;
  await amdgpuBoReserve(bo);
  r = await ttmBoValidate(bo, "GTT");
  await amdgpuBoUnreserve(bo);
  await amdgpuTtmTtGetUserPagesDone(bo); // user_pages_done: the result is not looked at
  return r;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c: amdgpu_gem_object_free() @5.4 — unregister, then the BO goes
export async function amdgpuGemObjectFree(bo: LegacyBo): Promise<void> {
  if (bo.freed) return;
  await amdgpuMnUnregister(bo);
  await ttmBoRelease(bo);
}
