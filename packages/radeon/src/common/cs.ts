/**
 * Command submission with userptr BOs (drivers/gpu/drm/radeon/radeon_cs.c, radeon_object.c
 * @5.4; unchanged in 5.5): radeon_cs_parser_relocs() sees a userptr reloc, forces it to GTT and
 * sets need_mmap_lock; current->mm's mmap_sem is held for read around radeon_bo_list_validate()
 * (ttm_eu_reserve_buffers, then ttm_bo_validate of each BO: bind -> get_user_pages). The IB is
 * scheduled with the BOs still reserved, radeon_cs_parser_fini() fences them
 * (ttm_eu_fence_buffer_objects) and unreserves. The GPU job reads the GART when it runs.
 *
 * Left out, stated: rdev->exclusive_lock (the GPU-reset rwsem every CS takes for read: no
 * invalidation takes it), the VM and the IB contents.
 */
import { type AccessResult, type DeviceAccess, DmaFence, type MmStruct, POPULATE_RETRY } from "@mnlab/core";
import { RADEON_JOB_TICKS } from "../knobs.ts";
import type { RadeonDomain } from "../uapi.ts";
import type { RadeonBo, RadeonDevice } from "./bo.ts";

/** -ERESTARTSYS: a signal interrupted a wait (include/linux/errno.h). */
const ERESTARTSYS = -512;

import { radeonBoReserve, radeonBoUnreserve, ttmBoValidate } from "./ttm.ts";

/**
 * drivers/gpu/drm/radeon/radeon_object.c: radeon_bo_list_validate() @5.4 — caller holds
 * mmap_sem (read) when a userptr is in the list. The reservations stay held on success.
 */
async function radeonBoListValidate(bos: readonly RadeonBo[], current: MmStruct | null): Promise<number> {
  // ttm_eu_reserve_buffers(): every BO with the CS's ww ticket (in list order; the model runs
  // no two multi-BO submissions at once, so the -EDEADLK backoff never happens).
  for (const bo of bos) await radeonBoReserve(bo, false);
  for (const bo of bos) {
    // radeon_cs_parser_relocs() forced preferred = allowed = GTT for a userptr reloc.
    const allowed: RadeonDomain = "GTT";
    let domain: RadeonDomain = "GTT";
    for (;;) {
      const r = await ttmBoValidate(bo, domain, current);
      if (r === 0) break;
      if (r !== ERESTARTSYS && domain !== allowed) {
        // retry: with the allowed domains (never taken for a userptr: they are equal).
        bo.rdev.kernel.ex.count(POPULATE_RETRY);
        domain = allowed;
        continue;
      }
      for (const b of bos) await radeonBoUnreserve(b); // ttm_eu_backoff_reservation
      return r;
    }
  }
  return 0;
}

/** A GPU job on the GFX ring: the accesses its IB makes through the GART, and its fence. */
export interface RadeonJob {
  readonly fence: DmaFence;
  readonly accesses: readonly DeviceAccess[];
}

/**
 * The GPU runs a job: it reads and writes through the GART when it runs (not when it was
 * submitted), then stays busy for RADEON_JOB_TICKS before its fence signals.
 */
export async function radeonRunJob(rdev: RadeonDevice, job: RadeonJob): Promise<readonly AccessResult[]> {
  for (const a of job.accesses) job.fence.results.push(await rdev.gart.access(a.addr, a.write, a.value));
  await rdev.kernel.ex.sleep(RADEON_JOB_TICKS);
  await job.fence.signal();
  return job.fence.results;
}

/**
 * radeon_ib_schedule() -> radeon_fence_emit(): the job gets a fence. An IB that touches none of
 * the BOs (populate's) is modelled as finished before anyone could wait for it: no fence is
 * added (stated simplification: nothing in such an IB reads a mapping, and waiting for it would
 * only add scheduling points).
 */
function radeonIbSchedule(rdev: RadeonDevice, accesses: readonly DeviceAccess[]): RadeonJob | null {
  if (accesses.length === 0) return null;
  const fence = new DmaFence(rdev.gart, `radeon_fence(gfx, seq ${rdev.nextSeqno()})`);
  return { fence, accesses };
}

/**
 * drivers/gpu/drm/radeon/radeon_cs.c: radeon_cs_ioctl() @5.4 — relocs `bos` (all userptr), an IB
 * doing `accesses`. Returns 0 and the job's fence, or -errno.
 */
export async function radeonCsIoctl(
  rdev: RadeonDevice,
  bos: readonly RadeonBo[],
  accesses: readonly DeviceAccess[],
  current: MmStruct | null,
): Promise<{ ret: number; job: RadeonJob | null }> {
  const k = rdev.kernel;
  k.ex.trace("call", "radeon_cs_ioctl", bos.map((b) => b.name).join(", "));
  // radeon_cs_parser_relocs(): a userptr reloc -> need_mmap_lock = true.
  const needMmapLock = bos.some((b) => b.use("radeon_cs_parser_relocs").ttm?.usermm != null);
  // down_read(&current->mm->mmap_sem): the caller's own mm. A caller of another process locks
  // its own mm, which nothing in the model contends for.
  const mmapSem = needMmapLock && current !== null ? current.mmapSem : null;
  if (mmapSem !== null) await mmapSem.downRead();
  const r = await radeonBoListValidate(bos, current);
  if (mmapSem !== null) await mmapSem.upRead();
  if (r !== 0) {
    k.ex.trace("ret", "radeon_cs_ioctl", undefined, String(r));
    return { ret: r, job: null };
  }
  // radeon_cs_ib_chunk() -> radeon_ib_schedule() -> radeon_fence_emit()
  const job = radeonIbSchedule(rdev, accesses);
  // radeon_cs_parser_fini() -> ttm_eu_fence_buffer_objects(): fence each BO, unreserve.
  for (const bo of bos) {
    if (job !== null) bo.fences = [...bo.fences.filter((f) => !f.signaled), job.fence];
    await radeonBoUnreserve(bo);
  }
  k.ex.trace("ret", "radeon_cs_ioctl", undefined, "0");
  return { ret: 0, job };
}

/**
 * After a CS, the caller waits for its job (drivers/gpu/drm/radeon/radeon_gem.c:
 * radeon_gem_wait_idle_ioctl() @5.4: dma_resv_wait_timeout_rcu on the BO, no reservation).
 * Stated simplification: the GPU's run of the job is played by the waiting thread itself
 * (the job runs after the CS returned and before the wait returns, which is when a separate
 * GPU thread would run it as well); a job nobody waits for gets its own thread (spawnJob).
 */
export async function radeonGemWaitIdle(
  rdev: RadeonDevice,
  job: RadeonJob,
): Promise<readonly AccessResult[]> {
  return radeonRunJob(rdev, job);
}

/** A job that runs on its own while the submitter goes on (R5: the process exits meanwhile). */
export function spawnJob(rdev: RadeonDevice, job: RadeonJob): void {
  rdev.kernel.ex.spawn(`gpu: ${job.fence.name}`, async () => void (await radeonRunJob(rdev, job)));
}
