/**
 * Replay a decision list. Past its end, or where a recorded thread is not runnable (a
 * shrinking candidate), it falls back to the non-preemptive choice, so every list — even
 * an edited one — denotes exactly one execution.
 */
import type { Strategy, StrategyReport } from "./strategy.ts";
import { nonPreemptive } from "./strategy.ts";

export class ReplayStrategy implements Strategy {
  readonly name = "replay";
  private next = 0;
  /** Decisions that could not be followed as recorded. */
  divergences = 0;

  constructor(
    readonly seed: number,
    private readonly decisions: readonly number[],
  ) {}

  beginExecution(index: number): boolean {
    this.next = 0;
    this.divergences = 0;
    return index === 0;
  }

  pickThread(enabled: readonly number[], current: number): number {
    const d = this.decisions[this.next++];
    if (d !== undefined && enabled.includes(d)) return d;
    if (d !== undefined) this.divergences++;
    return nonPreemptive(enabled, current);
  }

  pickData(n: number): number {
    const d = this.decisions[this.next++];
    if (d !== undefined && d < n) return d;
    if (d !== undefined) this.divergences++;
    return 0;
  }

  endExecution(): void {}

  describe(): StrategyReport {
    return { name: this.name, params: { seed: this.seed, decisions: this.decisions.length } };
  }
}
