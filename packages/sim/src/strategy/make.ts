/** Strategies as typed config values, with the defaults printed by `--help` upstream. */
import { BporStrategy } from "./bpor.ts";
import { type ExhaustiveOrder, ExhaustiveStrategy } from "./exhaustive.ts";
import { PctStrategy } from "./pct.ts";
import { PortfolioStrategy } from "./portfolio.ts";
import { RandomStrategy } from "./random.ts";
import type { Strategy } from "./strategy.ts";

export const STRATEGY_NAMES = ["random", "pct", "exhaustive", "portfolio"] as const;

/** Partial-order reduction of the exhaustive search: none (every schedule), or bpor.ts. */
export const REDUCTIONS = ["none", "bpor"] as const;
export type Reduction = (typeof REDUCTIONS)[number];

export type StrategyConfig =
  | { name: "random"; seed: number }
  | { name: "pct"; seed: number; depth: number; expectedSteps?: number; learnSteps?: boolean }
  | { name: "exhaustive"; preemptionBound: number; order?: ExhaustiveOrder; reduction?: Reduction }
  | { name: "portfolio"; seed: number; preemptionBound?: number };

export function makeStrategy(c: StrategyConfig): Strategy {
  switch (c.name) {
    case "random":
      return new RandomStrategy(c.seed);
    case "pct":
      return new PctStrategy(c.seed, c.depth, c.expectedSteps, { learn: c.learnSteps ?? true });
    case "exhaustive":
      if (c.reduction === "bpor")
        return new BporStrategy(c.preemptionBound, { order: c.order ?? "iterative" });
      return new ExhaustiveStrategy(c.preemptionBound, { order: c.order ?? "iterative" });
    case "portfolio":
      return new PortfolioStrategy({
        seed: c.seed,
        ...(c.preemptionBound === undefined ? {} : { preemptionBound: c.preemptionBound }),
      });
  }
}
