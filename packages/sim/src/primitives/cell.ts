/**
 * A shared memory word accessed without a lock: READ_ONCE/WRITE_ONCE, and
 * smp_load_acquire/smp_store_release, which are the same scheduling point under the
 * runtime's sequentially consistent model. Fields protected by a lock are plain object
 * fields in the models; only lockless accesses need a cell.
 */
import type { Execution } from "../execution.ts";

export class SharedCell<T> {
  private v: T;

  constructor(
    private readonly ex: Execution,
    readonly name: string,
    initial: T,
  ) {
    this.v = initial;
  }

  /** The value, for oracles and invariant checks: not a scheduling point. */
  peek(): T {
    return this.v;
  }

  /** READ_ONCE() / smp_load_acquire() */
  async load(): Promise<T> {
    await this.ex.point("READ_ONCE", this.name);
    this.ex.trace("note", "load", this.name, String(this.v));
    return this.v;
  }

  /** WRITE_ONCE() / smp_store_release() */
  async store(v: T): Promise<void> {
    await this.ex.point("WRITE_ONCE", this.name, String(v));
    this.v = v;
  }

  /**
   * An atomic read-modify-write of the word (set_bit(), clear_bit(), ...: a locked
   * instruction): read and written in one step, after the scheduling point, so no other
   * thread's access falls between the read and the write, unlike load() then store().
   */
  async rmw(op: string, f: (v: T) => T): Promise<T> {
    await this.ex.point(op, this.name);
    this.v = f(this.v);
    this.ex.trace("note", op, this.name, String(this.v));
    return this.v;
  }
}
