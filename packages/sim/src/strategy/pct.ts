/**
 * PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 * ASPLOS 2010). Threads get random distinct priorities d..d+n-1; d-1 change points are drawn
 * uniformly in [1, k]; the runnable thread of highest priority always runs, and when step
 * k_i is reached the running thread drops to priority i. Any bug of depth d is found by one
 * execution with probability at least 1/(n·k^(d-1)), k being at least the run's steps.
 *
 * n and k are not known in advance. k is learned: each execution draws its change points over
 * the steps the executions so far actually took (the most any of them took, a livelock's
 * step bound excepted), so no change point is wasted past the end of a short program. The
 * first execution, before anything is known, runs on priorities alone (no change point)
 * unless `expectedSteps` gives a first estimate. The reported bound is recomputed with the k
 * the last execution used and the most threads seen.
 *
 * `learn: false` keeps the earlier rule, for comparison: k starts at `expectedSteps`
 * (default 100) and only grows.
 */
import type { ExecutionOutcome } from "../execution.ts";
import { deriveSeed, makeRng, type Rng } from "../rng.ts";
import type { Strategy, StrategyReport } from "./strategy.ts";

export interface PctOptions {
  /** Learn k from the executions run (default true). */
  learn?: boolean;
}

export class PctStrategy implements Strategy {
  readonly name = "pct";
  seed = 0;
  private rng: Rng = makeRng(0);
  private priorities = new Map<number, number>();
  private changePoints: number[] = [];
  private nextChange = 0;
  private lastChosen = -1;
  private maxThreads = 1;
  /** Most steps a (non-livelocked) execution took so far; 0 before any ran. */
  private observedSteps = 0;
  /** The k the current (last begun) execution draws its change points over; 0: none drawn. */
  private kUsed = 0;
  private readonly initialSteps: number;
  private readonly learn: boolean;

  constructor(
    private readonly baseSeed: number,
    private readonly depth: number,
    expectedSteps?: number,
    opts: PctOptions = {},
  ) {
    if (!Number.isInteger(depth) || depth < 1)
      throw new Error(`pct: depth must be a positive integer, got ${depth}`);
    this.learn = opts.learn ?? true;
    this.initialSteps = expectedSteps === undefined ? (this.learn ? 0 : 100) : Math.max(1, expectedSteps);
  }

  /** The step count change points are drawn over in the next execution. */
  get k(): number {
    if (!this.learn) return Math.max(this.initialSteps, this.observedSteps);
    return this.observedSteps > 0 ? this.observedSteps : this.initialSteps;
  }

  beginExecution(index: number): boolean {
    this.seed = deriveSeed(this.baseSeed, index);
    this.rng = makeRng(this.seed);
    this.priorities = new Map();
    const points = new Set<number>();
    const k = this.k;
    this.kUsed = k;
    while (points.size < Math.min(this.depth - 1, k)) points.add(this.rng.int(1, k));
    this.changePoints = [...points].sort((a, b) => a - b);
    this.nextChange = 0;
    this.lastChosen = -1;
    return true;
  }

  private priority(id: number): number {
    let p = this.priorities.get(id);
    if (p === undefined) {
      // Distinct values above every change-point priority: a random permutation, drawn lazily.
      do p = this.depth + this.rng.int(0, 1 << 30);
      while ([...this.priorities.values()].includes(p));
      this.priorities.set(id, p);
    }
    return p;
  }

  pickThread(enabled: readonly number[], current: number, step: number): number {
    while (this.nextChange < this.changePoints.length && this.changePoints[this.nextChange]! <= step) {
      const victim = current !== -1 ? current : this.lastChosen;
      if (victim !== -1) this.priorities.set(victim, this.nextChange + 1);
      this.nextChange++;
    }
    let best = enabled[0]!;
    for (const id of enabled) if (this.priority(id) > this.priority(best)) best = id;
    this.lastChosen = best;
    return best;
  }

  pickData(n: number): number {
    return this.rng.int(0, n - 1);
  }

  endExecution(outcome: ExecutionOutcome): void {
    // A livelock ran into the step bound: its length is the bound's, not the program's.
    if (outcome.failure?.kind !== "livelock" || this.observedSteps === 0)
      this.observedSteps = Math.max(this.observedSteps, outcome.steps);
    this.maxThreads = Math.max(this.maxThreads, this.priorities.size);
  }

  describe(): StrategyReport {
    const n = this.maxThreads;
    const k = Math.max(1, this.kUsed);
    const d = this.depth;
    return {
      name: this.name,
      params: { seed: this.baseSeed, depth: d, kRule: this.learn ? "learned" : "fixed", kLearned: this.k },
      pctBound: { n, k, d, probability: 1 / (n * k ** (d - 1)) },
    };
  }
}
