/**
 * struct lockdep_map used as a pseudo-lock (lock_map_acquire/lock_map_release), the way
 * mm/mmu_notifier.c annotates `__mmu_notifier_invalidate_range_start_map`: callbacks run
 * "inside" the map, and read_begin/remove touch it, so holding a lock that a callback takes
 * while calling them is reported as a lock-order inversion. Not a scheduling point.
 */
import type { Execution } from "../execution.ts";
import type { Holdable } from "../thread.ts";

export class LockdepMap implements Holdable {
  constructor(
    private readonly ex: Execution,
    readonly name: string,
    readonly lockClass: string = name,
  ) {}

  /** lock_map_acquire() */
  acquire(): void {
    const t = this.ex.self();
    this.ex.lockdepAcquire(t, this);
    this.ex.noteAcquired(t, this, false);
  }

  /** lock_map_release() */
  release(): void {
    this.ex.noteReleased(this.ex.self(), this, false);
  }

  /** lock_map_acquire(); lock_map_release(): record the dependency only. */
  touch(): void {
    this.acquire();
    this.release();
  }
}
