/**
 * radeon behind the DriverModel contract, for either version's radeon_mn.c:
 *   open        DRM open of the device (radeon_driver_open_kms): the GART is the device's
 *   register    DRM_IOCTL_RADEON_GEM_USERPTR with ANONONLY | REGISTER (| READONLY for a
 *               read-only buffer): a userptr BO in the CPU domain with its notifier
 *   populate    a CS whose relocs hold the BO and whose IB does not touch it: validation binds
 *               it (GUP under mmap_sem, read) and the job fences it
 *   access      a CS whose IB reads or writes the word at addr through the GART, then
 *               GEM_WAIT_IDLE on the BO; the job's access result is returned
 *   unregister  GEM_CLOSE of the handle: radeon_gem_object_free
 *   close       the file goes: every GEM handle left is freed
 * Each ioctl runs as a task of the process (common/task.ts).
 */
import type {
  AccessResult,
  BufferHandle,
  DeviceAccess,
  DeviceContext,
  DriverVariantInfo,
  Kernel,
  MmStruct,
} from "@mnlab/core";
import {
  RADEON_GEM_USERPTR_ANONONLY,
  RADEON_GEM_USERPTR_READONLY,
  RADEON_GEM_USERPTR_REGISTER,
} from "../uapi.ts";
import { RadeonBo, RadeonDevice, type RadeonMnImpl } from "./bo.ts";
import { type RadeonJob, radeonCsIoctl, radeonGemWaitIdle, spawnJob } from "./cs.ts";
import { radeonGemObjectFree, radeonGemUserptrIoctl } from "./gem.ts";
import { asCurrent } from "./task.ts";

/** A userptr GEM handle. */
export interface RadeonBuffer extends BufferHandle {
  readonly bo: RadeonBo;
}

/** The device context. */
export interface RadeonContext extends DeviceContext {
  readonly rdev: RadeonDevice;
}

/**
 * One CS over several userptr relocs of one device, as a task of the process; its job (doing
 * `accesses`) runs on its own GPU thread and nobody waits for it. For the scenarios that need
 * more than the DriverModel contract (R2, R5, R8): the harness hands them the contract only.
 */
export async function radeonSubmit(
  bufs: readonly RadeonBuffer[],
  accesses: readonly DeviceAccess[],
): Promise<{ ret: number; job: RadeonJob | null }> {
  const rdev = bufs[0]?.bo.rdev;
  if (rdev === undefined) throw new Error("radeon: a CS needs at least one buffer");
  return asCurrent(rdev.mm, async (current) => {
    const r = await radeonCsIoctl(
      rdev,
      bufs.map((b) => b.bo),
      accesses,
      current,
    );
    if (r.job !== null) spawnJob(rdev, r.job);
    return r;
  });
}

export function isRadeonBuffer(b: BufferHandle): b is RadeonBuffer {
  return (b as Partial<RadeonBuffer>).bo instanceof RadeonBo;
}

/** The GEM handle behind a harness buffer (a TypeScript API check, not a kernel one). */
function bufOf(b: BufferHandle): RadeonBuffer {
  if (!isRadeonBuffer(b)) throw new Error("radeon: not a buffer of this driver");
  return b;
}

/** A variant: this glue around either version's radeon_mn.c (see the file comment). */
export function radeonModel(info: DriverVariantInfo, makeMn: (k: Kernel) => RadeonMnImpl) {
  return {
    info,
    async open(k: Kernel, mm: MmStruct): Promise<RadeonContext | number> {
      const rdev = new RadeonDevice(k, mm, makeMn(k));
      const open = new Set<RadeonBuffer>();
      const ctx: RadeonContext = {
        rdev,
        mmus: [rdev.gart],
        register: (start, len, opts) =>
          asCurrent(mm, async (current) => {
            if (current === null) throw new Error("radeon: register() after the process exited");
            const flags =
              RADEON_GEM_USERPTR_ANONONLY |
              RADEON_GEM_USERPTR_REGISTER |
              (opts.write ? 0 : RADEON_GEM_USERPTR_READONLY);
            const bo = await radeonGemUserptrIoctl(rdev, start, len, flags, current);
            if (typeof bo === "number") return bo;
            const buf: RadeonBuffer = { start, end: start + len, bo };
            open.add(buf);
            return buf;
          }),
        populate: (b) =>
          asCurrent(mm, async (current) => (await radeonCsIoctl(rdev, [bufOf(b).bo], [], current)).ret),
        access: (b, addr, write) =>
          asCurrent(mm, async (current): Promise<AccessResult | number> => {
            const { ret, job } = await radeonCsIoctl(rdev, [bufOf(b).bo], [{ addr, write }], current);
            if (job === null) return ret;
            const results = await radeonGemWaitIdle(rdev, job);
            return results[0] ?? ret;
          }),
        async unregister(b) {
          const buf = bufOf(b);
          if (!open.delete(buf)) throw new Error("radeon: unregister() of a buffer already freed");
          await radeonGemObjectFree(buf.bo);
        },
        async close() {
          // drm_release -> drm_gem_release: every handle left is freed.
          for (const buf of [...open]) {
            open.delete(buf);
            await radeonGemObjectFree(buf.bo);
          }
        },
      };
      return ctx;
    },
  };
}
