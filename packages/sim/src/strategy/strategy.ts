/**
 * The strategy interface: policy apart from mechanics (after shuttle's Scheduler trait and
 * fast-check's scheduler). The runtime asks it to begin an execution, to pick a thread or a
 * data value where there is a choice, and tells it how the execution ended.
 */
import type { Chooser, ExecutionOutcome } from "../execution.ts";

export interface StrategyReport {
  name: string;
  params: Record<string, number | string>;
  /** Exhaustive search: the bounded space was walked completely. */
  exhausted?: boolean;
  /** Schedules pruned by a reduction (sleep sets), when the strategy applies one. */
  pruned?: number;
  /** PCT: the probability bound 1/(n·k^(d-1)) per execution, with the n and k observed. */
  pctBound?: { n: number; k: number; d: number; probability: number };
}

export interface Strategy extends Chooser {
  readonly name: string;
  /** Prepare execution `index` (0-based). False when nothing is left to explore. */
  beginExecution(index: number): boolean;
  /** Seed of the execution just begun: it goes into that execution's replay token. */
  readonly seed: number;
  /** The execution ended: exhaustive search backtracks from its choices, PCT learns n and k. */
  endExecution(outcome: ExecutionOutcome): void;
  describe(): StrategyReport;
}

/** The choice that is not a preemption: keep running `current` when it can, else the lowest id. */
export function nonPreemptive(enabled: readonly number[], current: number): number {
  return current !== -1 && enabled.includes(current) ? current : enabled[0]!;
}
