/**
 * Exploration: many executions under a strategy and a budget, ending with a summary and —
 * on failure — a shrunk, recorded counterexample whose replay token reproduces it.
 */
import type { ExecutionOutcome } from "./execution.ts";
import type { Failure } from "./failure.ts";
import { Lockdep } from "./lockdep.ts";
import { DEFAULT_MAX_STEPS, type Program, recorded, runExecution, runRecorded } from "./run.ts";
import { shrinkFailure } from "./shrink.ts";
import type { Strategy, StrategyReport } from "./strategy/strategy.ts";
import { encodeToken, type RecordedExecution, type ReplayToken } from "./token.ts";

export interface ExploreOptions {
  strategy: Strategy;
  /** Most executions to run (default 1000). */
  executions?: number;
  /** Wall-clock budget in ms. Makes the number of executions machine-dependent. */
  timeBudgetMs?: number;
  /** Step bound per execution; exceeding it is a `livelock` (default 10 000). */
  maxSteps?: number;
  /** Stop at the first failure (default true). */
  stopOnFailure?: boolean;
  /** Shrink the first failure (default true). */
  shrink?: boolean;
  /** Most executions shrinking may spend (default 400). */
  shrinkAttempts?: number;
  /** Called after every execution (metrics collection). */
  onExecution?: (outcome: ExecutionOutcome, index: number) => void;
  /** Lock-order validation across executions (default true). */
  lockdep?: boolean;
  /** Called about once a second of wall time. */
  onProgress?: (p: { executions: number; failures: number; elapsedMs: number }) => void;
}

export interface StepStats {
  min: number;
  median: number;
  max: number;
}

export interface ExploreResult {
  strategy: StrategyReport;
  executions: number;
  failures: number;
  /** 1-based index of the first failing execution, null when none failed. */
  firstFailureAt: number | null;
  /** The first failure, shrunk when asked, with its recorded trace. */
  failure: Failure | null;
  /** Replay token of that failure. */
  replay: string | null;
  shrink: {
    fromSteps: number;
    toSteps: number;
    fromPreemptions: number;
    toPreemptions: number;
    runs: number;
  } | null;
  steps: StepStats;
  maxPreemptions: number;
  /** Exhaustive search walked its whole bounded space. */
  exhausted: boolean;
  /** Counters summed over all executions. */
  counters: Record<string, number>;
  /** Wall-clock duration: not deterministic, keep it out of verdicts and reproducible data. */
  wallMs: number;
}

export async function explore(program: Program, opts: ExploreOptions): Promise<ExploreResult> {
  const strategy = opts.strategy;
  const budget = opts.executions ?? 1000;
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  const stopOnFailure = opts.stopOnFailure ?? true;
  const started = Date.now();
  let lastProgress = started;
  const lockdep = new Lockdep(opts.lockdep ?? true);
  /** Executions that added lock dependencies: a later inversion's token needs them. */
  const orderSetters = new Map<number, RecordedExecution>();
  const steps: number[] = [];
  const counters: Record<string, number> = {};
  let maxPreemptions = 0;
  let failures = 0;
  let first: { index: number; outcome: ExecutionOutcome; token: ReplayToken } | null = null;
  let executions = 0;

  for (let i = 0; i < budget; i++) {
    if (opts.timeBudgetMs !== undefined && Date.now() - started > opts.timeBudgetMs) break;
    if (!strategy.beginExecution(i)) break;
    lockdep.execution = i;
    const edgesBefore = lockdep.dependencyCount;
    const outcome = await runExecution(program, strategy, lockdep, maxSteps, false);
    strategy.endExecution(outcome);
    executions++;
    steps.push(outcome.steps);
    maxPreemptions = Math.max(maxPreemptions, outcome.preemptions);
    for (const [k, v] of Object.entries(outcome.counters)) counters[k] = (counters[k] ?? 0) + v;
    opts.onExecution?.(outcome, i);
    const rec = recorded(strategy.seed, outcome);
    if (lockdep.dependencyCount > edgesBefore) orderSetters.set(i, rec);
    if (outcome.failure !== null) {
      failures++;
      if (first === null) {
        const runs = [...prelude(outcome.failure, i, orderSetters), rec];
        first = { index: i, outcome, token: { lockdep: lockdep.enabled, executions: runs } };
      }
      if (stopOnFailure) break;
    }
    const now = Date.now();
    if (opts.onProgress !== undefined && now - lastProgress >= 1000) {
      lastProgress = now;
      opts.onProgress({ executions, failures, elapsedMs: now - started });
    }
  }

  const report = strategy.describe();
  let failure: Failure | null = null;
  let token: string | null = null;
  let shrink: ExploreResult["shrink"] = null;
  if (first !== null) {
    const found = first.outcome.failure!;
    // Replay before anything else: a failure its own decision list does not reproduce means
    // the program consulted something outside the decisions. Report it as found, and say so.
    const again = await runRecorded(program, first.token, { maxSteps, record: true });
    if (again.failure?.kind !== found.kind) {
      failure = {
        ...found,
        message:
          `${found.message} — not reproduced by its replay (${again.failure?.kind ?? "pass"} instead): ` +
          "the program is not deterministic",
        detail: { ...found.detail, nondeterministic: true },
      };
      token = encodeToken(first.token);
    } else if (opts.shrink ?? true) {
      const s = await shrinkFailure(program, first.token, found.kind, {
        maxSteps,
        attempts: opts.shrinkAttempts ?? 400,
      });
      shrink = {
        fromSteps: first.outcome.steps,
        toSteps: s.outcome.steps,
        fromPreemptions: first.outcome.preemptions,
        toPreemptions: s.outcome.preemptions,
        runs: s.runs,
      };
      failure = s.outcome.failure;
      token = encodeToken(s.token);
    } else {
      failure = again.failure;
      token = encodeToken(first.token);
    }
  }
  return {
    strategy: report,
    executions,
    failures,
    firstFailureAt: first === null ? null : first.index + 1,
    failure,
    replay: token,
    shrink,
    steps: stats(steps),
    maxPreemptions,
    exhausted: report.exhausted === true,
    counters,
    wallMs: Date.now() - started,
  };
}

/** For a lock-order inversion: the earlier executions that recorded the other order. */
function prelude(
  failure: Failure,
  index: number,
  setters: Map<number, RecordedExecution>,
): RecordedExecution[] {
  if (failure.kind !== "potential-deadlock") return [];
  const chain = (failure.detail?.chain ?? []) as { execution: number }[];
  const needed = [...new Set(chain.map((s) => s.execution))].filter((e) => e !== index).sort((a, b) => a - b);
  return needed.map((e) => setters.get(e)).filter((r): r is RecordedExecution => r !== undefined);
}

function stats(xs: number[]): StepStats {
  if (xs.length === 0) return { min: 0, median: 0, max: 0 };
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
}
