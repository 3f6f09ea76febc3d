/** include/uapi/asm-generic/errno-base.h, errno.h: kernel functions return 0 or -E*. */
export const EPERM = -1;
export const ENOENT = -2;
export const EINTR = -4;
export const EAGAIN = -11;
export const ENOMEM = -12;
export const EFAULT = -14;
export const EBUSY = -16;
export const EINVAL = -22;
export const EOVERFLOW = -75;

const NAMES: Record<number, string> = {
  [EPERM]: "-EPERM",
  [ENOENT]: "-ENOENT",
  [EINTR]: "-EINTR",
  [EAGAIN]: "-EAGAIN",
  [ENOMEM]: "-ENOMEM",
  [EFAULT]: "-EFAULT",
  [EBUSY]: "-EBUSY",
  [EINVAL]: "-EINVAL",
  [EOVERFLOW]: "-EOVERFLOW",
};

/** "0", "-EBUSY", or the number itself for positive results (page counts). */
export function errname(code: number): string {
  return NAMES[code] ?? String(code);
}

export function isErr(code: number): boolean {
  return code < 0;
}
