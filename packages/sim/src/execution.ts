/**
 * One execution of a program under a scheduler: the step loop.
 *
 * Protocol. Exactly one simulated thread runs at a time. A thread gives up the turn only at
 * a scheduling point: an operation on shared state (lock, unlock, marked load or store,
 * wait, wake, completion, cond_resched, sleep). At each point the runtime
 *   1. counts a step (and enforces the step bound),
 *   2. runs the registered invariant checks (checks.ts),
 *   3. asks the strategy which runnable thread performs the next operation, when more than
 *      one could, and records that decision (scheduler.ts),
 *   4. hands the turn over by resolving the chosen thread's parked promise.
 * Code between two points is therefore atomic, and the decision list alone determines the
 * whole execution: replay is running again with the same list.
 *
 * Memory model: sequentially consistent. READ_ONCE/WRITE_ONCE and
 * smp_load_acquire/smp_store_release are all the same kind of point here; the models do not
 * explore weak-memory reorderings.
 *
 * Time is virtual (clock.ts). When nothing can run and no timer is pending, the execution
 * has finished or is stuck (detectors/deadlock.ts). Sleeping in atomic context, lock-order
 * inversions and locks leaked at thread exit are the other runtime detectors (detectors/).
 *
 * Foreign awaits: every hand-over is a microtask, so a whole execution runs inside one
 * microtask drain. A setImmediate armed at the start fires only when that drain ends; if
 * the execution has not finished by then, the running thread is parked on a promise that no
 * scheduling point will resolve, and the execution fails with `foreign-await`.
 */
import { type CheckOptions, type InvariantCheck, InvariantChecks } from "./checks.ts";
import { VirtualClock } from "./clock.ts";
import { Counters } from "./counters.ts";
import { stuck } from "./detectors/deadlock.ts";
import { leakedLocks } from "./detectors/leaked-locks.ts";
import { checkLockOrder } from "./detectors/lock-order.ts";
import { sleepInAtomic } from "./detectors/sleep-in-atomic.ts";
import { ExecutionAborted, type Failure, type FailureKind, type WaitForEdge } from "./failure.ts";
import { ANY_OBJECT, spawnObject, threadObject } from "./footprint.ts";
import type { Lockdep } from "./lockdep.ts";
import type { ExecutionOptions, ExecutionOutcome } from "./outcome.ts";
import { Scheduler } from "./scheduler.ts";
import { type Holdable, SimThread, snapshotThread, type ThreadHandle } from "./thread.ts";
import type { TraceEventKind } from "./trace.ts";
import { Tracer } from "./tracer.ts";
import { CheckVisibility } from "./visibility.ts";
import type { Waitable } from "./waitable.ts";

export type { CheckOptions, InvariantCheck } from "./checks.ts";
export type { ExecutionOptions, ExecutionOutcome } from "./outcome.ts";
export type { ChoicePoint, Chooser } from "./scheduler.ts";

const RESOLVED: Promise<void> = Promise.resolve();

export class Execution {
  readonly seed: number;
  readonly lockdep: Lockdep;
  private readonly maxSteps: number;
  private readonly scheduler: Scheduler;
  private readonly clock = new VirtualClock();
  private readonly checks: InvariantChecks;
  private readonly tracer: Tracer;
  private readonly counters = new Counters();
  private running: SimThread | null = null;
  private stepCount = 0;
  private failed: Failure | null = null;
  private finished = false;
  private settle: (() => void) | null = null;
  /**
   * The foreign-await watchdog. Cleared when the execution settles: an armed immediate keeps
   * the whole execution reachable, and explorations run in one microtask drain, so without
   * this every execution of a run stayed in memory until the run ended.
   */
  private watchdog: NodeJS.Immediate | null = null;
  private readonly detectForeignAwait: boolean;
  private readonly checksEnabled: boolean;
  /** Samples the checks' watches for the reduction (visibility.ts), while footprints are recorded. */
  private readonly visibility: CheckVisibility | null;

  constructor(opts: ExecutionOptions) {
    this.seed = opts.seed;
    this.scheduler = new Scheduler(opts.chooser);
    this.checks = new InvariantChecks();
    this.scheduler.checks = this.checks;
    const fp = this.scheduler.footprints;
    this.checks.countReleases = fp !== null;
    this.visibility = fp === null ? null : new CheckVisibility(this.checks, fp);
    this.lockdep = opts.lockdep;
    this.maxSteps = opts.maxSteps;
    this.tracer = new Tracer(opts.record);
    this.detectForeignAwait = opts.detectForeignAwait ?? true;
    this.checksEnabled = opts.checks ?? true;
  }

  // ---------------------------------------------------------------- read-only state

  get step(): number {
    return this.stepCount;
  }
  /** Virtual time in ticks. */
  get now(): number {
    return this.clock.now;
  }
  get failure(): Failure | null {
    return this.failed;
  }
  get recording(): boolean {
    return this.tracer.events !== null;
  }

  /** The thread whose code is running now. Models call this to know "current". */
  self(): SimThread {
    const t = this.running;
    if (t === null) throw new Error("sim: no simulated thread is running (called outside an execution?)");
    return t;
  }

  // ---------------------------------------------------------------- threads

  /**
   * Create a thread. Not a scheduling point: the spawner runs on until its next point, and
   * the new thread first runs when a strategy picks it.
   */
  spawn(name: string, body: () => Promise<void>): ThreadHandle {
    if (this.finished) throw new Error("sim: spawn after the execution finished");
    const t = new SimThread(this.scheduler.threads.length, name);
    this.scheduler.add(t);
    t.footprint = spawnObject(t.id);
    if (this.running !== null) {
      this.scheduler.footprints?.touch(this.running, t.footprint);
      this.scheduler.footprints?.enable(this.running, t);
    }
    const parked = new Promise<void>((r) => {
      t.resume = r;
    });
    void this.runThread(t, parked, body);
    if (this.running !== null) this.emit(this.running, "spawn", "spawn", name);
    return {
      id: t.id,
      name,
      get done() {
        return t.state === "done";
      },
      join: () => this.join(t),
    };
  }

  private async runThread(t: SimThread, parked: Promise<void>, body: () => Promise<void>): Promise<void> {
    await parked;
    try {
      await body();
    } catch (e) {
      if (!(e instanceof ExecutionAborted)) {
        const msg = e instanceof Error ? e.message : String(e);
        // An error may name the failure it stands for (a modelled oops is a `kernel-bug`).
        const kind = (e as { failureKind?: unknown } | null)?.failureKind;
        this.recordFailure(
          typeof kind === "string" ? kind : "exception",
          `thread ${t.name} threw: ${msg}`,
          t,
          {
            stack: e instanceof Error ? (e.stack ?? "").split("\n").slice(0, 6).join("\n") : undefined,
          },
        );
      }
    }
    if (this.failed !== null) return;
    try {
      this.exitThread(t);
    } catch (e) {
      // The exit hands the turn on outside any thread body: a strategy error raised there
      // (exhaustive search's nondeterminism check, an invalid pick) must end the execution,
      // not escape as an unhandled rejection and leave it hanging.
      const msg = e instanceof Error ? e.message : String(e);
      this.recordFailure("exception", `runtime error after thread ${t.name} ended: ${msg}`, t);
    }
  }

  private exitThread(t: SimThread): void {
    t.state = "done";
    this.scheduler.retire(t);
    this.scheduler.footprints?.touch(t, threadObject(t.id));
    this.emit(t, "exit", "exit");
    const leak = leakedLocks(t);
    if (leak !== null) {
      this.recordFailure("leaked-lock", leak, t);
      return;
    }
    // A joiner is woken by this exit only (its wait has no timeout): the reduction is told.
    for (const j of t.joiners.splice(0)) {
      this.scheduler.footprints?.enable(t, j);
      this.unblock(j);
    }
    this.runChecks(t);
    if (this.failed !== null) return;
    const next = this.pickNext(null);
    if (next !== null) this.handTo(next);
  }

  private async join(t: SimThread): Promise<void> {
    const me = this.self();
    // What join reads is the joined thread's lifetime, which its exit ends.
    await this.point("join", t.name, undefined, threadObject(t.id));
    while (t.state !== "done") {
      t.joiners.push(me);
      await this.block(me, { name: `thread ${t.name}`, owners: () => [t] }, undefined, threadObject(t.id));
    }
  }

  // ---------------------------------------------------------------- the run

  /** Run `main` as thread 0 until every thread is done or the execution fails. */
  run(main: (ex: Execution) => Promise<void>): Promise<ExecutionOutcome> {
    const done = new Promise<void>((r) => {
      this.settle = r;
    });
    const t = new SimThread(0, "main");
    this.scheduler.add(t);
    this.running = t;
    // main's first step runs before anything else and may touch anything.
    this.scheduler.footprints?.step(t, ANY_OBJECT, -1);
    void this.runThread(t, RESOLVED, () => main(this));
    this.watchdog = setImmediate(() => {
      if (!this.finished && this.detectForeignAwait) {
        const cur = this.running;
        this.recordFailure(
          "foreign-await",
          `thread ${cur?.name ?? "?"} awaited a promise that is not a scheduling point ` +
            `(after ${cur?.lastOp ?? "its start"}); only sim operations may be awaited`,
          cur ?? undefined,
        );
      }
    });
    return done.then(() => this.outcome());
  }

  private outcome(): ExecutionOutcome {
    return {
      failure: this.failed,
      steps: this.stepCount,
      ticks: this.clock.now,
      preemptions: this.scheduler.preemptions,
      choices: this.scheduler.choicePoints,
      trace: this.tracer.events,
      counters: this.counters.snapshot(),
      ...(this.scheduler.footprints === null
        ? {}
        : { footprints: this.scheduler.footprints.finish(this.scheduler) }),
    };
  }

  private complete(): void {
    if (this.finished) return;
    const f = this.checks.runAtExit();
    if (f !== null) {
      this.recordFailure(f.kind, f.message, undefined);
      return;
    }
    this.finished = true;
    this.running = null;
    if (this.watchdog !== null) clearImmediate(this.watchdog);
    this.settle?.();
  }

  // ---------------------------------------------------------------- the step loop

  /**
   * A scheduling point for the running thread, before it performs `op` on `object`.
   * Primitives call this; models call it (via condResched or their own ops) sparingly.
   * `footprint` overrides the step's footprint (footprint.ts), which is `object` by default.
   */
  point(op: string, object?: string, detail?: string, footprint?: string): Promise<void> {
    const t = this.self();
    // What the step this point begins touches: the object named, unless the caller knows
    // the step reads more (a wait_event condition, join), or nothing is named.
    t.footprint = footprint ?? object ?? ANY_OBJECT;
    if (this.failed !== null) throw new ExecutionAborted();
    this.stepCount++;
    t.lastOpName = op;
    t.lastObject = object;
    if (this.stepCount > this.maxSteps) {
      this.fail("livelock", `step bound ${this.maxSteps} exceeded (thread ${t.name} at ${t.lastOp})`);
    }
    this.runChecks(t);
    if (this.failed !== null) throw new ExecutionAborted();
    this.tracer.announce(t, op, object, detail);
    const next = this.pickNext(t);
    if (next === null) throw new ExecutionAborted();
    if (next === t) {
      this.tracer.performed(t, this.stepCount, this.clock.now);
      return RESOLVED;
    }
    return this.switchTo(t, next);
  }

  /**
   * The running step also reads or writes `object` (footprint.ts), though no point names it:
   * model code that tests shared state with no scheduling point of its own (a BUG_ON on a
   * counter read with atomic_read) names it here, so a partial-order reduction orders the
   * step against the points on that object. Not a scheduling point; free unless footprints
   * are recorded.
   */
  touch(object: string): void {
    const t = this.running;
    if (t !== null) this.scheduler.footprints?.touch(t, object);
  }

  /**
   * Block the running thread on `on` until `wake(t)` (or the deadline, in ticks from now).
   * A scheduling point. Returns true when it was woken, false when it timed out. `footprint`:
   * what the thread's step after the wake-up touches (footprint.ts), ANY_OBJECT by default.
   */
  async block(t: SimThread, on: Waitable, timeout?: number, footprint?: string): Promise<boolean> {
    if (this.failed !== null) throw new ExecutionAborted();
    this.stepCount++;
    if (this.stepCount > this.maxSteps) {
      this.fail("livelock", `step bound ${this.maxSteps} exceeded (thread ${t.name} blocking on ${on.name})`);
    }
    // The step that ends here is checked like one that ends at a point: a state it leaves
    // must be seen before anything else runs (and the reduction's visibility argument,
    // footprint.ts, needs every step's end checked).
    this.runChecks(t);
    if (this.failed !== null) throw new ExecutionAborted();
    t.state = "blocked";
    t.blockedOn = on;
    // Once woken it re-reads whatever its wait was for: unless the caller says what that is,
    // its next step may touch anything.
    t.footprint = footprint ?? ANY_OBJECT;
    t.timedOut = false;
    t.deadline = timeout === undefined ? null : this.clock.now + Math.max(0, timeout);
    this.emit(t, "block", "block", on.name, timeout === undefined ? undefined : `timeout=${timeout}`);
    const since = this.clock.now;
    const next = this.pickNext(t);
    if (next === null) throw new ExecutionAborted();
    if (next !== t) await this.switchTo(t, next);
    if (this.failed !== null) throw new ExecutionAborted();
    if (this.clock.now > since) this.count("ticks_blocked", this.clock.now - since);
    return !t.timedOut;
  }

  /** Make a blocked thread runnable again. Not a scheduling point (the waker's op was). */
  unblock(t: SimThread): void {
    if (t.state !== "blocked") return;
    t.state = "runnable";
    t.blockedOn = null;
    t.deadline = null;
  }

  /**
   * unblock(t) for a lock's release: the running thread held the lock `t` is blocked on and
   * releases it, so `t` could not have run before this step in any schedule — only the
   * holder's release wakes a lock's waiter, and locks block with no timeout. The reduction
   * is told (footprint.ts FootprintLog.enabled; strategy/bpor.ts).
   */
  unblockOnRelease(t: SimThread): void {
    if (t.state !== "blocked") return;
    if (this.running !== null) this.scheduler.footprints?.enable(this.running, t);
    this.unblock(t);
  }

  private switchTo(from: SimThread, to: SimThread): Promise<void> {
    const parked = new Promise<void>((r) => {
      from.resume = r;
    });
    this.handTo(to);
    return parked;
  }

  private handTo(to: SimThread): void {
    this.running = to;
    this.tracer.performed(to, this.stepCount, this.clock.now);
    const r = to.resume;
    to.resume = null;
    r?.();
  }

  /**
   * Choose who runs next. `from` is the thread at the point (null when it just ended).
   * When nothing is runnable, time jumps to the next deadline; when none is pending, the
   * execution is over (completed or stuck) and this returns null.
   */
  private pickNext(from: SimThread | null): SimThread | null {
    for (;;) {
      const next = this.scheduler.pick(from, this.stepCount);
      if (next !== null) return next;
      if (this.expireTimers()) continue;
      const s = stuck(this.scheduler.live, this.scheduler.threads[0]!);
      if (s === null) this.complete();
      else this.recordFailure(s.kind, s.message, s.thread, undefined, s.cycle);
      return null;
    }
  }

  /** Jump virtual time to the earliest pending deadline and wake who it ends; false when none is pending. */
  private expireTimers(): boolean {
    const expired = this.clock.advance(this.scheduler.live);
    if (expired === null) return false;
    for (const t of expired) {
      this.emit(t, "note", "timeout", t.blockedOn?.name);
      // Lets a waitable forget a waiter whose deadline passed (wait queues keep lists).
      const on = t.blockedOn as (Waitable & { dropWaiter?: (t: SimThread) => void }) | null;
      on?.dropWaiter?.(t);
      this.unblock(t);
      t.timedOut = true;
    }
    return true;
  }

  // ---------------------------------------------------------------- data choices and time

  /** A recorded data choice in [0, n): part of the decision list, replayed like threads. */
  choose(n: number, label?: string): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`sim: choose(${n}) needs a positive integer`);
    if (n === 1) return 0;
    const v = this.scheduler.pickData(n, this.running?.id ?? -1, this.stepCount);
    if (this.running !== null) this.emit(this.running, "note", "choose", label, `${v} of ${n}`);
    return v;
  }

  /** Sleep `ticks` of virtual time (msleep, schedule_timeout). A blocking scheduling point. */
  async sleep(ticks: number): Promise<void> {
    const t = this.self();
    this.mightSleep("msleep");
    await this.block(t, { name: "timer", owners: () => [] }, ticks);
  }

  /**
   * cpu_relax() in a spin loop: a scheduling point at which the spinning thread steps aside
   * whenever another thread can run. Without it an unfair schedule could spin for ever while
   * the thread it waits for never runs; real CPUs run in parallel, so that schedule does not
   * exist. Stepping aside is not counted as a preemption.
   */
  cpuRelax(): Promise<void> {
    const t = this.self();
    t.relaxing = true;
    try {
      return this.point("cpu_relax");
    } finally {
      t.relaxing = false;
    }
  }

  /** cond_resched(): a voluntary scheduling point that may sleep. */
  condResched(): Promise<void> {
    this.mightSleep("cond_resched");
    return this.point("cond_resched");
  }

  // ---------------------------------------------------------------- atomic context

  /** might_sleep(): a failure when the running thread holds a spinlock or is non-blocking. */
  mightSleep(op: string): void {
    const why = sleepInAtomic(this.self(), op);
    if (why !== null) this.fail("sleep-in-atomic", why);
  }

  /** Enter a region where sleeping is forbidden (a non-blockable notifier range). */
  enterNonBlocking(what: string): void {
    this.self().nonBlocking.push(what);
  }

  exitNonBlocking(): void {
    const t = this.self();
    if (t.nonBlocking.pop() === undefined) throw new Error("sim: exitNonBlocking without enterNonBlocking");
  }

  /** Run `body` inside a non-blocking region. */
  async nonBlocking<T>(what: string, body: () => Promise<T>): Promise<T> {
    this.enterNonBlocking(what);
    try {
      return await body();
    } finally {
      if (this.failed === null) this.exitNonBlocking();
    }
  }

  // ---------------------------------------------------------------- locks and lockdep

  /** Lockdep bookkeeping before an acquisition that may wait. */
  lockdepAcquire(t: SimThread, lock: Holdable): void {
    const r = checkLockOrder(this.lockdep, t, lock, this.stepCount);
    if (r !== null) this.fail("potential-deadlock", r.message, r.detail, r.cycle);
  }

  /** The thread now holds `lock`. */
  noteAcquired(t: SimThread, lock: Holdable, spin: boolean): void {
    t.hold(lock, this.clock.now, spin);
    this.checks.acquired(lock);
  }

  /** The thread released `lock`; releasing what it does not hold is a WARN-level bug. */
  noteReleased(t: SimThread, lock: Holdable, spin: boolean): void {
    const since = t.drop(lock, spin);
    if (since === null) this.fail("kernel-warn", `${t.name} releases ${lock.name} which it does not hold`);
    this.checks.released(lock);
    if (this.clock.now > since) this.count("lock_hold_ticks", this.clock.now - since);
    // The state a lock protects is checked the moment the lock is free again: without this
    // a state that lasts from the release to the thread's next point would go unseen.
    if (this.checks.anyProtected && this.failed === null) this.runChecks(t, true);
  }

  // ---------------------------------------------------------------- oracles, failures, trace, counters

  /**
   * Register an invariant checked after every step (and at each thread exit). With
   * `opts.protectedBy` it is checked only while none of those locks is held (see
   * CheckOptions): the state a lock protects is consistent only when the lock is free.
   */
  addCheck(name: FailureKind, check: InvariantCheck, opts: CheckOptions = {}): void {
    if (!this.checksEnabled) return;
    this.checks.add(name, check, opts);
  }

  /**
   * Whether any live thread holds `lock` (a spinlock, mutex, either side of an rwsem, a
   * lockdep map): for checks that must look only at state whose lock is free.
   */
  isHeld(lock: Holdable): boolean {
    return this.checks.isHeld(lock);
  }

  /** Register a check run once when every thread has finished (leaks, unremoved notifiers). */
  atExit(name: FailureKind, check: InvariantCheck): void {
    if (this.checksEnabled) this.checks.addAtExit(name, check);
  }

  private runChecks(t: SimThread, onlyProtected = false): void {
    this.visibility?.sample(t);
    const f = this.checks.run(onlyProtected, this.visibility?.watched);
    if (f !== null) this.recordFailure(f.kind, f.message, t);
  }

  /** End the execution with a failure found by a model or oracle; unwinds the caller. */
  fail(kind: FailureKind, message: string, detail?: Record<string, unknown>, cycle?: WaitForEdge[]): never {
    this.recordFailure(kind, message, this.running ?? undefined, detail, cycle);
    throw new ExecutionAborted();
  }

  private recordFailure(
    kind: FailureKind,
    message: string,
    thread: SimThread | undefined,
    detail?: Record<string, unknown>,
    cycle?: WaitForEdge[],
  ): void {
    if (this.failed !== null || this.finished) return;
    if (thread !== undefined) this.emit(thread, "fail", kind, undefined, message);
    const f: Failure = {
      kind,
      message,
      step: this.stepCount,
      tick: this.clock.now,
      threads: this.scheduler.threads.map(snapshotThread),
    };
    if (thread !== undefined) f.thread = thread.id;
    if (cycle !== undefined) f.cycle = cycle;
    if (detail !== undefined) f.detail = detail;
    if (this.tracer.events !== null) f.trace = this.tracer.events;
    this.failed = f;
    this.finished = true;
    this.running = null;
    if (this.watchdog !== null) clearImmediate(this.watchdog);
    this.settle?.();
  }

  /**
   * Whether this execution records a trace (a replay does; exploration does not): a caller
   * whose point detail costs something to format builds it only then.
   */
  get tracing(): boolean {
    return this.tracer.events !== null;
  }

  /** Annotate the trace (kernel function entry/exit, notes). Free when not recording. */
  trace(kind: TraceEventKind, op: string, object?: string, detail?: string): void {
    if (this.tracer.events === null || this.running === null) return;
    this.emit(this.running, kind, op, object, detail);
  }

  private emit(t: SimThread, kind: TraceEventKind, op: string, object?: string, detail?: string): void {
    this.tracer.emit(t, this.stepCount, this.clock.now, kind, op, object, detail);
  }

  /** Add to a named counter (callbacks invoked, retries...); reported with the outcome. */
  count(name: string, by = 1): void {
    this.counters.add(name, by);
  }
}
