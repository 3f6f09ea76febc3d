/**
 * Like-for-like check for issue 21: every catalogued bug (a scenario whose expected verdict
 * for a variant is a violation, across the registered drivers) explored on the current
 * models with today's strategy and with the earlier ones, under the scenario's own budget:
 * exhaustive search as the reports run it (`now`: bpor bound by bound) against the unreduced
 * depth-first walk the issue measured (`before`), the unreduced walk bound by bound (`icb`)
 * and bpor's single depth-first walk (`bporSingle`); PCT with the learned k against k fixed
 * at 100 (random is unchanged); and the portfolio for reference. Prints, per row, the
 * 1-based execution of the first failure each found (null: none within the budget).
 *
 *   node --import tsx bench/first-failure-compare.ts [--only driver,...] > compare.json
 *
 * Stops each exploration at its first failure, unshrunk: the index is the one a full run
 * reports as firstFailureAt (lockdep's first report falls in the same execution either way).
 * Deterministic: no wall clock in the figures.
 */
import type { ExplorationSpec } from "@mnlab/core";
import {
  BporStrategy,
  ExhaustiveStrategy,
  PctStrategy,
  PortfolioStrategy,
  RandomStrategy,
  type Strategy,
} from "@mnlab/sim";
import { cataloguedBugs } from "./drivers.ts";

const argv = process.argv.slice(2);
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? "").split(",") : null;

interface Compared {
  now: Strategy;
  before: Strategy;
  portfolio: Strategy;
  icb?: Strategy;
  bporSingle?: Strategy;
}

function strategies(e: ExplorationSpec): Compared {
  const seed = "seed" in e && typeof e.seed === "number" ? e.seed : 1;
  const portfolio = new PortfolioStrategy({
    seed,
    ...(e.strategy === "exhaustive" ? { preemptionBound: e.preemptionBound } : {}),
  });
  if (e.strategy === "exhaustive")
    return {
      now:
        e.reduction === "none"
          ? new ExhaustiveStrategy(e.preemptionBound)
          : new BporStrategy(e.preemptionBound),
      before: new ExhaustiveStrategy(e.preemptionBound, { order: "depth-first" }),
      icb: new ExhaustiveStrategy(e.preemptionBound),
      bporSingle: new BporStrategy(e.preemptionBound, { order: "depth-first" }),
      portfolio,
    };
  if (e.strategy === "pct")
    return {
      now: new PctStrategy(e.seed, e.depth),
      before: new PctStrategy(e.seed, e.depth, undefined, { learn: false }),
      portfolio,
    };
  return { now: new RandomStrategy(seed), before: new RandomStrategy(seed), portfolio };
}

for await (const bug of cataloguedBugs(only ?? undefined)) {
  const e = bug.exploration;
  const run = async (strategy: Strategy) => {
    const r = await bug.firstFailure(strategy);
    return { at: r.firstFailureAt, kind: r.failure?.kind ?? null };
  };
  const st = strategies(e);
  const now = await run(st.now);
  const before = e.strategy === "random" ? now : await run(st.before);
  const portfolio = await run(st.portfolio);
  const icb = st.icb === undefined ? undefined : await run(st.icb);
  const bporSingle = st.bporSingle === undefined ? undefined : await run(st.bporSingle);
  const row = {
    driver: bug.driver,
    variant: bug.variant.info.id,
    scenario: bug.scenario.name,
    expected: bug.expected,
    strategy: e.strategy,
    budget: e.executions,
    before,
    now,
    portfolio,
    ...(icb === undefined ? {} : { icb }),
    ...(bporSingle === undefined ? {} : { bporSingle }),
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
