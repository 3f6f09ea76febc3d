/**
 * The portfolio: one budget shared, in a fixed rotation, by strategies that find different
 * bugs first — bound-by-bound exhaustive search (shallow preemption bugs, and a proof of the
 * bounds it completes), PCT at depth 2 and 3 (ordering bugs with one or two constraints,
 * uneven progress such as a thread that starts late), and uniform random. The rotation is
 * deterministic: execution i goes to the member at ROTATION[i mod 9] (below), skipping a
 * member that has nothing left (a completed exhaustive walk).
 * Each member sees only its own executions, numbered from 0, so its seeds and its search
 * are the same as when it runs alone. Every execution is counted against its member, and
 * `memberAt(i)` names the member that ran execution i — the one that found a failure there.
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

/**
 * Member slots (0 exhaustive, 1 PCT d=2, 2 random, 3 PCT d=3) of one round. Random takes two
 * executions in three: on the peer bench's three programs (bench/peer.ts, 30 seeds) uniform
 * random finds the bugs in the fewest executions of any single member, and a rotation of
 * equal shares (exhaustive, PCT d=2, random, PCT d=3) took 2.6-3.7x fast-check's median;
 * two random in three brought that to 1.1-1.3x. The systematic members still get a third of
 * the budget: the exhaustive walk proves bounds and PCT finds the uneven-progress bugs random
 * rarely reaches.
 */
const ROTATION = [2, 2, 0, 2, 2, 3, 2, 2, 1] as const;

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

  constructor(opts: PortfolioOptions) {
    this.baseSeed = opts.seed;
    const bound = opts.preemptionBound ?? 2;
    this.exhaustive = new ExhaustiveStrategy(bound);
    // Distinct seeds per member, derived from the one seed: a member's search is its own.
    const sub = (k: number) => deriveSeed(opts.seed, -1 - k);
    this.members = [
      { label: `exhaustive b≤${bound}`, strategy: this.exhaustive, executions: 0, done: false },
      { label: "pct d=2", strategy: new PctStrategy(sub(2), 2), executions: 0, done: false },
      { label: "random", strategy: new RandomStrategy(sub(0)), executions: 0, done: false },
      { label: "pct d=3", strategy: new PctStrategy(sub(3), 3), executions: 0, done: false },
    ];
    this.active = this.members[0]!;
  }

  beginExecution(index: number): boolean {
    for (let tries = 0; tries < ROTATION.length; tries++) {
      const slot = ROTATION[(index + tries) % ROTATION.length]!;
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
    this.active.executions++;
    if (outcome.failure !== null && this.firstFailure === null)
      this.firstFailure = { index: this.ran.length - 1, member: this.active.label };
  }

  /** The member that ran execution `index` (0-based), or null if no such execution ran. */
  memberAt(index: number): string | null {
    const slot = this.ran[index];
    return slot === undefined ? null : this.members[slot]!.label;
  }

  /** Executions run per member, in rotation order. */
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
    const pct = this.members[1]!.strategy.describe().pctBound;
    return {
      name: this.name,
      params,
      // The exhaustive member walked its whole bounded space: the bound is proven.
      exhausted: this.exhaustive.isExhausted,
      ...(pct === undefined ? {} : { pctBound: pct }),
    };
  }
}
