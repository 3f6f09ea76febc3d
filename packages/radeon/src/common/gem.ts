/**
 * GEM objects for userptrs (drivers/gpu/drm/radeon/radeon_gem.c @5.4; 5.5 the same):
 * DRM_IOCTL_RADEON_GEM_USERPTR creates a BO in the CPU domain, records the user range in its
 * TT (radeon_ttm_tt_set_userptr), registers the notifier when asked (radeon_mn_register) and,
 * with VALIDATE, binds it at once under mmap_sem (read). Freeing the GEM object unregisters the
 * notifier (radeon_mn_unregister) and drops the BO, which TTM destroys once it is idle.
 */
import { EINVAL, hex, type MmStruct, PAGE_SIZE } from "@mnlab/core";
import {
  RADEON_GEM_USERPTR_ANONONLY,
  RADEON_GEM_USERPTR_READONLY,
  RADEON_GEM_USERPTR_REGISTER,
  RADEON_GEM_USERPTR_VALIDATE,
} from "../uapi.ts";
import { RadeonBo, type RadeonDevice } from "./bo.ts";
import { EACCES } from "./errno.ts";
import { radeonBoReserve, radeonBoUnreserve, ttmBoRelease, ttmBoValidate } from "./ttm.ts";

// drivers/gpu/drm/radeon/radeon_gem.c: radeon_gem_userptr_ioctl() @5.4
export async function radeonGemUserptrIoctl(
  rdev: RadeonDevice,
  addr: number,
  size: number,
  flags: number,
  current: MmStruct,
): Promise<RadeonBo | number> {
  const k = rdev.kernel;
  k.ex.trace("call", "radeon_gem_userptr_ioctl", undefined, `[${hex(addr)}, +${hex(size)}) flags=${flags}`);
  if (addr % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return EINVAL; // offset_in_page(addr | size)
  if ((flags & RADEON_GEM_USERPTR_READONLY) === 0) {
    // "if we want to write to it we must require anonymous memory and install a MMU notifier"
    if ((flags & RADEON_GEM_USERPTR_ANONONLY) === 0 || (flags & RADEON_GEM_USERPTR_REGISTER) === 0) {
      return EACCES;
    }
  }
  // radeon_gem_object_create(): kzalloc + ttm_bo_init in the CPU domain (no lock held).
  if (size === 0) return EINVAL; // ttm_bo_init_reserved: "Illegal buffer object size"
  k.gfpKernelAlloc();
  const bo = new RadeonBo(rdev, `bo${rdev.bos.length}`, size, size / PAGE_SIZE);
  rdev.bos.push(bo);
  // radeon_ttm_tt_set_userptr()
  const ttm = bo.ttm!;
  ttm.userptr = addr;
  ttm.usermm = current;
  ttm.userflags = flags;
  let r = 0;
  if ((flags & RADEON_GEM_USERPTR_REGISTER) !== 0) {
    r = await rdev.mn.register(bo, addr, current);
  }
  if (r === 0 && (flags & RADEON_GEM_USERPTR_VALIDATE) !== 0) {
    await current.mmapSem.downRead();
    await radeonBoReserve(bo, true);
    r = await ttmBoValidate(bo, "GTT", current);
    await radeonBoUnreserve(bo);
    await current.mmapSem.upRead();
  }
  if (r !== 0) {
    // release_object: drm_gem_object_put_unlocked -> radeon_gem_object_free
    await radeonGemObjectFree(bo);
    return r;
  }
  k.ex.trace("ret", "radeon_gem_userptr_ioctl", bo.name, "0");
  return bo;
}

// drivers/gpu/drm/radeon/radeon_gem.c: radeon_gem_object_free() @5.4 — the last GEM reference
export async function radeonGemObjectFree(bo: RadeonBo): Promise<void> {
  bo.rdev.kernel.ex.trace("call", "radeon_gem_object_free", bo.name);
  await bo.rdev.mn.unregister(bo);
  await ttmBoRelease(bo); // radeon_bo_unref -> ttm_bo_put
}
