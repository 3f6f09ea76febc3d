/**
 * struct srcu_struct, reduced to what the notifier code relies on: read sections may sleep,
 * and synchronize_srcu() waits for every read section that began before it.
 */
import type { Execution } from "../execution.ts";
import type { SimThread } from "../thread.ts";
import type { Waitable } from "../waitable.ts";

export class Srcu implements Waitable {
  private nextSection = 1;
  private readonly active = new Map<number, SimThread>();
  private readonly syncers: { t: SimThread; waitFor: Set<number> }[] = [];

  constructor(
    private readonly ex: Execution,
    readonly name: string,
  ) {}

  owners(waiter: SimThread): readonly SimThread[] {
    const s = this.syncers.find((x) => x.t === waiter);
    if (s === undefined) return [];
    return [...s.waitFor].map((id) => this.active.get(id)).filter((t): t is SimThread => t !== undefined);
  }

  /** srcu_read_lock(): returns the index to hand to srcu_read_unlock(). */
  async readLock(): Promise<number> {
    const ex = this.ex;
    await ex.point("srcu_read_lock", this.name);
    const id = this.nextSection++;
    this.active.set(id, ex.self());
    return id;
  }

  /** srcu_read_unlock() */
  async readUnlock(idx: number): Promise<void> {
    const ex = this.ex;
    await ex.point("srcu_read_unlock", this.name);
    if (!this.active.delete(idx))
      ex.fail("kernel-warn", `srcu_read_unlock(${this.name}) of a section not held`);
    for (const s of this.syncers) {
      s.waitFor.delete(idx);
      if (s.waitFor.size === 0) ex.unblock(s.t);
    }
  }

  /** synchronize_srcu(): wait for the read sections that began before this call. */
  async synchronize(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    ex.mightSleep(`synchronize_srcu(${this.name})`);
    await ex.point("synchronize_srcu", this.name);
    const entry = { t, waitFor: new Set(this.active.keys()) };
    if (entry.waitFor.size === 0) return;
    this.syncers.push(entry);
    while (entry.waitFor.size > 0) await ex.block(t, this, undefined, this.name);
    this.syncers.splice(this.syncers.indexOf(entry), 1);
  }
}
