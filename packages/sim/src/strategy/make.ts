/** Strategies as typed config values, with the defaults printed by `--help` upstream. */
import { type ExhaustiveOrder, ExhaustiveStrategy } from "./exhaustive.ts";
import { PctStrategy } from "./pct.ts";
import { PortfolioStrategy } from "./portfolio.ts";
import { RandomStrategy } from "./random.ts";
import type { Strategy } from "./strategy.ts";

export const STRATEGY_NAMES = ["random", "pct", "exhaustive", "portfolio"] as const;

export type StrategyConfig =
  | { name: "random"; seed: number }
  | { name: "pct"; seed: number; depth: number; expectedSteps?: number; learnSteps?: boolean }
  | { name: "exhaustive"; preemptionBound: number; order?: ExhaustiveOrder }
  | { name: "portfolio"; seed: number; preemptionBound?: number };

export function makeStrategy(c: StrategyConfig): Strategy {
  switch (c.name) {
    case "random":
      return new RandomStrategy(c.seed);
    case "pct":
      return new PctStrategy(c.seed, c.depth, c.expectedSteps, { learn: c.learnSteps ?? true });
    case "exhaustive":
      return new ExhaustiveStrategy(c.preemptionBound, { order: c.order ?? "iterative" });
    case "portfolio":
      return new PortfolioStrategy({
        seed: c.seed,
        ...(c.preemptionBound === undefined ? {} : { preemptionBound: c.preemptionBound }),
      });
  }
}
