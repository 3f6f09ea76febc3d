/**
 * Executions to the first failure per catalogued bug (issue 18): every scenario whose expected
 * verdict for a variant is a violation, across the registered drivers, explored three ways on
 * the current models — exhaustive search as the reports run it (bpor bound by bound at the
 * scenario's own bound), the uniform random walk, and PCT at depth 3 with the step count it
 * learns, next to the probability bound PCT states per execution with the n and k it saw. Each
 * stops at its first failure, unshrunk. Exhaustive search gets the scenario's own budget; random
 * and PCT the same budget capped at CAP (a miss is `null`). A scenario whose own strategy is not
 * exhaustive shows its own strategy (random, PCT or the portfolio) in the exhaustive column's
 * place, named in `strategy`; the column is `reports`.
 *
 *   node --import tsx bench/catalogued.ts [--smoke]
 *
 * Counts only: deterministic, no wall clock. --smoke runs radeon's rows. Prints one JSON line
 * for bench/run.ts to collect.
 */
import { BporStrategy, PctStrategy, PortfolioStrategy, RandomStrategy } from "@mnlab/sim";
import { cataloguedBugs } from "./drivers.ts";
import { emit } from "./lib.ts";

/** Random and PCT executions per bug at most: enough to show which bugs they reach at all. */
const CAP = 2000;
const SEED = 1;
const PCT_DEPTH = 3;

const smoke = process.argv.includes("--smoke");

interface Row {
  driver: string;
  variant: string;
  scenario: string;
  expected: string;
  /** The scenario's own strategy (exhaustive for all but a few random-walk rows). */
  strategy: string;
  preemptionBound: number | null;
  /** Under the scenario's own strategy, as the reports run it. */
  reports: number | null;
  random: number | null;
  pct: number | null;
  /** PCT's stated probability of finding a depth-3 bug per execution, with its n and k. */
  pctBound: string;
}

const rows: Row[] = [];
for await (const bug of cataloguedBugs(smoke ? ["radeon"] : undefined)) {
  const e = bug.exploration;
  const own =
    e.strategy === "exhaustive"
      ? new BporStrategy(e.preemptionBound)
      : e.strategy === "pct"
        ? new PctStrategy(e.seed, e.depth)
        : e.strategy === "random"
          ? new RandomStrategy(e.seed)
          : new PortfolioStrategy({
              seed: e.seed ?? SEED,
              ...(e.preemptionBound === undefined ? {} : { preemptionBound: e.preemptionBound }),
            });
  const first = await bug.firstFailure(own);
  const cap = Math.min(e.executions, CAP);
  const random = await bug.firstFailure(new RandomStrategy(SEED), cap);
  const pct = await bug.firstFailure(new PctStrategy(SEED, PCT_DEPTH), cap);
  const b = pct.strategy.pctBound;
  rows.push({
    driver: bug.driver,
    variant: bug.variant.info.id,
    scenario: bug.scenario.name,
    expected: bug.expected,
    strategy: e.strategy ?? "portfolio",
    preemptionBound: e.strategy === "exhaustive" ? e.preemptionBound : null,
    reports: first.firstFailureAt,
    random: random.firstFailureAt,
    pct: pct.firstFailureAt,
    pctBound: b === undefined ? "—" : `1/${Math.round(1 / b.probability)} (n ${b.n}, k ${b.k})`,
  });
  process.stderr.write(
    `catalogued: ${bug.driver}/${bug.variant.info.id}/${bug.scenario.name}: ${first.firstFailureAt} ${random.firstFailureAt} ${pct.firstFailureAt}\n`,
  );
}
const found = (k: "reports" | "random" | "pct") => rows.filter((r) => r[k] !== null).length;
const sum = (k: "reports" | "random" | "pct") => rows.reduce((a, r) => a + (r[k] ?? 0), 0);
emit({
  program: "catalogued",
  smoke,
  cap: CAP,
  pctDepth: PCT_DEPTH,
  bugs: rows.length,
  found: { reports: found("reports"), random: found("random"), pct: found("pct") },
  summedWhereFound: { reports: sum("reports"), random: sum("random"), pct: sum("pct") },
  rows,
});
