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
import { driverPackage as amdgpu } from "@mnlab/amdgpu";
import { type DriverPackage, expectationFor, type Scenario, scenarioProgram } from "@mnlab/core";
import { driverPackage as dmirror } from "@mnlab/dmirror";
import { driverPackage as hfi1 } from "@mnlab/hfi1";
import { driverPackage as nouveau } from "@mnlab/nouveau";
import { driverPackage as radeon } from "@mnlab/radeon";
import { driverPackage as rdmaOdp } from "@mnlab/rdma-odp";
import {
  BporStrategy,
  ExhaustiveStrategy,
  explore,
  PctStrategy,
  PortfolioStrategy,
  RandomStrategy,
  type Strategy,
} from "@mnlab/sim";
import { driverPackage as xenGntdev } from "@mnlab/xen-gntdev";

const PACKAGES: DriverPackage[] = [amdgpu, nouveau, radeon, rdmaOdp, hfi1, xenGntdev, dmirror];
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

function strategies(s: Scenario): Compared {
  const e = s.exploration;
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

for (const pkg of PACKAGES) {
  if (only !== null && !only.includes(pkg.name)) continue;
  for (const scenario of pkg.scenarios) {
    for (const variant of pkg.variants) {
      const exp = expectationFor(scenario, variant.info.id);
      if (exp === undefined || exp.verdict === "pass") continue;
      const e = scenario.exploration;
      const program = scenarioProgram(variant, scenario);
      const run = async (strategy: Strategy) => {
        const r = await explore(program, {
          strategy,
          executions: e.executions,
          shrink: false,
          ...(e.maxSteps === undefined ? {} : { maxSteps: e.maxSteps }),
          ...(e.lockdep === undefined ? {} : { lockdep: e.lockdep }),
        });
        return { at: r.firstFailureAt, kind: r.failure?.kind ?? null };
      };
      const st = strategies(scenario);
      const now = await run(st.now);
      const before = e.strategy === "random" ? now : await run(st.before);
      const portfolio = await run(st.portfolio);
      const icb = st.icb === undefined ? undefined : await run(st.icb);
      const bporSingle = st.bporSingle === undefined ? undefined : await run(st.bporSingle);
      const row = {
        driver: pkg.name,
        variant: variant.info.id,
        scenario: scenario.name,
        expected: exp.verdict,
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
  }
}
