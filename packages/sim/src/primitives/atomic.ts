/**
 * atomic_t / atomic_long_t and refcount_t. Every access is one scheduling point; the value
 * can also be peeked by oracles without one.
 */
import type { Execution } from "../execution.ts";

export class Atomic {
  protected v: number;

  constructor(
    protected readonly ex: Execution,
    readonly name: string,
    initial = 0,
  ) {
    this.v = initial;
  }

  /** The value, for oracles and invariant checks: not a scheduling point. */
  peek(): number {
    return this.v;
  }

  /** atomic_read() */
  async read(): Promise<number> {
    await this.ex.point("atomic_read", this.name, String(this.v));
    return this.v;
  }

  /** atomic_set() */
  async set(v: number): Promise<void> {
    await this.ex.point("atomic_set", this.name, String(v));
    this.v = v;
  }

  /** atomic_add_return(); atomic_inc/dec are add(±1). Returns the new value. */
  async add(n: number): Promise<number> {
    await this.ex.point(n >= 0 ? "atomic_add" : "atomic_sub", this.name, String(Math.abs(n)));
    this.v += n;
    return this.v;
  }

  /** atomic_cmpxchg(): returns the old value. */
  async cmpxchg(old: number, next: number): Promise<number> {
    await this.ex.point("atomic_cmpxchg", this.name, `${old}->${next}`);
    const was = this.v;
    if (was === old) this.v = next;
    return was;
  }
}

/**
 * refcount_t: saturating, and WARNs (a `kernel-warn` failure) on increment from zero or
 * decrement below zero, as lib/refcount.c does.
 */
export class Refcount extends Atomic {
  /** refcount_inc() */
  async inc(): Promise<void> {
    await this.ex.point("refcount_inc", this.name, String(this.v));
    if (this.v === 0) this.ex.fail("kernel-warn", `refcount_t: addition on 0; use-after-free (${this.name})`);
    this.v++;
  }

  /** refcount_inc_not_zero(): false when the count was already zero. */
  async incNotZero(): Promise<boolean> {
    await this.ex.point("refcount_inc_not_zero", this.name, String(this.v));
    if (this.v === 0) return false;
    this.v++;
    return true;
  }

  /** refcount_dec_and_test(): true when this dropped the last reference. */
  async decAndTest(): Promise<boolean> {
    await this.ex.point("refcount_dec_and_test", this.name, String(this.v));
    if (this.v <= 0) this.ex.fail("kernel-warn", `refcount_t: underflow; use-after-free (${this.name})`);
    this.v--;
    return this.v === 0;
  }
}
