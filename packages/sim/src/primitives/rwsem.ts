/**
 * struct rw_semaphore, writer-preferring with a FIFO wait queue as in kernel/locking/rwsem.c:
 * a reader that finds any waiter queued (a writer, typically) queues behind it instead of
 * joining the current readers. That is what makes "read lock held, writer queued, same
 * thread reads again" a deadlock — the historical RDMA ODP hang (reference O2) needs it.
 *
 * Release hands the lock to the queue head: one writer, or every reader up to the next
 * queued writer.
 */
import type { Execution } from "../execution.ts";
import type { Holdable, SimThread } from "../thread.ts";
import type { Waitable } from "../waitable.ts";

interface Waiter {
  t: SimThread;
  write: boolean;
  granted: boolean;
}

export class RwSemaphore implements Holdable, Waitable {
  private writer: SimThread | null = null;
  private readonly readers = new Map<SimThread, number>();
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly ex: Execution,
    readonly name: string,
    readonly lockClass: string = name,
  ) {}

  owners(waiter: SimThread): readonly SimThread[] {
    if (this.writer !== null) return [this.writer];
    const i = this.queue.findIndex((w) => w.t === waiter);
    const me = this.queue[i];
    const aheadWriters = this.queue
      .slice(0, Math.max(0, i))
      .filter((w) => w.write)
      .map((w) => w.t);
    if (me !== undefined && !me.write && aheadWriters.length > 0) return aheadWriters;
    return [...this.readers.keys(), ...aheadWriters];
  }

  get readerCount(): number {
    let n = 0;
    for (const c of this.readers.values()) n += c;
    return n;
  }
  get isWriteLocked(): boolean {
    return this.writer !== null;
  }
  get hasWaiters(): boolean {
    return this.queue.length > 0;
  }

  /** down_read() */
  async downRead(): Promise<void> {
    await this.acquire(false, "down_read");
  }

  /** down_write() */
  async downWrite(): Promise<void> {
    await this.acquire(true, "down_write");
  }

  private async acquire(write: boolean, op: string): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    ex.mightSleep(`${op}(${this.name})`);
    await ex.point(op, this.name);
    ex.lockdepAcquire(t, this);
    if (this.canGrant(write)) {
      this.grant(t, write);
      return;
    }
    const w: Waiter = { t, write, granted: false };
    this.queue.push(w);
    while (!w.granted) await ex.block(t, this, undefined, this.name);
  }

  private canGrant(write: boolean): boolean {
    if (this.queue.length > 0 || this.writer !== null) return false;
    return !write || this.readers.size === 0;
  }

  private grant(t: SimThread, write: boolean): void {
    if (write) this.writer = t;
    else this.readers.set(t, (this.readers.get(t) ?? 0) + 1);
    this.ex.noteAcquired(t, this, false);
  }

  /** down_read_trylock(): never sleeps. */
  async downReadTrylock(): Promise<boolean> {
    return this.tryAcquire(false, "down_read_trylock");
  }

  /** down_write_trylock(): never sleeps. */
  async downWriteTrylock(): Promise<boolean> {
    return this.tryAcquire(true, "down_write_trylock");
  }

  private async tryAcquire(write: boolean, op: string): Promise<boolean> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point(op, this.name);
    if (!this.canGrant(write)) {
      ex.trace("note", op, this.name, "failed");
      return false;
    }
    this.grant(t, write);
    return true;
  }

  /** up_read() */
  async upRead(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("up_read", this.name);
    const n = this.readers.get(t);
    if (n === undefined)
      return ex.fail("kernel-warn", `${t.name} up_read(${this.name}) without holding it for read`);
    if (n === 1) this.readers.delete(t);
    else this.readers.set(t, n - 1);
    ex.noteReleased(t, this, false);
    this.handOff(true);
  }

  /** up_write() */
  async upWrite(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("up_write", this.name);
    const held = this.writer === t;
    if (!held) ex.fail("kernel-warn", `${t.name} up_write(${this.name}) without holding it for write`);
    this.writer = null;
    ex.noteReleased(t, this, false);
    this.handOff(held);
  }

  /** downgrade_write() */
  async downgradeWrite(): Promise<void> {
    const ex = this.ex;
    const t = ex.self();
    await ex.point("downgrade_write", this.name);
    const held = this.writer === t;
    if (!held) ex.fail("kernel-warn", `${t.name} downgrade_write(${this.name}) without holding it for write`);
    this.writer = null;
    this.readers.set(t, 1);
    this.handOffReaders(held);
  }

  /** Grant the queue's head what it waits for, if it can have it now; `held`: the releaser held the sem. */
  private handOff(held: boolean): void {
    const head = this.queue[0];
    if (head === undefined || this.writer !== null) return;
    if (head.write) {
      if (this.readers.size > 0) return;
      this.queue.shift();
      this.wake(head, held);
      return;
    }
    this.handOffReaders(held);
  }

  private handOffReaders(held: boolean): void {
    while (this.queue.length > 0 && !this.queue[0]!.write) this.wake(this.queue.shift()!, held);
  }

  /** A release by a holder hands the sem over (the waiter could not have had it before: unblockOnRelease). */
  private wake(w: Waiter, held: boolean): void {
    w.granted = true;
    this.grant(w.t, w.write);
    if (held) this.ex.unblockOnRelease(w.t);
    else this.ex.unblock(w.t);
  }
}
