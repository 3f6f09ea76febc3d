/**
 * Device jobs and their fences (include/linux/dma-fence.h, the GPU scheduler's jobs, a NIC's
 * work requests): a job is submitted now and runs later, on the device's own timeline; it
 * reads and writes through the shadow page table when it executes, not when it is
 * submitted — which is why a driver must either tear its mappings down or wait for the job's
 * fence before an invalidation callback returns (what amdgpu and radeon do with
 * dma_resv_wait_timeout_rcu). Each job is a simulated thread; its fence signals when the job
 * has done all its accesses.
 */
import { Completion } from "@mnlab/sim";
import type { AccessResult, DeviceMmu } from "./device-mmu.ts";

/** struct dma_fence, reduced to signalling and waiting. */
export class DmaFence {
  private readonly done: Completion;
  /** What the job's accesses returned, in order, once it has run. */
  readonly results: AccessResult[] = [];

  constructor(
    readonly mmu: DeviceMmu,
    readonly name: string,
  ) {
    this.done = new Completion(mmu.kernel.ex, `fence ${name}`);
  }

  /** dma_fence_is_signaled() */
  get signaled(): boolean {
    return this.done.isDone;
  }

  /** dma_fence_wait() — uninterruptible, no timeout. */
  wait(): Promise<void> {
    return this.done.wait();
  }

  /**
   * dma_fence_wait_timeout(): true if the fence signalled within `ticks`, false on timeout
   * (the kernel returns the remaining jiffies or 0; callers only test for 0).
   */
  waitTimeout(ticks: number): Promise<boolean> {
    return this.done.waitTimeout(ticks);
  }

  /** dma_fence_signal(), by the job at its end. */
  signal(): Promise<void> {
    return this.done.completeAll();
  }
}

export interface DeviceAccess {
  addr: number;
  write: boolean;
  value?: number;
}

/**
 * Submit a job that will perform `accesses` through `mmu` when it runs (a command
 * submission, a work request). Returns its fence at once; the job itself is a new thread.
 */
export function submitJob(mmu: DeviceMmu, name: string, accesses: readonly DeviceAccess[]): DmaFence {
  const fence = new DmaFence(mmu, name);
  mmu.kernel.ex.spawn(`${mmu.name}: ${name}`, async () => {
    for (const a of accesses) fence.results.push(await mmu.access(a.addr, a.write, a.value));
    await fence.signal();
  });
  return fence;
}
