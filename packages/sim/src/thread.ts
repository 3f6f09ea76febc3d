/**
 * A simulated thread: an async function that runs only when the scheduler hands it the
 * turn. Its state is what the scheduler, the deadlock detector and failure snapshots read.
 */
import type { ThreadSnapshot } from "./failure.ts";
import { ANY_OBJECT } from "./footprint.ts";
import type { Waitable } from "./waitable.ts";

export type ThreadState = "runnable" | "blocked" | "done";

/** Something a thread can hold (locks, lockdep maps); lockdep keys on `lockClass`. */
export interface Holdable {
  readonly name: string;
  readonly lockClass: string;
}

export class SimThread {
  state: ThreadState = "runnable";
  /** Resolves the promise the thread is parked on; set while it waits for the turn. */
  resume: (() => void) | null = null;
  /** What it is blocked on, for the wait-for graph and snapshots. */
  blockedOn: Waitable | null = null;
  /** Virtual-time deadline of a timed block (wait_event_timeout, msleep). */
  deadline: number | null = null;
  /** Set when the deadline, not a wake-up, ended the last block. */
  timedOut = false;
  /** Set by a wake-up between prepare_to_wait and schedule (see WaitQueue). */
  woken = false;
  /** Locks and lockdep maps held, in acquisition order. */
  readonly held: Holdable[] = [];
  /** Virtual time each held lock was taken at (parallel to `held`). */
  readonly heldSince: number[] = [];
  /** Spinlocks held: sleeping while > 0 is a bug. */
  spinDepth = 0;
  /** The spinlocks themselves, for the sleep-in-atomic report. */
  readonly spinLocks: Holdable[] = [];
  /** Non-blocking regions entered (e.g. a non-blockable invalidation). */
  readonly nonBlocking: string[] = [];
  /** The operation of the last scheduling point, and its object (kept apart: see lastOp). */
  lastOpName: string | undefined;
  lastObject: string | undefined;
  /** `op object` of the last point, for messages; built only when asked, not at every point. */
  get lastOp(): string | undefined {
    const op = this.lastOpName;
    if (op === undefined) return undefined;
    return this.lastObject === undefined ? op : `${op} ${this.lastObject}`;
  }
  /** The operation announced at the last scheduling point, logged once the thread performs it. */
  pendingOp: { op: string; object: string | undefined; detail: string | undefined } | null = null;
  /** At a cpu_relax() point: let any other runnable thread go first. */
  relaxing = false;
  /**
   * The footprint of the thread's next step (footprint.ts): the object its announced
   * operation touches, or ANY_OBJECT when the step may touch anything.
   */
  footprint: string = ANY_OBJECT;
  /** Threads waiting in join(). */
  readonly joiners: SimThread[] = [];

  constructor(
    readonly id: number,
    readonly name: string,
  ) {}

  /** It takes `lock` at tick `now` (a spinlock when `spin`: sleeping is then a bug). */
  hold(lock: Holdable, now: number, spin: boolean): void {
    this.held.push(lock);
    this.heldSince.push(now);
    if (spin) {
      this.spinDepth++;
      this.spinLocks.push(lock);
    }
  }

  /** It releases `lock`: the tick it took it at, or null when it does not hold it. */
  drop(lock: Holdable, spin: boolean): number | null {
    const i = this.held.lastIndexOf(lock);
    if (i < 0) return null;
    this.held.splice(i, 1);
    const since = this.heldSince.splice(i, 1)[0]!;
    if (spin) {
      this.spinDepth--;
      this.spinLocks.splice(this.spinLocks.lastIndexOf(lock), 1);
    }
    return since;
  }

  isAtomic(): boolean {
    return this.spinDepth > 0 || this.nonBlocking.length > 0;
  }
}

/** What spawn() hands back: a way to wait for the thread and read its fate. */
export interface ThreadHandle {
  readonly id: number;
  readonly name: string;
  readonly done: boolean;
  /** Block until the thread has finished. A scheduling point. */
  join(): Promise<void>;
}

/** The thread as a failure report shows it. */
export function snapshotThread(t: SimThread): ThreadSnapshot {
  const s: ThreadSnapshot = { id: t.id, name: t.name, state: t.state, holds: t.held.map((h) => h.name) };
  if (t.blockedOn !== null) s.blockedOn = t.blockedOn.name;
  if (t.lastOp !== undefined) s.lastOp = t.lastOp;
  return s;
}
