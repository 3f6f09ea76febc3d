/**
 * wait_queue_head_t with the kernel's sleep protocol: prepare_to_wait() registers the
 * thread, the caller re-checks its condition, schedule() sleeps unless a wake-up already
 * came in between, finish_wait() unregisters. wait_event*() are built from those steps, so
 * a model that hand-rolls the protocol (or gets it wrong) is explored the same way.
 *
 * A condition is evaluated atomically with the registration: the scheduling point is the
 * wait itself. Wake-ups are scheduling points.
 */
import type { Execution } from "../execution.ts";
import type { SimThread } from "../thread.ts";
import type { Waitable } from "../waitable.ts";

export class WaitQueue implements Waitable {
  private readonly waiters: SimThread[] = [];

  constructor(
    private readonly ex: Execution,
    readonly name: string,
  ) {}

  owners(): readonly SimThread[] {
    return [];
  }

  get waiterCount(): number {
    return this.waiters.length;
  }

  /** prepare_to_wait(): register the running thread; not a scheduling point. */
  prepareToWait(): void {
    const t = this.ex.self();
    t.woken = false;
    if (!this.waiters.includes(t)) this.waiters.push(t);
  }

  /** finish_wait(): unregister. */
  finishWait(): void {
    this.dropWaiter(this.ex.self());
  }

  /** Called by the runtime when a timed sleep on this queue expires. */
  dropWaiter(t: SimThread): void {
    const i = this.waiters.indexOf(t);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /**
   * schedule() / schedule_timeout() after prepareToWait(): sleep until woken, unless a
   * wake-up already arrived. Returns false when the timeout (ticks) expired first.
   */
  async schedule(timeout?: number): Promise<boolean> {
    const ex = this.ex;
    const t = ex.self();
    ex.mightSleep(`schedule(${this.name})`);
    if (t.woken) {
      await ex.point("schedule", this.name, "already woken");
      return true;
    }
    return ex.block(t, this, timeout);
  }

  /** wake_up(): wake one waiter. */
  async wakeUp(): Promise<void> {
    await this.ex.point("wake_up", this.name);
    const t = this.waiters.shift();
    if (t !== undefined) this.wakeOne(t);
  }

  /** wake_up_all() */
  async wakeUpAll(): Promise<void> {
    await this.ex.point("wake_up_all", this.name);
    for (const t of this.waiters.splice(0)) this.wakeOne(t);
  }

  private wakeOne(t: SimThread): void {
    t.woken = true;
    this.ex.unblock(t);
  }

  /** wait_event(wq, cond): sleep until `cond()` holds. */
  async waitEvent(cond: () => boolean): Promise<void> {
    const ex = this.ex;
    ex.mightSleep(`wait_event(${this.name})`);
    await ex.point("wait_event", this.name);
    while (!cond()) {
      this.prepareToWait();
      await this.schedule();
      this.finishWait();
    }
  }

  /**
   * wait_event_timeout(wq, cond, ticks): 0 if the condition is still false when the timeout
   * elapses, otherwise the remaining ticks, at least 1 — the kernel's return convention.
   */
  async waitEventTimeout(cond: () => boolean, ticks: number): Promise<number> {
    const ex = this.ex;
    ex.mightSleep(`wait_event_timeout(${this.name})`);
    await ex.point("wait_event_timeout", this.name, `timeout=${ticks}`);
    const deadline = ex.now + ticks;
    for (;;) {
      if (cond()) return Math.max(1, deadline - ex.now);
      if (ex.now >= deadline) return 0;
      this.prepareToWait();
      const woken = await this.schedule(deadline - ex.now);
      this.finishWait();
      if (!woken) return cond() ? 1 : 0;
    }
  }
}
