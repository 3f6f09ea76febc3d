/**
 * include/uapi/drm/radeon_drm.h @5.4/5.5: the flags of DRM_IOCTL_RADEON_GEM_USERPTR and the
 * memory domains a BO can be placed in. What the model's user space passes to the driver.
 */

/** RADEON_GEM_USERPTR_READONLY: the GPU only reads; may skip the notifier. */
export const RADEON_GEM_USERPTR_READONLY = 1 << 0;
/** RADEON_GEM_USERPTR_ANONONLY: only anonymous memory (checked by find_vma at bind). */
export const RADEON_GEM_USERPTR_ANONONLY = 1 << 1;
/** RADEON_GEM_USERPTR_VALIDATE: validate (bind) the BO at creation. */
export const RADEON_GEM_USERPTR_VALIDATE = 1 << 2;
/** RADEON_GEM_USERPTR_REGISTER: install the MMU notifier. */
export const RADEON_GEM_USERPTR_REGISTER = 1 << 3;

/** RADEON_GEM_DOMAIN_CPU / _GTT: where a BO lives (TTM_PL_SYSTEM / TTM_PL_TT). */
export type RadeonDomain = "CPU" | "GTT";
