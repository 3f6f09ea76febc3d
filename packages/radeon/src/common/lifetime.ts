/**
 * Lifetimes of the structs radeon kfree()s (a radeon_mn after SRCU, a radeon_mn_node, a
 * radeon_bo with its embedded 5.5 notifier): freeing marks the object, and a later access by
 * modelled code is a use-after-free naming the object, the access and the free.
 *
 * Stated: the runtime's own object lifetimes (issue 12) had not landed when this package was
 * written; this is the same rule kept locally (as nouveau's svmmUse does), to be replaced by
 * the runtime's mechanism once it exists.
 */
import type { Kernel } from "@mnlab/core";

export class Lifetime {
  /** Where it was freed: thread and step, for the report. */
  freedAt: { thread: string; step: number; by: string } | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly what: string,
  ) {}

  get freed(): boolean {
    return this.freedAt !== null;
  }

  /** kfree(): later uses are use-after-free; a second kfree is a double free. */
  free(by: string): void {
    const ex = this.kernel.ex;
    if (this.freedAt !== null) {
      ex.fail(
        "use-after-free",
        `${by}: double free of ${this.what} (freed by ${this.freedAt.by} in ${this.freedAt.thread} at step ${this.freedAt.step})`,
      );
    }
    this.freedAt = { thread: ex.self().name, step: ex.step, by };
    ex.trace("note", "kfree", this.what, by);
  }

  /** Any dereference: fails once freed. */
  use(access: string): void {
    const f = this.freedAt;
    if (f !== null) {
      this.kernel.ex.fail(
        "use-after-free",
        `${access}: ${this.what} was freed by ${f.by} (${f.thread}, step ${f.step})`,
      );
    }
  }
}

/**
 * A field written under a lock but read without it somewhere (here: ttm->state, written under
 * the BO's reservation by bind/unbind, read by both invalidate callbacks before they reserve).
 * Each store and each lockless load is its own scheduling point, so a lockless reader can run
 * between the stores of one critical section (the rule of issue 12, section 1).
 */
export class UnlockedField<T> {
  private v: T;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    initial: T,
  ) {
    this.v = initial;
  }

  /** The value for oracles and for readers holding the writers' lock: not a point. */
  get(): T {
    return this.v;
  }

  /** A read without the writers' lock: a scheduling point, then the load. */
  async load(): Promise<T> {
    await this.kernel.ex.point("READ_ONCE", this.name);
    return this.v;
  }

  /** A store no lockless reader can tell from the old value (the caller says why): no point. */
  setQuietly(v: T): void {
    this.v = v;
  }

  /** A store (under the writers' lock): its own scheduling point, then the store. */
  async set(v: T): Promise<void> {
    await this.kernel.ex.point("store", this.name, String(v));
    this.v = v;
  }
}
