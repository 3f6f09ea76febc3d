/**
 * GFX jobs (drivers/gpu/drm/amd/amdgpu/amdgpu_job.c, drivers/gpu/drm/scheduler): a CS pushes
 * a job to the GPU scheduler and returns its finished fence at once; the job runs later, and
 * its IB reads the BO through the GART *when it runs* (reference 5: "a job reads its mapping
 * at execution time"). Unchanged by the series; shared by both variants.
 *
 * How the oracles see it: the GART is driver state (AmdgpuTtmTt.gart), which amdgpu leaves
 * pointing at whatever was bound, freed pages included, until the next validation — the
 * invalidate callbacks only wait for fences. What the GPU actually touches is modelled as a
 * DeviceMmu per job ("the job's view"): when the job runs it reads its GART entry into the
 * view, accesses through it (core's oracles: use-after-free, stale-access,
 * write-after-protect), and drops it before signalling its fence. A stale GART entry no job
 * reads is not an access; one a running job reads is a hit at that access.
 */
import {
  type AccessResult,
  DeviceMmu,
  DmaFence,
  hex,
  type Kernel,
  type MmStruct,
  PAGE_SIZE,
} from "@mnlab/core";
import type { AmdgpuBo } from "./bo.ts";

/** Virtual ms a job spends on the GPU before its IB touches the BO (queueing + execution). */
export const JOB_TICKS = 5;

/** The GPU side of one device: every job view, for the contract's `mmus`. */
export class AmdgpuGpu {
  readonly views: DeviceMmu[] = [];
  private seqno = 0;
  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly mm: MmStruct,
  ) {}

  nextSeqno(): number {
    return ++this.seqno;
  }
}

/**
 * drivers/gpu/drm/amd/amdgpu/amdgpu_job.c: amdgpu_job_run() @5.4/5.5 via drm_sched_main — the
 * IB reads (or writes) one dword of `bo` at `addr` through the GART, then the scheduler signals
 * the finished fence (drm_sched_process_job). `fence` was created at push time.
 */
export function drmSchedEntityPushJob(gpu: AmdgpuGpu, bo: AmdgpuBo, addr: number, write: boolean): DmaFence {
  const k = gpu.kernel;
  const n = gpu.nextSeqno();
  const view = new DeviceMmu(k, `${gpu.name} job ${n}`, gpu.mm);
  gpu.views.push(view);
  const fence = new DmaFence(view, `gfx job ${n}`);
  k.ex.spawn(`gpu: job ${n}`, async () => {
    await k.ex.sleep(JOB_TICKS);
    const i = Math.floor((addr - bo.ttm.userptr) / PAGE_SIZE);
    const page = bo.ttm.bound ? (bo.ttm.gart[i] ?? null) : null;
    let r: AccessResult;
    if (page === null) {
      // No GART entry: a GPU VM fault (the job faults, the fence still signals).
      k.ex.trace("note", "amdgpu_vm_fault", bo.name, hex(addr));
      r = { ok: false, fault: "not-mapped" };
    } else {
      await view.map([{ addr, page, write: !bo.ttm.userflags.readonly }]);
      r = await view.access(addr, write);
      await view.unmap(addr, addr + PAGE_SIZE);
    }
    fence.results.push(r);
    await fence.signal();
  });
  return fence;
}
