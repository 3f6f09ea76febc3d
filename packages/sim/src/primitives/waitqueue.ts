/**
 * wait_queue_head_t with the kernel's sleep protocol: prepare_to_wait() registers the
 * thread, the caller re-checks its condition, schedule() sleeps unless a wake-up already
 * came in between, finish_wait() unregisters. wait_event*() are built from those steps, so
 * a model that hand-rolls the protocol (or gets it wrong) is explored the same way.
 *
 * wait_event*() evaluate their condition the way include/linux/wait.h does: once before
 * sleeping, then after every prepare_to_wait — so after every wake-up — and once more when a
 * timeout expires; each evaluation is its own scheduling point, and the condition runs
 * without any lock the waker holds (a condition that takes a lock, as some kernel ones do,
 * is an async function that takes it). A waker's stores to a field the condition reads are
 * scheduling points when the field is declared lockless (LocklessField), so a condition can
 * be evaluated between two stores of the waker's critical section. Wake-ups are scheduling
 * points.
 */
import type { Execution } from "../execution.ts";
import { ANY_OBJECT } from "../footprint.ts";
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
    // Woken, the caller goes on to read what it waited for (a condition of its own): ANY_OBJECT.
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

  /**
   * One evaluation of a wait_event condition: a scheduling point, then the condition. A
   * synchronous condition reads its fields with LocklessField.get() (the point is its
   * READ_ONCE); an async one may take the locks the kernel's condition takes.
   */
  private async evaluate(cond: WaitCondition, what: string): Promise<boolean> {
    // The condition reads fields of its own, not the queue: the step may touch anything.
    await this.ex.point(`${what} condition`, this.name, undefined, ANY_OBJECT);
    const r = await cond();
    this.ex.trace("note", `${what} condition`, this.name, String(r));
    return r;
  }

  /**
   * include/linux/wait.h: wait_event() — might_sleep(); the condition once; then, until it
   * holds: prepare_to_wait, the condition again, schedule(); finish_wait.
   */
  async waitEvent(cond: WaitCondition): Promise<void> {
    const ex = this.ex;
    ex.mightSleep(`wait_event(${this.name})`);
    if (await this.evaluate(cond, "wait_event")) return;
    for (;;) {
      this.prepareToWait();
      if (await this.evaluate(cond, "wait_event")) break;
      await this.schedule();
    }
    this.finishWait();
  }

  /**
   * include/linux/wait.h: wait_event_timeout(wq, cond, ticks) — 0 if the condition is still
   * false when the timeout elapses, otherwise the remaining ticks, at least 1 (the kernel's
   * ___wait_cond_timeout convention). The condition is evaluated once more after the timeout
   * expired, as the kernel's loop does.
   */
  async waitEventTimeout(cond: WaitCondition, ticks: number): Promise<number> {
    const ex = this.ex;
    ex.mightSleep(`wait_event_timeout(${this.name})`);
    const deadline = ex.now + ticks;
    const left = (): number => Math.max(0, deadline - ex.now);
    if (await this.evaluate(cond, "wait_event_timeout")) return Math.max(1, left());
    if (left() === 0) return 0;
    for (;;) {
      this.prepareToWait();
      const c = await this.evaluate(cond, "wait_event_timeout");
      if (c || left() === 0) {
        this.finishWait();
        return c ? Math.max(1, left()) : 0;
      }
      await this.schedule(left());
    }
  }
}

/** A wait_event condition: synchronous (reads at the evaluation point), or async (takes locks). */
export type WaitCondition = () => boolean | Promise<boolean>;
