/**
 * struct mm_struct, reduced: VMAs, the CPU page table, mm_users/mm_count, mmap_sem (a
 * writer-preferring rwsem; "mmap_lock" only from 5.8) and the notifier subscriptions
 * (mm->mmu_notifier_mm). Plus oracle bookkeeping the kernel does not have: how many
 * invalidations are between start and end, so "the mm is idle" can be checked.
 */
import { Refcount, RwSemaphore, WaitQueue } from "@mnlab/sim";
import { exitMmap } from "../cpu/exit.ts";
import type { Kernel } from "../kernel.ts";
import { kfree } from "../lifetime.ts";
import type { MmuNotifierMm } from "../notifier/notifier-mm.ts";
import { PageTable } from "./page-table.ts";
import { Vma, type VmaFlags } from "./vma.ts";

export class MmStruct {
  readonly mmapSem: RwSemaphore;
  /**
   * The rmap locks (anon_vma->rwsem, i_mmap_rwsem), as one: rmap walkers (migration,
   * reclaim) take it for read; mm_take_all_locks() takes it for write, which is what keeps
   * notifier registration from racing invalidations that do not hold mmap_sem.
   */
  readonly rmapLock: RwSemaphore;
  /** Faults on a migration entry sleep here until remove_migration_ptes (the page lock, really). */
  readonly migrationWq: WaitQueue;
  /** mm_users: the address space is alive while > 0; exit_mmap runs when it drops to 0. */
  readonly mmUsers: Refcount;
  /** mm_count: the struct itself stays while > 0 (mmgrab/mmdrop). */
  readonly mmCount: Refcount;
  readonly pt = new PageTable();
  vmas: Vma[] = [];
  /** mm->mmu_notifier_mm, created by the first registration. */
  notifierMm: MmuNotifierMm | null = null;
  /** exit_mmap() has run: no VMAs, no page tables. */
  exited = false;
  /** Oracle bookkeeping: invalidate_range_start calls that have not reached their end. */
  activeInvalidations = 0;
  /**
   * Harness bookkeeping, not a kernel field: the tasks whose ->mm this is, each holding one
   * mm_users reference (mm_alloc's for the first, copy_mm's for a CLONE_VM thread) that its
   * exit_mm() drops. The end-of-run check expects mm_users back at this once everything is
   * closed (0 once the process is gone, and then mm_count 0 too).
   */
  tasks = 1;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
  ) {
    const ex = kernel.ex;
    this.mmapSem = new RwSemaphore(ex, `${name}->mmap_sem`, "mmap_sem");
    this.rmapLock = new RwSemaphore(ex, `${name}->anon_vma->rwsem`, "anon_vma->rwsem");
    this.migrationWq = new WaitQueue(ex, `${name} migration_entry_wait`);
    this.mmUsers = new Refcount(ex, `${name}->mm_users`, 1);
    this.mmCount = new Refcount(ex, `${name}->mm_count`, 1);
  }

  /** mm/mmap.c: find_vma() @5.5 — the first VMA ending above addr (it may start above it too). */
  findVma(addr: number): Vma | undefined {
    return this.vmas.find((v) => v.end > addr);
  }

  /** include/linux/mm.h: find_vma_intersection() @5.5 */
  findVmaIntersection(start: number, end: number): Vma | undefined {
    const v = this.findVma(start);
    return v !== undefined && v.start < end ? v : undefined;
  }

  /** mm/mmap.c: find_vma() @5.5 with the vm_start <= addr test its callers make: the VMA containing addr. */
  vmaAt(addr: number): Vma | undefined {
    return this.vmas.find((v) => v.contains(addr));
  }

  /** Set up a VMA directly (scenario setup, outside any race): no notifier, no locking. */
  addVma(start: number, end: number, flags: VmaFlags): Vma {
    const v = new Vma(start, end, flags);
    this.vmas.push(v);
    this.vmas.sort((a, b) => a.start - b.start);
    return v;
  }

  /** mm_has_notifiers() */
  get hasNotifiers(): boolean {
    this.kernel.ex.touch(this.notifierMmObject);
    return this.notifierMm !== null;
  }

  /**
   * The footprint name of mm->mmu_notifier_mm and its has_itree (@mnlab/sim footprint.ts):
   * read with no lock by every invalidation (mm_has_notifiers, mmn_mm->has_itree) and by
   * mmu_interval_notifier_insert, written by __mmu_notifier_register — named at each of
   * those steps (Execution.touch), so a partial-order reduction orders them.
   */
  get notifierMmObject(): string {
    return (this.notifierMmName ??= `${this.name}->mmu_notifier_mm`);
  }
  private notifierMmName: string | undefined;

  /** The address space is alive: mm_users > 0 (peeked, for checks that are not points). */
  get alive(): boolean {
    return this.mmUsers.peek() > 0;
  }
}

/** include/linux/sched/mm.h: mmget_not_zero() @5.5 */
export function mmgetNotZero(mm: MmStruct): Promise<boolean> {
  return mm.mmUsers.incNotZero();
}

/** include/linux/sched/mm.h: mmget() @5.5 */
export function mmget(mm: MmStruct): Promise<void> {
  return mm.mmUsers.inc();
}

/**
 * kernel/fork.c: copy_mm() @5.5 with CLONE_VM — a new thread of the process shares the mm
 * and takes an mm_users reference for its life; its exit_mm() (exitTask) drops it.
 */
export async function copyMmCloneVm(mm: MmStruct): Promise<void> {
  mm.tasks++;
  await mmget(mm);
}

/** include/linux/sched/mm.h: mmgrab() @5.5 */
export function mmgrab(mm: MmStruct): Promise<void> {
  return mm.mmCount.inc();
}

/**
 * kernel/fork.c: mmdrop() @5.5 — at zero __mmdrop() frees the struct, and with it
 * (mmu_notifier_mm_destroy) the notifier subscriptions: a later access to them is a
 * use-after-free.
 */
export async function mmdrop(mm: MmStruct): Promise<void> {
  if ((await mm.mmCount.decAndTest()) && mm.notifierMm !== null) {
    kfree(mm.kernel, mm.notifierMm, "__mmdrop: mmu_notifier_mm_destroy");
  }
}

/**
 * kernel/fork.c: mmput() @5.5 — the last user runs exit_mmap() in the caller's context,
 * which is how a driver's mmput can end up tearing the address space down.
 */
export async function mmput(mm: MmStruct): Promise<void> {
  if (await mm.mmUsers.decAndTest()) {
    await exitMmap(mm);
    await mmdrop(mm);
  }
}
