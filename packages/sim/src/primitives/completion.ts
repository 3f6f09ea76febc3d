/** struct completion: complete() releases one waiter, complete_all() every present and future one. */
import type { Execution } from "../execution.ts";
import type { SimThread } from "../thread.ts";
import type { Waitable } from "../waitable.ts";

export class Completion implements Waitable {
  private done = 0;
  private readonly waiters: SimThread[] = [];

  constructor(
    private readonly ex: Execution,
    readonly name: string,
  ) {}

  owners(): readonly SimThread[] {
    return [];
  }

  get isDone(): boolean {
    return this.done > 0;
  }

  /** wait_for_completion() */
  async wait(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    ex.mightSleep(`wait_for_completion(${this.name})`);
    await ex.point("wait_for_completion", this.name);
    while (this.done === 0) {
      this.waiters.push(t);
      await ex.block(t, this, undefined, this.name);
    }
    if (this.done !== Number.POSITIVE_INFINITY) this.done--;
  }

  /** wait_for_completion_timeout(): false when `ticks` passed first. */
  async waitTimeout(ticks: number): Promise<boolean> {
    const ex = this.ex;
    const t = ex.self();
    ex.mightSleep(`wait_for_completion_timeout(${this.name})`);
    await ex.point("wait_for_completion_timeout", this.name);
    const deadline = ex.now + ticks;
    while (this.done === 0) {
      if (ex.now >= deadline) return false;
      this.waiters.push(t);
      if (!(await ex.block(t, this, deadline - ex.now, this.name))) return this.done > 0 && this.take();
    }
    return this.take();
  }

  private take(): boolean {
    if (this.done !== Number.POSITIVE_INFINITY) this.done--;
    return true;
  }

  dropWaiter(t: SimThread): void {
    const i = this.waiters.indexOf(t);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** complete() */
  async complete(): Promise<void> {
    await this.ex.point("complete", this.name);
    if (this.done !== Number.POSITIVE_INFINITY) this.done++;
    const t = this.waiters.shift();
    if (t !== undefined) this.ex.unblock(t);
  }

  /** complete_all() */
  async completeAll(): Promise<void> {
    await this.ex.point("complete_all", this.name);
    this.done = Number.POSITIVE_INFINITY;
    for (const t of this.waiters.splice(0)) this.ex.unblock(t);
  }

  /** reinit_completion() */
  async reinit(): Promise<void> {
    await this.ex.point("reinit_completion", this.name);
    this.done = 0;
  }
}
