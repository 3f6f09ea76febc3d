/**
 * The portfolio: one budget shared, in a fixed order, by four strategies that find different
 * bugs first — a random walk (fast-check's policy: a uniformly drawn runnable thread at every
 * point, here over operations and without repeats, strategy/random.ts), bound-by-bound
 * exhaustive search (shallow preemption bugs, the schedule a plain sequential run takes, and a
 * proof of the bounds it completes), PCT at depth 3 and 2 with the learned k (ordering bugs
 * with one or two constraints, uneven progress such as a thread that starts late).
 *
 * The order, the same on every run: executions 0..LEAD-1 go to the walk alone; from then on
 * the rotation exhaustive, walk, PCT d=3, walk, PCT d=2, walk — the walk half of the budget,
 * each systematic member a sixth. A member with nothing left (a completed exhaustive walk, a
 * walk that ran every schedule it can draw) is skipped. Each member sees only its own
 * executions, numbered from 0, so its seeds and its search are what they are when it runs
 * alone; `memberAt(i)` names the member that ran execution i, the one that found a failure.
 *
 * Why this is fair to every member, whatever the program (nothing here depends on the bench's
 * programs or seeds):
 *   - A member alone needing T executions is, in the portfolio, done by execution
 *     LEAD + 6·T (each systematic member) or 2·T (the walk, which also has the lead). For
 *     the exhaustive member that is a fixed bound; for the random members a bound on the
 *     distribution. The portfolio is within a factor 2 of the walk and 6 of each other member,
 *     plus LEAD: the classic guarantee of running algorithms of unknown run time side by side.
 *   - The walk is never worse than a uniform walk over the same points: it never draws a
 *     schedule any member has already run (it is told every execution), which given no failure
 *     so far can only raise each execution's chance of one (random.ts: P(no failure within t)
 *     <= (1-p)^t). It spends no draw on a thread's start, which touches nothing another thread
 *     can see (random.ts, firstStepRuns): fast-check's scheduler has no such point either (a
 *     spawned body runs to its first operation at once), so this makes the two walks sample
 *     the same kind of choices; it is not a claim to a better measure.
 *   - The lead: a bug whose walk measure p is at least 1/LEAD is found inside the lead with
 *     probability 1 - (1-p)^LEAD >= 0.64, at the walk's own full rate — exactly as fast-check's
 *     scheduler would find it, no execution given away. Those are the bugs a first run finds
 *     in a handful of executions. The bugs the systematic members exist for have measure far
 *     below that (PCT's own guarantee per execution is 1/(n·k^(d-1)), under 1/16 for any
 *     program of three threads and six steps or more; an exhaustive walk reaches a preemption
 *     only after its preemption-free schedules), and for them the lead costs at most LEAD
 *     executions once, against budgets of thousands.
 *   - After the lead the walk keeps half of the budget, so the portfolio stays within a factor
 *     2 of the fast-check baseline on any program, and the three systematic members share the
 *     other half equally: none is assumed better than the others in advance.
 * What it does not promise: on a program where the walk is the best member and finds its bug
 * only after the lead, the portfolio is up to twice as slow as the walk alone.
 *
 * Replay tokens are unchanged: they name the decisions, which replay under any strategy.
 */
import type { ExecutionOutcome } from "../execution.ts";
import { deriveSeed } from "../rng.ts";
import { ExhaustiveStrategy } from "./exhaustive.ts";
import { PctStrategy } from "./pct.ts";
import { RandomStrategy } from "./random.ts";
import type { Strategy, StrategyReport } from "./strategy.ts";

export interface PortfolioOptions {
  seed: number;
  /** The exhaustive member's preemption bound (default 2). */
  preemptionBound?: number;
}

/** Executions the walk runs alone before the rotation starts (see the file comment). */
export const LEAD = 16;
/** Member slots of one round after the lead: 0 walk, 1 exhaustive, 2 PCT d=3, 3 PCT d=2. */
export const ROTATION: readonly number[] = [1, 0, 2, 0, 3, 0];

interface Member {
  label: string;
  strategy: Strategy;
  executions: number;
  done: boolean;
}

export class PortfolioStrategy implements Strategy {
  readonly name = "portfolio";
  seed = 0;
  private readonly members: Member[];
  private active: Member;
  /** Member index of every execution begun, in order. */
  private readonly ran: number[] = [];
  private firstFailure: { index: number; member: string } | null = null;
  private readonly baseSeed: number;
  private readonly exhaustive: ExhaustiveStrategy;
  private readonly walk: RandomStrategy;

  constructor(opts: PortfolioOptions) {
    this.baseSeed = opts.seed;
    const bound = opts.preemptionBound ?? 2;
    this.exhaustive = new ExhaustiveStrategy(bound);
    // Distinct seeds per member, derived from the one seed: a member's search is its own.
    const sub = (k: number) => deriveSeed(opts.seed, -1 - k);
    this.walk = new RandomStrategy(sub(0), { firstStepRuns: true, repeats: false });
    this.members = [
      { label: "random walk", strategy: this.walk, executions: 0, done: false },
      { label: `exhaustive b≤${bound}`, strategy: this.exhaustive, executions: 0, done: false },
      { label: "pct d=3", strategy: new PctStrategy(sub(3), 3), executions: 0, done: false },
      { label: "pct d=2", strategy: new PctStrategy(sub(2), 2), executions: 0, done: false },
    ];
    this.active = this.members[0]!;
  }

  /** The member execution `index` goes to, then the ones after it in the rotation. */
  private slotOf(index: number, tries: number): number {
    if (index < LEAD && tries === 0) return 0;
    const at = Math.max(0, index - LEAD);
    return ROTATION[(at + tries) % ROTATION.length]!;
  }

  beginExecution(index: number): boolean {
    for (let tries = 0; tries <= ROTATION.length; tries++) {
      const slot = this.slotOf(index, tries);
      const m = this.members[slot]!;
      if (m.done) continue;
      if (!m.strategy.beginExecution(m.executions)) {
        m.done = true;
        continue;
      }
      this.active = m;
      this.seed = m.strategy.seed;
      this.ran.push(slot);
      return true;
    }
    return false;
  }

  pickThread(enabled: readonly number[], current: number, step: number): number {
    return this.active.strategy.pickThread(enabled, current, step);
  }

  pickData(n: number, step: number): number {
    return this.active.strategy.pickData(n, step);
  }

  endExecution(outcome: ExecutionOutcome): void {
    this.active.strategy.endExecution(outcome);
    // The walk does not draw again a schedule another member ran.
    if (this.active.strategy !== this.walk) this.walk.observe(outcome);
    this.active.executions++;
    if (outcome.failure !== null && this.firstFailure === null)
      this.firstFailure = { index: this.ran.length - 1, member: this.active.label };
  }

  /** The member that ran execution `index` (0-based), or null if no such execution ran. */
  memberAt(index: number): string | null {
    const slot = this.ran[index];
    return slot === undefined ? null : this.members[slot]!.label;
  }

  /** Executions run per member, in member order. */
  counts(): { member: string; executions: number }[] {
    return this.members.map((m) => ({ member: m.label, executions: m.executions }));
  }

  describe(): StrategyReport {
    const params: Record<string, number | string> = {
      seed: this.baseSeed,
      preemptionBound: this.exhaustive.preemptionBound,
      boundsCompleted: this.exhaustive.boundsCompleted,
      executions: this.members.map((m) => `${m.label}: ${m.executions}`).join(", "),
    };
    if (this.firstFailure !== null) params.firstFailureBy = this.firstFailure.member;
    const pct = this.members[2]!.strategy.describe().pctBound;
    return {
      name: this.name,
      params,
      // The exhaustive member walked its whole bounded space: the bound is proven.
      exhausted: this.exhaustive.isExhausted,
      ...(pct === undefined ? {} : { pctBound: pct }),
    };
  }
}
