/** Strategies as typed config values, with the defaults printed by `--help` upstream. */
import { ExhaustiveStrategy } from "./exhaustive.ts";
import { PctStrategy } from "./pct.ts";
import { RandomStrategy } from "./random.ts";
import type { Strategy } from "./strategy.ts";

export const STRATEGY_NAMES = ["random", "pct", "exhaustive"] as const;

export type StrategyConfig =
  | { name: "random"; seed: number }
  | { name: "pct"; seed: number; depth: number; expectedSteps?: number }
  | { name: "exhaustive"; preemptionBound: number };

export function makeStrategy(c: StrategyConfig): Strategy {
  switch (c.name) {
    case "random":
      return new RandomStrategy(c.seed);
    case "pct":
      return new PctStrategy(c.seed, c.depth, c.expectedSteps);
    case "exhaustive":
      return new ExhaustiveStrategy(c.preemptionBound);
  }
}
