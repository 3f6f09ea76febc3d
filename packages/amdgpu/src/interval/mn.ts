/**
 * drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c as of Linux 5.5 (62914a99dee5 "Use
 * mmu_interval_insert instead of hmm_mirror", 81fa1af31b5d "Use mmu_interval_notifier instead
 * of hmm_mirror"; reference gpu-drivers.md 1.6): every userptr BO embeds an
 * mmu_interval_notifier over exactly [userptr, userptr + size), and the driver lock is one
 * device-global mutex, adev->notifier_lock. amdgpu_mn, its nodes, hash, tree, destroy work and
 * mirror are gone.
 *
 * The callbacks refuse every non-blockable range (false), otherwise take notifier_lock, call
 * set_seq, and either wait for every fence of the BO (GFX; the per-BO overlap filter is gone,
 * "most likely not" needed) or evict the KFD allocation (HSA). At exit the core's release pass
 * calls them for every userptr BO, blocking.
 */
import {
  type Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
  rangeBlockable,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";
import { dmaResvWaitTimeoutRcu } from "../common/bo.ts";
import { AmdgpuGpu } from "../common/job.ts";
import { amdgpuAmdkfdEvictUserptr, type KgdMem } from "../common/kfd.ts";
import type { IntervalBo } from "./ttm.ts";

/** struct amdgpu_device @5.5, reduced to notifier_lock and the GPU. */
export class IntervalDevice {
  /** adev->notifier_lock, initialised in amdgpu_device_init: serialises set_seq with the CS check. */
  readonly notifierLock: Mutex;
  readonly gpu: AmdgpuGpu;

  constructor(
    readonly kernel: Kernel,
    mm: MmStruct,
  ) {
    this.notifierLock = new Mutex(kernel.ex, "adev->notifier_lock");
    this.gpu = new AmdgpuGpu(kernel, "adev", mm);
  }
}

/** bo->notifier: container_of() gives the BO back. */
export class BoNotifier extends MmuIntervalNotifier {
  constructor(readonly bo: IntervalBo) {
    super(`${bo.name}->notifier`);
  }
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_invalidate_gfx() @5.5
async function amdgpuMnInvalidateGfx(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const bo = (mni as BoNotifier).bo;
  const adev = bo.adev;
  bo.kernel.ex.count("amdgpu.bo_checked");
  if (!rangeBlockable(range)) return false;
  await adev.notifierLock.lock();
  await mmuIntervalSetSeq(mni, curSeq);
  bo.kernel.ex.count("amdgpu.bo_wait");
  // dma_resv_wait_timeout_rcu(resv, true, false, MAX_SCHEDULE_TIMEOUT); a failure is only logged.
  await dmaResvWaitTimeoutRcu(bo);
  await adev.notifierLock.unlock();
  return true;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_invalidate_hsa() @5.5
async function amdgpuMnInvalidateHsa(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const bo = (mni as BoNotifier).bo;
  const adev = bo.adev;
  bo.kernel.ex.count("amdgpu.bo_checked");
  if (!rangeBlockable(range)) return false;
  await adev.notifierLock.lock();
  await mmuIntervalSetSeq(mni, curSeq);
  await amdgpuAmdkfdEvictUserptr(bo.kfdBo as KgdMem, mni.mm!);
  await adev.notifierLock.unlock();
  return true;
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_gfx_ops, amdgpu_mn_hsa_ops @5.5
const amdgpuMnGfxOps: MmuIntervalNotifierOps = { invalidate: amdgpuMnInvalidateGfx };
const amdgpuMnHsaOps: MmuIntervalNotifierOps = { invalidate: amdgpuMnInvalidateHsa };

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_register() @5.5 — on current->mm
export function amdgpuMnRegister(bo: IntervalBo, addr: number, current: MmStruct): Promise<number> {
  const ops = bo.kfdBo !== null ? amdgpuMnHsaOps : amdgpuMnGfxOps;
  return mmuIntervalNotifierInsert(bo.notifier, current, addr, bo.size, ops);
}

// drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c: amdgpu_mn_unregister() @5.5
export async function amdgpuMnUnregister(bo: IntervalBo): Promise<void> {
  if (bo.notifier.mm === null) return;
  await mmuIntervalNotifierRemove(bo.notifier);
  bo.notifier.mm = null;
}
