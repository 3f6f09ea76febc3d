// Shared by the sim tests: run one execution of a program under a strategy, the way the
// explorer does, but with the trace recorded and the outcome returned as it is.
import {
  type ExecutionOutcome,
  explore,
  Lockdep,
  type Program,
  RandomStrategy,
  runExecution,
  SharedCell,
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

/** `n` threads (A, B, ...), two stores each to one cell, and one data choice in main: a small full space. */
export function writers(n: number): Program {
  return async (ex) => {
    const x = new SharedCell(ex, "x", 0);
    const hs = Array.from({ length: n }, (_, i) =>
      ex.spawn(String.fromCharCode(65 + i), async () => {
        await x.store(i * 10 + 1);
        await x.store(i * 10 + 2);
      }),
    );
    if (ex.choose(2) === 1) await x.store(99);
    for (const h of hs) await h.join();
  };
}

/** A seqcount reader without the retry check, against two writers: a torn read. */
export const tornRead: Program = async (ex) => {
  const seq = new SharedCell(ex, "seq", 0);
  const a = new SharedCell(ex, "a", 0);
  const b = new SharedCell(ex, "b", 0);
  const writer = (v: number) => async () => {
    await seq.store(v * 2 - 1);
    await a.store(v);
    await b.store(v);
    await seq.store(v * 2);
  };
  const w1 = ex.spawn("W1", writer(1));
  const w2 = ex.spawn("W2", writer(2));
  const r = ex.spawn("R", async () => {
    await seq.load();
    const x = await a.load();
    const y = await b.load();
    if (x !== y) ex.fail("torn-read", `a=${x} b=${y}`);
  });
  for (const h of [w1, w2, r]) await h.join();
};

/** Every execution an exploration runs (no stop at a failure, no shrinking), and their decision lists. */
export async function allRuns(program: Program, strategy: Strategy, executions = 100_000) {
  const runs: ExecutionOutcome[] = [];
  const r = await explore(program, {
    strategy,
    executions,
    stopOnFailure: false,
    shrink: false,
    onExecution: (o) => runs.push(o),
  });
  return { r, runs, lists: runs.map((o) => o.choices.map((c) => c.chosen).join(",")) };
}
