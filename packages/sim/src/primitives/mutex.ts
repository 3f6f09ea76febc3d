/**
 * struct mutex. A sleeping lock: taking it may sleep (might_sleep), so it is forbidden while
 * atomic. On unlock every waiter is woken and competes again, which covers the kernel's
 * lock stealing as well as hand-off orders.
 */
import type { Execution } from "../execution.ts";
import type { Holdable, SimThread } from "../thread.ts";
import type { Waitable } from "../waitable.ts";

export class Mutex implements Holdable, Waitable {
  private owner: SimThread | null = null;
  private readonly waiters: SimThread[] = [];

  constructor(
    private readonly ex: Execution,
    readonly name: string,
    readonly lockClass: string = name,
  ) {}

  owners(): readonly SimThread[] {
    return this.owner === null ? [] : [this.owner];
  }

  get isLocked(): boolean {
    return this.owner !== null;
  }

  /** True when the running thread holds it (lockdep_assert_held). */
  heldBySelf(): boolean {
    return this.owner === this.ex.self();
  }

  /** mutex_lock() */
  async lock(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    ex.mightSleep(`mutex_lock(${this.name})`);
    await ex.point("mutex_lock", this.name);
    ex.lockdepAcquire(t, this);
    while (this.owner !== null) {
      this.waiters.push(t);
      await ex.block(t, this, undefined, this.name);
    }
    this.owner = t;
    ex.noteAcquired(t, this, false);
  }

  /** mutex_trylock(): never sleeps; true when taken. */
  async trylock(): Promise<boolean> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("mutex_trylock", this.name);
    if (this.owner !== null) {
      ex.trace("note", "mutex_trylock", this.name, "failed");
      return false;
    }
    this.owner = t;
    ex.noteAcquired(t, this, false);
    return true;
  }

  /** mutex_unlock() */
  async unlock(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("mutex_unlock", this.name);
    const held = this.owner === t;
    if (!held)
      ex.fail("kernel-warn", `${t.name} unlocks ${this.name} held by ${this.owner?.name ?? "nobody"}`);
    this.owner = null;
    ex.noteReleased(t, this, false);
    for (const w of this.waiters.splice(0)) {
      if (held) ex.unblockOnRelease(w);
      else ex.unblock(w);
    }
  }
}
