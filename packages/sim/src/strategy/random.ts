/** Uniform random: at every choice, each runnable thread (or value) equally likely. Seeded. */
import { deriveSeed, makeRng, type Rng } from "../rng.ts";
import type { Strategy, StrategyReport } from "./strategy.ts";

export class RandomStrategy implements Strategy {
  readonly name = "random";
  seed = 0;
  private rng: Rng = makeRng(0);

  constructor(private readonly baseSeed: number) {}

  beginExecution(index: number): boolean {
    this.seed = deriveSeed(this.baseSeed, index);
    this.rng = makeRng(this.seed);
    return true;
  }

  pickThread(enabled: readonly number[]): number {
    return enabled[this.rng.int(0, enabled.length - 1)]!;
  }

  pickData(n: number): number {
    return this.rng.int(0, n - 1);
  }

  endExecution(): void {}

  describe(): StrategyReport {
    return { name: this.name, params: { seed: this.baseSeed } };
  }
}
