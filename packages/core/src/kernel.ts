/**
 * The simulated machine: one execution's page allocator, mms, the notifier SRCU, the
 * lockdep maps the notifier code annotates with, and the WARN log. Every model object hangs
 * off one Kernel, so a scenario's setup is `const k = new Kernel(ex)`.
 */
import { type Execution, type Holdable, LockdepMap, Srcu } from "@mnlab/sim";
import type { DeviceMmu } from "./device/device-mmu.ts";
import { type Lifetime, trackAllocations } from "./lifetime.ts";
import { MmStruct } from "./mm/mm.ts";
import { type Page, PageAllocator } from "./mm/page.ts";

export interface KernelWarning {
  step: number;
  thread: string;
  message: string;
}

export class Kernel {
  readonly pages: PageAllocator;
  /** The shared zero page (ZERO_PAGE(0)): mapped read-only by read faults, never freed. */
  readonly zeroPage: Page;
  /** mm/mmu_notifier.c: `static struct srcu_struct srcu` — one for all notifiers. */
  readonly srcu: Srcu;
  /** mm/mmu_notifier.c: __mmu_notifier_invalidate_range_start_map (lockdep map, 5.4+). */
  readonly invalidateStartMap: LockdepMap;
  /** mm/page_alloc.c: __fs_reclaim_map — an allocation that may enter direct reclaim. */
  readonly fsReclaimMap: LockdepMap;
  readonly mms: MmStruct[] = [];
  /** Device shadow page tables, for the at-rest oracle and end-of-run checks. */
  readonly devices: DeviceMmu[] = [];
  /** WARN_ON()s hit so far; the harness turns any into a `kernel-warn` verdict. */
  readonly warnings: KernelWarning[] = [];
  /** The oracles switched on for this execution (installDeviceOracles sets them). */
  readonly oracles = { unsafeMap: true };
  /** Every heap object allocated in this execution (kmemleak's list; see lifetime.ts). */
  readonly allocations: Lifetime[] = [];

  constructor(readonly ex: Execution) {
    trackAllocations(this.allocations);
    this.pages = new PageAllocator(ex);
    this.zeroPage = this.pages.allocPage(0);
    this.zeroPage.refcount = Number.MAX_SAFE_INTEGER;
    this.srcu = new Srcu(ex, "srcu");
    this.invalidateStartMap = new LockdepMap(ex, "mmu_notifier_invalidate_range_start");
    this.fsReclaimMap = new LockdepMap(ex, "fs_reclaim");
  }

  /** mm_alloc(): a new address space with one user (the process) and one mm_count. */
  createMm(name = `mm${this.mms.length}`): MmStruct {
    const mm = new MmStruct(this, name);
    this.mms.push(mm);
    return mm;
  }

  /** WARN_ON(): logged and traced; execution continues as the kernel's does. */
  warn(message: string): void {
    const t = this.ex.self();
    this.warnings.push({ step: this.ex.step, thread: t.name, message });
    this.ex.trace("note", "WARN", undefined, message);
  }

  /** BUG_ON() / an oops: the execution cannot continue. */
  bug(message: string): never {
    return this.ex.fail("kernel-bug", `BUG: ${message}`);
  }

  /** might_lock(): lockdep learns the dependency without taking the lock. */
  mightLock(lock: Holdable): void {
    this.ex.lockdepAcquire(this.ex.self(), lock);
  }

  /**
   * A GFP_KERNEL allocation: it may enter direct reclaim, which lockdep models as taking
   * fs_reclaim (mm/page_alloc.c: fs_reclaim_acquire()). Whether reclaim actually runs and
   * what it invalidates is up to the caller's model (see cpu/reclaim.ts).
   */
  gfpKernelAlloc(): void {
    this.ex.mightSleep("kmalloc(GFP_KERNEL)");
    this.fsReclaimMap.touch();
  }
}
