/**
 * spinlock_t. Contention is modelled as being blocked (not burning steps) until the holder
 * unlocks; holding one makes the thread atomic, so anything that may sleep is a
 * sleep-in-atomic failure. `spin_lock_irqsave` is the same lock here.
 */
import type { Execution } from "../execution.ts";
import type { Holdable, SimThread } from "../thread.ts";
import type { Waitable } from "../waitable.ts";

export class SpinLock implements Holdable, Waitable {
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

  /** spin_lock() */
  async lock(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("spin_lock", this.name);
    ex.lockdepAcquire(t, this);
    while (this.owner !== null) {
      this.waiters.push(t);
      await ex.block(t, this, undefined, this.name);
    }
    this.owner = t;
    ex.noteAcquired(t, this, true);
  }

  /** spin_trylock() */
  async trylock(): Promise<boolean> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("spin_trylock", this.name);
    if (this.owner !== null) return false;
    this.owner = t;
    ex.noteAcquired(t, this, true);
    return true;
  }

  /** spin_unlock() */
  async unlock(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("spin_unlock", this.name);
    const held = this.owner === t;
    if (!held)
      ex.fail("kernel-warn", `${t.name} unlocks ${this.name} held by ${this.owner?.name ?? "nobody"}`);
    this.owner = null;
    ex.noteReleased(t, this, true);
    for (const w of this.waiters.splice(0)) {
      if (held) ex.unblockOnRelease(w);
      else ex.unblock(w);
    }
  }
}
