/**
 * Running one execution, or a recorded list of them: the mechanics under exploration,
 * replay and shrinking.
 */
import { Execution, type ExecutionOutcome } from "./execution.ts";
import { Lockdep } from "./lockdep.ts";
import { ReplayStrategy } from "./strategy/replay.ts";
import type { Strategy } from "./strategy/strategy.ts";
import { decodeToken, type RecordedExecution, type ReplayToken } from "./token.ts";

/** A program: the main body, run as thread 0; it spawns the racing threads. */
export type Program = (ex: Execution) => Promise<void>;

export const DEFAULT_MAX_STEPS = 10_000;

/** Run one execution under `strategy` (already begun) and `lockdep`. */
export function runExecution(
  program: Program,
  strategy: Strategy,
  lockdep: Lockdep,
  maxSteps: number,
  record: boolean,
): Promise<ExecutionOutcome> {
  const ex = new Execution({ chooser: strategy, lockdep, maxSteps, record, seed: strategy.seed });
  return ex.run(program);
}

export function recorded(seed: number, outcome: ExecutionOutcome): RecordedExecution {
  return { seed, decisions: outcome.choices.map((c) => c.chosen) };
}

/**
 * Run recorded executions in order under one lockdep; return the last one's outcome.
 * Earlier ones only establish lock orders.
 */
export async function runRecorded(
  program: Program,
  token: ReplayToken,
  opts: { maxSteps?: number; record?: boolean } = {},
): Promise<ExecutionOutcome> {
  const executions = token.executions;
  const lockdep = new Lockdep(token.lockdep);
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  let last: ExecutionOutcome | null = null;
  for (const [i, e] of executions.entries()) {
    const s = new ReplayStrategy(e.seed, e.decisions);
    s.beginExecution(0);
    lockdep.execution = i;
    last = await runExecution(
      program,
      s,
      lockdep,
      maxSteps,
      i === executions.length - 1 && (opts.record ?? true),
    );
  }
  if (last === null) throw new Error("nothing to replay");
  return last;
}

/**
 * Replay a token: the same token always gives the same trace, byte for byte. A malformed
 * token rejects the returned promise (it does not throw synchronously).
 */
export async function replay(
  program: Program,
  token: string,
  opts: { maxSteps?: number } = {},
): Promise<ExecutionOutcome> {
  return runRecorded(program, decodeToken(token), { ...opts, record: true });
}
