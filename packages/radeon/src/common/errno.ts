/** Errno values radeon returns that core does not define (include/uapi/asm-generic/errno-base.h). */

/** -EACCES: a writable userptr without ANONONLY and REGISTER (radeon_gem_userptr_ioctl). */
export const EACCES = -13;
