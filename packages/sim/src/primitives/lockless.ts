/**
 * A shared field that is written under a lock but read, somewhere, without it: a sequence
 * count tested by a `wait_event` condition, a counter or flag read with READ_ONCE, under RCU,
 * or by an unlocked check.
 *
 * Why it exists. Code between two scheduling points runs atomically for every thread. That
 * is right for a field every reader reads under the lock that guards its writes: the lock
 * already excludes those readers for the whole critical section, so one step per section
 * loses nothing and keeps exploration small. It is wrong for a field some code reads without
 * that lock: in the kernel a spinlock excludes only the threads that take it, and a lockless
 * reader sees each store of the section as it happens. Declaring the field a LocklessField
 * makes every store its own scheduling point — even inside a critical section — so a
 * lockless reader can run between two stores of one section and see the half-done update.
 *
 * Usage:
 *   - writers (holding the guard):   `await f.set(v)`   — a scheduling point, then the store
 *   - readers holding the guard:     `f.get()`          — a plain load, not a point
 *   - lockless readers (READ_ONCE):  `await f.load()`   — a scheduling point, then the load
 *   - a `wait_event` condition:      `() => f.get() !== seq` — WaitQueue.waitEvent makes
 *     each evaluation its own scheduling point, so the condition reads with get()
 *   - oracles and invariants:        `f.peek()`         — never a point
 * Memory model: sequentially consistent, as everywhere in the runtime (READ_ONCE and a plain
 * load are the same here; the point is what makes the read observable mid-section).
 */
import type { Execution } from "../execution.ts";
import type { Holdable } from "../thread.ts";

export class LocklessField<T> {
  private v: T;

  /**
   * @param name  how traces print the field, e.g. `mm->mmu_notifier_mm->invalidate_seq`
   * @param guard the lock its writers hold, if any (documentation and trace only: writers
   *              are not checked against it, since some fields have several writer locks)
   */
  constructor(
    private readonly ex: Execution,
    readonly name: string,
    initial: T,
    readonly guard?: Holdable,
  ) {
    this.v = initial;
  }

  /** The value, for oracles and invariant checks: not a scheduling point. */
  peek(): T {
    return this.v;
  }

  /**
   * A plain read by code that holds the guard, or a read inside a condition that
   * WaitQueue evaluates at its own scheduling point: not a scheduling point.
   */
  get(): T {
    return this.v;
  }

  /**
   * Store without a scheduling point: for scenario setup before threads race, and for tests
   * that corrupt state on purpose. Never for modelled code, whose stores use set().
   */
  poke(v: T): void {
    this.v = v;
  }

  /** A lockless read (READ_ONCE(), an unlocked test, an RCU reader): a scheduling point. */
  async load(): Promise<T> {
    await this.ex.point("READ_ONCE", this.name);
    this.ex.trace("note", "load", this.name, String(this.v));
    return this.v;
  }

  /**
   * A store (WRITE_ONCE() or a plain store under the guard): its own scheduling point, before
   * the value changes, so another thread may run — and read the field — between this store
   * and the previous one of the same critical section. Storing the value the field already
   * holds is invisible to every reader and is not a point (`seq |= 1` on an odd seq).
   */
  async set(v: T): Promise<void> {
    // A store of the value already there changes nothing any reader could see: no point.
    if (Object.is(v, this.v)) return;
    await this.ex.point("store", this.name, String(v));
    this.v = v;
  }
}
