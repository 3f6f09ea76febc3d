/**
 * Exploration: many executions under a strategy and a budget, ending with a summary and —
 * on failure — a shrunk, recorded counterexample whose replay token reproduces it.
 *
 * With `stopOnFailure: false` the exploration goes on after a violation and keeps the first
 * execution of every distinct kind, each with its own shrunk counterexample. Lockdep then
 * behaves as the kernel's does: its first report is recorded and the execution runs on, and
 * the validator turns itself off for the rest of the exploration (kernel/locking/lockdep.c:
 * debug_locks_off() after the first splat), so a lock-order report no longer hides what the
 * same schedules do next — a hang, a stale access. A violation found after that report has a
 * replay token with lockdep off (`v1n.`), which is how it was found.
 */
import type { ExecutionOutcome } from "./execution.ts";
import type { Failure, FailureKind } from "./failure.ts";
import { Lockdep, type LockOrderInversion } from "./lockdep.ts";
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
  /**
   * Stop at the first failure (default true). false: run the whole budget and keep the
   * first execution of each distinct violation kind (see the file comment).
   */
  stopOnFailure?: boolean;
  /** Shrink the failures kept (default true). */
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

/** How a counterexample was shrunk. */
export interface ShrinkSummary {
  fromSteps: number;
  toSteps: number;
  fromPreemptions: number;
  toPreemptions: number;
  runs: number;
}

/** The first execution that reached one violation kind, and its counterexample. */
export interface FoundViolation {
  kind: FailureKind;
  /** 1-based index of the execution that first reached this kind. */
  firstFailureAt: number;
  /** Shrunk when asked, with its recorded trace. */
  failure: Failure;
  /** Replay token of that failure. */
  replay: string;
  shrink: ShrinkSummary | null;
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
  shrink: ShrinkSummary | null;
  /**
   * Every distinct violation kind reached, in the order first reached; the first is
   * `failure`. With `stopOnFailure` (the default) at most one.
   */
  violations: FoundViolation[];
  steps: StepStats;
  maxPreemptions: number;
  /** Exhaustive search walked its whole bounded space. */
  exhausted: boolean;
  /** Counters summed over all executions. */
  counters: Record<string, number>;
  /** Wall-clock duration: not deterministic, keep it out of verdicts and reproducible data. */
  wallMs: number;
}

/**
 * Lockdep as the kernel runs it: the first inversion is reported once — recorded here, not
 * failing the execution — and validation stops (debug_locks_off()). Used when the exploration
 * goes on after a violation.
 */
class ReportOnceLockdep extends Lockdep {
  /** The report, once made: the inversion and the execution it was found in. */
  report: { inversion: LockOrderInversion; execution: number } | null = null;

  override acquire(
    thread: string,
    held: readonly string[],
    acquired: string,
    step: number,
  ): LockOrderInversion | null {
    if (this.report !== null) return null;
    const inversion = super.acquire(thread, held, acquired, step);
    if (inversion !== null) this.report = { inversion, execution: this.execution };
    return null;
  }
}

interface Pending {
  kind: FailureKind;
  index: number;
  outcome: ExecutionOutcome;
  token: ReplayToken;
}

export async function explore(program: Program, opts: ExploreOptions): Promise<ExploreResult> {
  const strategy = opts.strategy;
  const budget = opts.executions ?? 1000;
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  const stopOnFailure = opts.stopOnFailure ?? true;
  const started = Date.now();
  let lastProgress = started;
  const reportOnce = stopOnFailure ? null : new ReportOnceLockdep(opts.lockdep ?? true);
  const lockdep = reportOnce ?? new Lockdep(opts.lockdep ?? true);
  /** Executions that added lock dependencies: a later inversion's token needs them. */
  const orderSetters = new Map<number, RecordedExecution>();
  const steps: number[] = [];
  const counters: Record<string, number> = {};
  let maxPreemptions = 0;
  let failures = 0;
  /** The first execution of each kind, in the order found. */
  const found: Pending[] = [];
  const keep = (p: Pending) => {
    if (!found.some((f) => f.kind === p.kind)) found.push(p);
  };
  let executions = 0;

  for (let i = 0; i < budget; i++) {
    if (opts.timeBudgetMs !== undefined && Date.now() - started > opts.timeBudgetMs) break;
    if (!strategy.beginExecution(i)) break;
    lockdep.execution = i;
    const edgesBefore = lockdep.dependencyCount;
    const reportedBefore = reportOnce?.report ?? null;
    const outcome = await runExecution(program, strategy, lockdep, maxSteps, false);
    strategy.endExecution(outcome);
    executions++;
    steps.push(outcome.steps);
    maxPreemptions = Math.max(maxPreemptions, outcome.preemptions);
    for (const [k, v] of Object.entries(outcome.counters)) counters[k] = (counters[k] ?? 0) + v;
    opts.onExecution?.(outcome, i);
    const rec = recorded(strategy.seed, outcome);
    if (lockdep.dependencyCount > edgesBefore) orderSetters.set(i, rec);
    // A report made in this execution: its token replays the earlier executions that set
    // the other order, then this one, with lockdep on — where the report is a failure.
    const reported = reportOnce !== null && reportedBefore === null ? reportOnce.report : null;
    if (reported !== null) {
      failures++;
      const chain = reported.inversion.chain.map((c) => c.execution);
      keep({
        kind: "potential-deadlock",
        index: i,
        outcome,
        token: { lockdep: true, executions: [...prelude(chain, i, orderSetters), rec] },
      });
    }
    if (outcome.failure !== null) {
      if (reported === null) failures++;
      const kind = outcome.failure.kind;
      const runs =
        kind === "potential-deadlock" ? [...prelude(chainOf(outcome.failure), i, orderSetters), rec] : [rec];
      // Found with lockdep already off: replayed the same way, or lockdep would report first.
      const lockdepOn = lockdep.enabled && (reportOnce === null || reportOnce.report === null);
      keep({ kind, index: i, outcome, token: { lockdep: lockdepOn, executions: runs } });
      if (stopOnFailure) break;
    }
    const now = Date.now();
    if (opts.onProgress !== undefined && now - lastProgress >= 1000) {
      lastProgress = now;
      opts.onProgress({ executions, failures, elapsedMs: now - started });
    }
  }

  const report = strategy.describe();
  const violations: FoundViolation[] = [];
  for (const f of found) violations.push(await counterexample(program, f, opts, maxSteps));
  const first = violations[0] ?? null;
  return {
    strategy: report,
    executions,
    failures,
    firstFailureAt: first?.firstFailureAt ?? null,
    failure: first?.failure ?? null,
    replay: first?.replay ?? null,
    shrink: first?.shrink ?? null,
    violations,
    steps: stats(steps),
    maxPreemptions,
    exhausted: report.exhausted === true,
    counters,
    wallMs: Date.now() - started,
  };
}

/** Replay a kept failure, then shrink it: its counterexample. */
async function counterexample(
  program: Program,
  f: Pending,
  opts: ExploreOptions,
  maxSteps: number,
): Promise<FoundViolation> {
  const base = { kind: f.kind, firstFailureAt: f.index + 1 };
  // Replay before anything else: a failure its own decision list does not reproduce means
  // the program consulted something outside the decisions. Report it as found, and say so.
  const again = await runRecorded(program, f.token, { maxSteps, record: true });
  if (again.failure?.kind !== f.kind) {
    const seen = f.outcome.failure?.kind === f.kind ? f.outcome.failure : null;
    const message = seen?.message ?? `${f.kind} reported by lockdep`;
    const failure: Failure = {
      ...(seen ?? { kind: f.kind, step: f.outcome.steps, tick: 0, threads: [] }),
      message:
        `${message} — not reproduced by its replay (${again.failure?.kind ?? "pass"} instead): ` +
        "the program is not deterministic",
      detail: { ...seen?.detail, nondeterministic: true },
    };
    return { ...base, failure, replay: encodeToken(f.token), shrink: null };
  }
  if (!(opts.shrink ?? true))
    return { ...base, failure: again.failure, replay: encodeToken(f.token), shrink: null };
  const s = await shrinkFailure(program, f.token, f.kind, {
    maxSteps,
    attempts: opts.shrinkAttempts ?? 400,
  });
  return {
    ...base,
    failure: s.outcome.failure!,
    replay: encodeToken(s.token),
    shrink: {
      fromSteps: again.steps,
      toSteps: s.outcome.steps,
      fromPreemptions: again.preemptions,
      toPreemptions: s.outcome.preemptions,
      runs: s.runs,
    },
  };
}

function chainOf(failure: Failure): number[] {
  return ((failure.detail?.chain ?? []) as { execution: number }[]).map((s) => s.execution);
}

/** For a lock-order inversion: the earlier executions that recorded the other order. */
function prelude(
  chain: number[],
  index: number,
  setters: Map<number, RecordedExecution>,
): RecordedExecution[] {
  const needed = [...new Set(chain)].filter((e) => e !== index).sort((a, b) => a - b);
  return needed.map((e) => setters.get(e)).filter((r): r is RecordedExecution => r !== undefined);
}

function stats(xs: number[]): StepStats {
  if (xs.length === 0) return { min: 0, median: 0, max: 0 };
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
}
