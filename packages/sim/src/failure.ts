/**
 * Failures an execution can end with. The runtime itself detects the first group; oracles
 * built on top (the kernel model's device checks) add their own kinds through
 * `Execution.fail`, so `FailureKind` is open-ended.
 */
import type { TraceEvent } from "./trace.ts";

/** Kinds the runtime detects on its own. */
export const RUNTIME_FAILURE_KINDS = [
  "exception", // a thread threw
  "deadlock", // nothing runnable, someone blocked, no timer pending
  "livelock", // the step bound was exceeded
  "potential-deadlock", // lockdep: lock-order inversion seen across executions
  "sleep-in-atomic", // might_sleep() while holding a spinlock or in a non-blocking context
  "leaked-lock", // a thread ended still holding a lock
  "blocked-at-exit", // the main body finished while another thread stays blocked for ever
  "foreign-await", // a thread awaited a promise that is not a scheduling point
] as const;

export type RuntimeFailureKind = (typeof RUNTIME_FAILURE_KINDS)[number];
export type FailureKind = RuntimeFailureKind | (string & {});

/** What one thread was doing when the execution ended. */
export interface ThreadSnapshot {
  id: number;
  name: string;
  state: "runnable" | "blocked" | "done";
  /** The object it is blocked on (lock, wait queue, completion...), if blocked. */
  blockedOn?: string;
  /** Locks it holds, in acquisition order. */
  holds: string[];
  /** The last operation it performed or announced. */
  lastOp?: string;
}

/** One edge of a wait-for cycle: `thread` waits on `object`, which `owner` holds. */
export interface WaitForEdge {
  thread: string;
  object: string;
  owner: string;
}

export interface Failure {
  kind: FailureKind;
  message: string;
  /** Thread that hit it (for deadlocks: one of the cycle). */
  thread?: number;
  step: number;
  tick: number;
  threads: ThreadSnapshot[];
  /** Deadlocks: the wait-for cycle; lockdep: the two orders that conflict. */
  cycle?: WaitForEdge[];
  /** Free-form, structured detail from the detector or oracle. */
  detail?: Record<string, unknown>;
  /** Filled when the execution was recorded (replay, shrinking). */
  trace?: TraceEvent[];
}

/**
 * Thrown inside a simulated thread to unwind it after the execution has failed; the
 * runtime catches it, so thread bodies never need to.
 */
export class ExecutionAborted extends Error {
  constructor() {
    super("execution aborted");
    this.name = "ExecutionAborted";
  }
}
