/**
 * What an execution is given and what it hands back (execution.ts runs it): the options a
 * run is made with, and the outcome strategies, exploration and replay read.
 */

import type { Failure } from "./failure.ts";
import type { FootprintLog } from "./footprint.ts";
import type { Lockdep } from "./lockdep.ts";
import type { ChoicePoint, Chooser } from "./scheduler.ts";
import type { TraceEvent } from "./trace.ts";

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
  /** The footprint of every step, when the strategy asked for them (a partial-order reduction). */
  footprints?: FootprintLog;
}
