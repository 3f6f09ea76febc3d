// Shared by the sim tests: run one execution of a program under a strategy, the way the
// explorer does, but with the trace recorded and the outcome returned as it is.
import {
  type ExecutionOutcome,
  Lockdep,
  type Program,
  RandomStrategy,
  runExecution,
  type Strategy,
} from "../src/index.ts";

export interface RunOnceOptions {
  strategy?: Strategy;
  lockdep?: boolean;
  maxSteps?: number;
  record?: boolean;
}

/** Run execution 0 of `program` (random strategy, seed 1, recorded, unless told otherwise). */
export async function runOnce(program: Program, opts: RunOnceOptions = {}): Promise<ExecutionOutcome> {
  const strategy = opts.strategy ?? new RandomStrategy(1);
  if (!strategy.beginExecution(0)) throw new Error("strategy refused to begin");
  const outcome = await runExecution(
    program,
    strategy,
    new Lockdep(opts.lockdep ?? true),
    opts.maxSteps ?? 10_000,
    opts.record ?? true,
  );
  strategy.endExecution(outcome);
  return outcome;
}

/** One execution of `program` under each of `seeds` uniform random strategies (seeds 0..seeds-1). */
export async function runUnder(
  program: Program,
  seeds: number,
  opts: Omit<RunOnceOptions, "strategy"> = {},
): Promise<ExecutionOutcome[]> {
  const out: ExecutionOutcome[] = [];
  for (let s = 0; s < seeds; s++)
    out.push(await runOnce(program, { ...opts, strategy: new RandomStrategy(s) }));
  return out;
}
