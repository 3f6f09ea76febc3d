/**
 * Who calls the ioctls. radeon takes no mm reference of its own: every path uses current->mm
 * (mmu_notifier_get / mmu_interval_notifier_insert at registration, mmap_sem around CS
 * validation, the `current->mm != gtt->usermm` check of pin_userptr). A task can only issue an
 * ioctl while it has its mm, and each thread of a process holds an mm_users reference
 * (copy_mm with CLONE_VM). The model's ioctl threads are such threads: an ioctl holds one
 * reference for its duration, and the last thread out runs exit_mmap, as the last exiting
 * thread does. When the process has already gone, the caller is another process holding the
 * DRM fd: current->mm is not the BO's mm, and pin_userptr refuses with -EPERM.
 */
import { type MmStruct, mmgetNotZero, mmput } from "@mnlab/core";

/** Run `body` as an ioctl of a task of `mm` (or of another process once `mm` has exited). */
export async function asCurrent<T>(mm: MmStruct, body: (current: MmStruct | null) => Promise<T>): Promise<T> {
  const held = await mmgetNotZero(mm);
  try {
    return await body(held ? mm : null);
  } finally {
    if (held) await mmput(mm);
  }
}
