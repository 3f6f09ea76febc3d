/**
 * One execution of a program under a scheduler.
 *
 * Protocol. Exactly one simulated thread runs at a time. A thread gives up the turn only at
 * a scheduling point: an operation on shared state (lock, unlock, marked load or store,
 * wait, wake, completion, cond_resched, sleep). At each point the runtime
 *   1. counts a step (and enforces the step bound),
 *   2. runs the registered invariant checks,
 *   3. asks the strategy which runnable thread performs the next operation, when more than
 *      one could, and records that decision,
 *   4. hands the turn over by resolving the chosen thread's parked promise.
 * Code between two points is therefore atomic, and the decision list alone determines the
 * whole execution: replay is running again with the same list.
 *
 * Memory model: sequentially consistent. READ_ONCE/WRITE_ONCE and
 * smp_load_acquire/smp_store_release are all the same kind of point here; the models do not
 * explore weak-memory reorderings.
 *
 * Time is virtual: the clock (in ticks) moves only when no thread is runnable and a timed
 * block is pending, and then jumps straight to the earliest deadline.
 *
 * Foreign awaits: every hand-over is a microtask, so a whole execution runs inside one
 * microtask drain. A setImmediate armed at the start fires only when that drain ends; if
 * the execution has not finished by then, the running thread is parked on a promise that no
 * scheduling point will resolve, and the execution fails with `foreign-await`.
 */
import {
  ExecutionAborted,
  type Failure,
  type FailureKind,
  type ThreadSnapshot,
  type WaitForEdge,
} from "./failure.ts";
import type { Lockdep } from "./lockdep.ts";
import { type Holdable, SimThread, type ThreadHandle } from "./thread.ts";
import type { TraceEvent, TraceEventKind } from "./trace.ts";
import type { Waitable } from "./waitable.ts";

/** A place where the strategy chose: among runnable threads, or among data values. */
export interface ChoicePoint {
  kind: "thread" | "data";
  /** Thread ids that could run (sorted), or the values 0..n-1. */
  options: readonly number[];
  /** Thread running before the choice, -1 when it had blocked or finished. */
  current: number;
  chosen: number;
  /** Steps so far, when the choice was made. */
  step: number;
}

/** What an execution asks of its strategy. */
export interface Chooser {
  pickThread(enabled: readonly number[], current: number, step: number): number;
  pickData(n: number, step: number): number;
}

/**
 * A check run after every step: null when the invariant holds, else a message (the failure
 * takes the check's registered kind) or a kind and message (a check that tells several
 * kinds apart, like the device oracles).
 */
export type InvariantCheck = () => string | { kind: FailureKind; message: string } | null;

/**
 * Options of a registered invariant check.
 *
 * `protectedBy` names the lock(s) that protect the state the check reads: the check then
 * runs only at points where no thread holds any of them, as a kernel assertion made under
 * those locks would (lockdep_assert_held, or a check taken after spin_lock). Without it a
 * checker running between two stores of one critical section — stores of lockless fields
 * are scheduling points — would report the half-done update as a violation. Give the locks
 * themselves, or a function returning the ones that exist now (per-mm locks created later).
 * A lock counts as held from its acquisition until its release, including at the
 * scheduling point of the unlock itself; protected checks also run right after every
 * release, so the state a critical section leaves is checked before anything else runs.
 */
export interface CheckOptions {
  protectedBy?: readonly Holdable[] | (() => Iterable<Holdable>);
}

export interface ExecutionOptions {
  chooser: Chooser;
  lockdep: Lockdep;
  maxSteps: number;
  /** Record the event trace (replays and shrinking do; plain exploration does not). */
  record: boolean;
  /** Identifies this execution's seed in replay tokens. */
  seed: number;
  /**
   * Fail an execution whose running thread awaits a foreign promise (default true). Off only
   * for a single-thread execution that hosts a benchmark loop, where awaiting timers is harmless.
   */
  detectForeignAwait?: boolean;
  /**
   * Run the invariant and exit checks models register (default true). Off only in a
   * benchmark host, which measures the modelled code path rather than its oracles.
   */
  checks?: boolean;
}

export interface ExecutionOutcome {
  failure: Failure | null;
  steps: number;
  ticks: number;
  preemptions: number;
  choices: ChoicePoint[];
  trace: TraceEvent[] | null;
  counters: Record<string, number>;
}

const RESOLVED: Promise<void> = Promise.resolve();

export class Execution {
  readonly seed: number;
  readonly lockdep: Lockdep;
  private readonly chooser: Chooser;
  private readonly maxSteps: number;
  private readonly threads: SimThread[] = [];
  /** Threads not yet done, in id order: what the scheduler scans at each point. */
  private readonly live: SimThread[] = [];
  private running: SimThread | null = null;
  private stepCount = 0;
  private clock = 0;
  private preemptionCount = 0;
  private readonly choicePoints: ChoicePoint[] = [];
  private readonly events: TraceEvent[] | null;
  private readonly checks: {
    name: string;
    check: InvariantCheck;
    protectedBy: CheckOptions["protectedBy"];
  }[] = [];
  private readonly exitChecks: { name: string; check: InvariantCheck }[] = [];
  /** Checks registered with `protectedBy`: also run whenever a lock is released. */
  private protectedChecks = 0;
  private readonly counterMap = new Map<string, number>();
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

  constructor(opts: ExecutionOptions) {
    this.seed = opts.seed;
    this.chooser = opts.chooser;
    this.lockdep = opts.lockdep;
    this.maxSteps = opts.maxSteps;
    this.events = opts.record ? [] : null;
    this.detectForeignAwait = opts.detectForeignAwait ?? true;
    this.checksEnabled = opts.checks ?? true;
  }

  // ---------------------------------------------------------------- read-only state

  get step(): number {
    return this.stepCount;
  }
  /** Virtual time in ticks. */
  get now(): number {
    return this.clock;
  }
  get failure(): Failure | null {
    return this.failed;
  }
  get recording(): boolean {
    return this.events !== null;
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
    const t = new SimThread(this.threads.length, name);
    this.threads.push(t);
    this.live.push(t);
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
    this.live.splice(this.live.indexOf(t), 1);
    this.emit(t, "exit", "exit");
    if (t.held.length > 0) {
      this.recordFailure(
        "leaked-lock",
        `thread ${t.name} ended holding ${t.held.map((h) => h.name).join(", ")}`,
        t,
      );
      return;
    }
    for (const j of t.joiners.splice(0)) this.unblock(j);
    this.runChecks(t);
    if (this.failed !== null) return;
    const next = this.pickNext(null);
    if (next !== null) this.handTo(next);
  }

  private async join(t: SimThread): Promise<void> {
    const me = this.self();
    await this.point("join", t.name);
    while (t.state !== "done") {
      t.joiners.push(me);
      await this.block(me, { name: `thread ${t.name}`, owners: () => [t] });
    }
  }

  // ---------------------------------------------------------------- the run

  /** Run `main` as thread 0 until every thread is done or the execution fails. */
  run(main: (ex: Execution) => Promise<void>): Promise<ExecutionOutcome> {
    const done = new Promise<void>((r) => {
      this.settle = r;
    });
    const t = new SimThread(0, "main");
    this.threads.push(t);
    this.live.push(t);
    this.running = t;
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
      ticks: this.clock,
      preemptions: this.preemptionCount,
      choices: this.choicePoints,
      trace: this.events,
      counters: Object.fromEntries(this.counterMap),
    };
  }

  private complete(): void {
    if (this.finished) return;
    for (const { name, check } of this.exitChecks) {
      const r = check();
      if (r !== null) {
        if (typeof r === "string") this.recordFailure(name, r, undefined);
        else this.recordFailure(r.kind, r.message, undefined);
        return;
      }
    }
    this.finished = true;
    this.running = null;
    if (this.watchdog !== null) clearImmediate(this.watchdog);
    this.settle?.();
  }

  // ---------------------------------------------------------------- scheduling core

  /**
   * A scheduling point for the running thread, before it performs `op` on `object`.
   * Primitives call this; models call it (via condResched or their own ops) sparingly.
   */
  point(op: string, object?: string, detail?: string): Promise<void> {
    const t = this.self();
    if (this.failed !== null) throw new ExecutionAborted();
    this.stepCount++;
    t.lastOp = object === undefined ? op : `${op} ${object}`;
    if (this.stepCount > this.maxSteps) {
      this.fail("livelock", `step bound ${this.maxSteps} exceeded (thread ${t.name} at ${t.lastOp})`);
    }
    this.runChecks(t);
    if (this.failed !== null) throw new ExecutionAborted();
    // The operation is logged when the thread performs it — when it is next handed the
    // turn — not when it announces it: the trace then reads in the order things happened.
    if (this.events !== null) t.pendingOp = { op, object, detail };
    const next = this.pickNext(t);
    if (next === null) throw new ExecutionAborted();
    if (next === t) {
      this.emitPendingOp(t);
      return RESOLVED;
    }
    return this.switchTo(t, next);
  }

  /**
   * Block the running thread on `on` until `wake(t)` (or the deadline, in ticks from now).
   * A scheduling point. Returns true when it was woken, false when it timed out.
   */
  async block(t: SimThread, on: Waitable, timeout?: number): Promise<boolean> {
    if (this.failed !== null) throw new ExecutionAborted();
    this.stepCount++;
    if (this.stepCount > this.maxSteps) {
      this.fail("livelock", `step bound ${this.maxSteps} exceeded (thread ${t.name} blocking on ${on.name})`);
    }
    t.state = "blocked";
    t.blockedOn = on;
    t.timedOut = false;
    t.deadline = timeout === undefined ? null : this.clock + Math.max(0, timeout);
    this.emit(t, "block", "block", on.name, timeout === undefined ? undefined : `timeout=${timeout}`);
    const since = this.clock;
    const next = this.pickNext(t);
    if (next === null) throw new ExecutionAborted();
    if (next !== t) await this.switchTo(t, next);
    if (this.failed !== null) throw new ExecutionAborted();
    if (this.clock > since) this.count("ticks_blocked", this.clock - since);
    return !t.timedOut;
  }

  /** Make a blocked thread runnable again. Not a scheduling point (the waker's op was). */
  unblock(t: SimThread): void {
    if (t.state !== "blocked") return;
    t.state = "runnable";
    t.blockedOn = null;
    t.deadline = null;
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
    this.emitPendingOp(to);
    const r = to.resume;
    to.resume = null;
    r?.();
  }

  /**
   * Choose who runs next. `from` is the thread at the point (null when it just ended).
   * Returns null when the execution is over (completed or failed).
   */
  private pickNext(from: SimThread | null): SimThread | null {
    for (;;) {
      const enabled: number[] = [];
      for (const t of this.live) if (t.state === "runnable") enabled.push(t.id);
      if (from?.relaxing === true && enabled.length > 1) enabled.splice(enabled.indexOf(from.id), 1);
      if (enabled.length === 0) {
        if (this.advanceClock()) continue;
        this.noneRunnable();
        return null;
      }
      const current = from !== null && from.state === "runnable" && !from.relaxing ? from.id : -1;
      let chosen: number;
      if (enabled.length === 1) {
        chosen = enabled[0]!;
      } else {
        chosen = this.chooser.pickThread(enabled, current, this.stepCount);
        if (!enabled.includes(chosen)) {
          throw new Error(`sim: strategy picked thread ${chosen}, not among runnable [${enabled.join(",")}]`);
        }
        this.choicePoints.push({ kind: "thread", options: enabled, current, chosen, step: this.stepCount });
        if (current !== -1 && chosen !== current) this.preemptionCount++;
      }
      return this.threads[chosen]!;
    }
  }

  /** Jump virtual time to the earliest pending deadline; false when none is pending. */
  private advanceClock(): boolean {
    let earliest = Number.POSITIVE_INFINITY;
    for (const t of this.live) {
      if (t.state === "blocked" && t.deadline !== null && t.deadline < earliest) earliest = t.deadline;
    }
    if (earliest === Number.POSITIVE_INFINITY) return false;
    this.clock = earliest;
    for (const t of this.live) {
      if (t.state === "blocked" && t.deadline !== null && t.deadline <= earliest) {
        this.emit(t, "note", "timeout", t.blockedOn?.name);
        this.onTimeout(t);
        this.unblock(t);
        t.timedOut = true;
      }
    }
    return true;
  }

  /** Lets a waitable forget a waiter whose deadline passed (wait queues keep lists). */
  private onTimeout(t: SimThread): void {
    const on = t.blockedOn as (Waitable & { dropWaiter?: (t: SimThread) => void }) | null;
    on?.dropWaiter?.(t);
  }

  /** Nothing can run and no timer is pending: finished, deadlocked, or blocked at exit. */
  private noneRunnable(): void {
    const blocked = this.live.filter((t) => t.state === "blocked");
    if (blocked.length === 0) {
      this.complete();
      return;
    }
    const cycle = this.waitForCycle(blocked);
    const main = this.threads[0]!;
    if (cycle === null && main.state === "done") {
      this.recordFailure(
        "blocked-at-exit",
        `main finished while ${blocked.map((t) => `${t.name} (on ${t.blockedOn?.name})`).join(", ")} stay blocked`,
        blocked[0],
      );
      return;
    }
    const what =
      cycle !== null
        ? cycle.map((e) => `${e.thread} waits for ${e.object} held by ${e.owner}`).join("; ")
        : blocked.map((t) => `${t.name} waits on ${t.blockedOn?.name} that nobody will wake`).join("; ");
    this.recordFailure("deadlock", `deadlock: ${what}`, blocked[0], undefined, cycle ?? undefined);
  }

  /** A cycle in the wait-for graph (thread -> object -> owner), depth-first from each blocked thread. */
  private waitForCycle(blocked: SimThread[]): WaitForEdge[] | null {
    const path: WaitForEdge[] = [];
    const onPath = new Map<SimThread, number>();
    const done = new Set<SimThread>();
    const visit = (t: SimThread): WaitForEdge[] | null => {
      const at = onPath.get(t);
      if (at !== undefined) return path.slice(at);
      if (done.has(t) || t.state !== "blocked" || t.blockedOn === null) return null;
      onPath.set(t, path.length);
      for (const owner of t.blockedOn.owners(t)) {
        path.push({ thread: t.name, object: t.blockedOn.name, owner: owner.name });
        const c = visit(owner);
        if (c !== null) return c;
        path.pop();
      }
      onPath.delete(t);
      done.add(t);
      return null;
    };
    for (const t of blocked) {
      const c = visit(t);
      if (c !== null) return c;
    }
    return null;
  }

  // ---------------------------------------------------------------- data choices and time

  /** A recorded data choice in [0, n): part of the decision list, replayed like threads. */
  choose(n: number, label?: string): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`sim: choose(${n}) needs a positive integer`);
    if (n === 1) return 0;
    const v = this.chooser.pickData(n, this.stepCount);
    const options = Array.from({ length: n }, (_, i) => i);
    this.choicePoints.push({
      kind: "data",
      options,
      current: this.running?.id ?? -1,
      chosen: v,
      step: this.stepCount,
    });
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
    const t = this.self();
    if (!t.isAtomic()) return;
    const why =
      t.spinDepth > 0
        ? `holding ${t.spinLocks.map((h) => h.name).join(", ")}`
        : `inside non-blocking ${t.nonBlocking[t.nonBlocking.length - 1]}`;
    this.fail(
      "sleep-in-atomic",
      `BUG: sleeping function called from invalid context: ${op} by ${t.name} ${why}`,
    );
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
    const held: string[] = [];
    for (const h of t.held) held.push(h.lockClass);
    const inv = this.lockdep.acquire(t.name, held, lock.lockClass, this.stepCount);
    if (inv === null) return;
    const chain = inv.chain.map((s) => `${s.held} -> ${s.acquired} (${s.thread}, execution ${s.execution})`);
    this.fail(
      "potential-deadlock",
      `possible circular locking dependency: ${t.name} takes ${inv.newEdge.acquired} while holding ` +
        `${inv.newEdge.held}, but ${chain.join(", ")} was seen before`,
      {
        newEdge: inv.newEdge,
        chain: inv.chain,
      },
      [
        { thread: t.name, object: inv.newEdge.acquired, owner: inv.newEdge.held },
        ...inv.chain.map((s) => ({ thread: s.thread, object: s.acquired, owner: s.held })),
      ],
    );
  }

  /** The thread now holds `lock`. */
  noteAcquired(t: SimThread, lock: Holdable, spin: boolean): void {
    t.held.push(lock);
    t.heldSince.push(this.clock);
    if (spin) {
      t.spinDepth++;
      t.spinLocks.push(lock);
    }
  }

  /** The thread released `lock`; releasing what it does not hold is a WARN-level bug. */
  noteReleased(t: SimThread, lock: Holdable, spin: boolean): void {
    const i = t.held.lastIndexOf(lock);
    if (i < 0) this.fail("kernel-warn", `${t.name} releases ${lock.name} which it does not hold`);
    t.held.splice(i, 1);
    const since = t.heldSince.splice(i, 1)[0] ?? this.clock;
    if (this.clock > since) this.count("lock_hold_ticks", this.clock - since);
    if (spin) {
      t.spinDepth--;
      t.spinLocks.splice(t.spinLocks.lastIndexOf(lock), 1);
    }
    // The state a lock protects is checked the moment the lock is free again: without this
    // a state that lasts from the release to the thread's next point would go unseen.
    if (this.protectedChecks > 0 && this.failed === null) this.runChecks(t, true);
  }

  // ---------------------------------------------------------------- oracles, trace, counters

  /**
   * Register an invariant checked after every step (and at each thread exit). With
   * `opts.protectedBy` it is checked only while none of those locks is held (see
   * CheckOptions): the state a lock protects is consistent only when the lock is free.
   */
  addCheck(name: FailureKind, check: InvariantCheck, opts: CheckOptions = {}): void {
    if (!this.checksEnabled) return;
    this.checks.push({ name, check, protectedBy: opts.protectedBy });
    if (opts.protectedBy !== undefined) this.protectedChecks++;
  }

  /**
   * Whether any live thread holds `lock` (a spinlock, mutex, either side of an rwsem, a
   * lockdep map): for checks that must look only at state whose lock is free.
   */
  isHeld(lock: Holdable): boolean {
    for (const t of this.live) if (t.held.includes(lock)) return true;
    return false;
  }

  private anyHeld(locks: CheckOptions["protectedBy"]): boolean {
    if (locks === undefined) return false;
    const list = typeof locks === "function" ? locks() : locks;
    for (const l of list) if (this.isHeld(l)) return true;
    return false;
  }

  /** Register a check run once when every thread has finished (leaks, unremoved notifiers). */
  atExit(name: FailureKind, check: InvariantCheck): void {
    if (this.checksEnabled) this.exitChecks.push({ name, check });
  }

  private runChecks(t: SimThread, onlyProtected = false): void {
    for (const { name, check, protectedBy } of this.checks) {
      if (onlyProtected && protectedBy === undefined) continue;
      if (protectedBy !== undefined && this.anyHeld(protectedBy)) continue;
      const r = check();
      if (r !== null) {
        if (typeof r === "string") this.recordFailure(name, r, t);
        else this.recordFailure(r.kind, r.message, t);
        return;
      }
    }
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
      tick: this.clock,
      threads: this.threads.map(snapshot),
    };
    if (thread !== undefined) f.thread = thread.id;
    if (cycle !== undefined) f.cycle = cycle;
    if (detail !== undefined) f.detail = detail;
    if (this.events !== null) f.trace = this.events;
    this.failed = f;
    this.finished = true;
    this.running = null;
    if (this.watchdog !== null) clearImmediate(this.watchdog);
    this.settle?.();
  }

  /** Annotate the trace (kernel function entry/exit, notes). Free when not recording. */
  trace(kind: TraceEventKind, op: string, object?: string, detail?: string): void {
    if (this.events === null || this.running === null) return;
    this.emit(this.running, kind, op, object, detail);
  }

  private emitPendingOp(t: SimThread): void {
    const p = t.pendingOp;
    if (p === null) return;
    t.pendingOp = null;
    this.emit(t, "op", p.op, p.object, p.detail);
  }

  private emit(t: SimThread, kind: TraceEventKind, op: string, object?: string, detail?: string): void {
    if (this.events === null) return;
    const e: TraceEvent = {
      step: this.stepCount,
      tick: this.clock,
      thread: t.id,
      threadName: t.name,
      kind,
      op,
    };
    if (object !== undefined) e.object = object;
    if (detail !== undefined) e.detail = detail;
    this.events.push(e);
  }

  /** Add to a named counter (callbacks invoked, retries...); reported with the outcome. */
  count(name: string, by = 1): void {
    this.counterMap.set(name, (this.counterMap.get(name) ?? 0) + by);
  }
}

function snapshot(t: SimThread): ThreadSnapshot {
  const s: ThreadSnapshot = { id: t.id, name: t.name, state: t.state, holds: t.held.map((h) => h.name) };
  if (t.blockedOn !== null) s.blockedOn = t.blockedOn.name;
  if (t.lastOp !== undefined) s.lastOp = t.lastOp;
  return s;
}
