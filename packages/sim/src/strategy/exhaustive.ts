/**
 * Bounded exhaustive search: a depth-first walk over decision lists with a preemption bound
 * (iterative context bounding, Musuvathi and Qadeer, PLDI 2007 — the CHESS search).
 *
 * Each execution replays the prefix of the previous one up to the deepest choice that still
 * has an untried alternative within the bound, takes that alternative, and continues with
 * non-preemptive defaults. Switching away from a thread that could go on is a preemption;
 * choosing among threads after the running one blocked or ended is free. Data choices are
 * walked completely. When the walk returns to the root the bounded space is exhausted, and
 * each distinct schedule in it was run exactly once (the program must be deterministic given
 * its decisions; a divergence is reported as an error).
 *
 * No partial-order reduction is applied: the models keep scheduling points few instead.
 */
import type { ExecutionOutcome } from "../execution.ts";
import type { Strategy, StrategyReport } from "./strategy.ts";

interface Frame {
  kind: "thread" | "data";
  options: readonly number[];
  /** Alternatives in the order tried: the non-preemptive default first. */
  order: number[];
  pos: number;
  current: number;
  preemptionsBefore: number;
}

export class ExhaustiveStrategy implements Strategy {
  readonly name = "exhaustive";
  readonly seed = 0;
  private frames: Frame[] = [];
  private depth = 0;
  private preemptions = 0;
  private exhausted = false;

  constructor(readonly preemptionBound: number) {
    if (!Number.isInteger(preemptionBound) || preemptionBound < 0) {
      throw new Error(`exhaustive: preemption bound must be a non-negative integer, got ${preemptionBound}`);
    }
  }

  get isExhausted(): boolean {
    return this.exhausted;
  }

  beginExecution(index: number): boolean {
    if (index > 0 && !this.backtrack()) {
      this.exhausted = true;
      return false;
    }
    this.depth = 0;
    this.preemptions = 0;
    return true;
  }

  private backtrack(): boolean {
    while (this.frames.length > 0) {
      const f = this.frames[this.frames.length - 1]!;
      for (let pos = f.pos + 1; pos < f.order.length; pos++) {
        const cost = f.preemptionsBefore + (isPreemption(f, f.order[pos]!) ? 1 : 0);
        if (cost <= this.preemptionBound) {
          f.pos = pos;
          return true;
        }
      }
      this.frames.pop();
    }
    return false;
  }

  private choose(kind: "thread" | "data", options: readonly number[], current: number): number {
    const i = this.depth++;
    let f = this.frames[i];
    if (f !== undefined) {
      if (f.kind !== kind || !sameOptions(f.options, options) || f.current !== current) {
        throw new Error(
          `exhaustive: the program is not deterministic — decision ${i} offered ${kind} [${options.join(",")}] ` +
            `(current ${current}) where an earlier execution saw ${f.kind} [${f.options.join(",")}] (current ${f.current})`,
        );
      }
    } else {
      const first = kind === "thread" && current !== -1 && options.includes(current) ? current : options[0]!;
      f = {
        kind,
        options,
        order: [first, ...options.filter((o) => o !== first)],
        pos: 0,
        current,
        preemptionsBefore: this.preemptions,
      };
      this.frames.push(f);
    }
    const chosen = f.order[f.pos]!;
    if (isPreemption(f, chosen)) this.preemptions++;
    return chosen;
  }

  pickThread(enabled: readonly number[], current: number): number {
    return this.choose("thread", enabled, current);
  }

  pickData(n: number): number {
    return this.choose(
      "data",
      Array.from({ length: n }, (_, i) => i),
      -1,
    );
  }

  endExecution(_outcome: ExecutionOutcome): void {
    // An execution that ended early (a failure) made fewer decisions than the prefix held.
    this.frames.length = Math.min(this.frames.length, this.depth);
  }

  describe(): StrategyReport {
    return { name: this.name, params: { preemptionBound: this.preemptionBound }, exhausted: this.exhausted };
  }
}

function isPreemption(f: Frame, chosen: number): boolean {
  return f.kind === "thread" && f.current !== -1 && chosen !== f.current && f.options.includes(f.current);
}

function sameOptions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
