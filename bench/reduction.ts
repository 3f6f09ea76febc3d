/**
 * Partial-order reduction at work (issue 18): per scenario, the executions the bounded
 * exhaustive search takes to exhaust its space without reduction and with bounded
 * partial-order reduction (@mnlab/sim strategy/bpor.ts), at the scenario's own bound and
 * budget, whether both exhausted it and gave the same verdict, and the executions per
 * second of each (one run each: the counts are deterministic, the rates are wall clock).
 *
 *   node --import tsx bench/reduction.ts [--smoke] [--driver nouveau]
 *
 * The scenarios are two conformance races every driver runs (populate-vs-munmap and
 * unregister-during-invalidation), on each driver's legacy and interval variants; --smoke
 * runs one. The whole default report's sums are `mnlab test --reduction none|bpor --json`.
 * Prints one JSON line for bench/run.ts to collect.
 */
import { runScenario } from "@mnlab/core";
import { DRIVER_PACKAGES } from "./drivers.ts";
import { die, emit } from "./lib.ts";

const SCENARIOS = ["populate-vs-munmap", "unregister-during-invalidation"];
const VARIANTS = ["legacy", "interval"];

const argv = process.argv.slice(2);
const smoke = argv.includes("--smoke");
const at = argv.indexOf("--driver");
const only = at >= 0 ? argv[at + 1] : undefined;
if (only !== undefined && DRIVER_PACKAGES[only] === undefined)
  die(`--driver must be one of ${Object.keys(DRIVER_PACKAGES).join(", ")}`);
const drivers = smoke ? ["nouveau"] : only !== undefined ? [only] : Object.keys(DRIVER_PACKAGES);

interface Row {
  driver: string;
  variant: string;
  scenario: string;
  preemptionBound: number;
  executionsNone: number;
  executionsBpor: number;
  /** none / bpor: how many times fewer executions the reduction ran. */
  fewer: number;
  exhaustedNone: boolean;
  exhaustedBpor: boolean;
  verdictNone: string;
  verdictBpor: string;
  sameVerdict: boolean;
  executionsPerSecNone: number;
  executionsPerSecBpor: number;
}

const rows: Row[] = [];
for (const d of drivers) {
  const pkg = (await DRIVER_PACKAGES[d]!()).driverPackage;
  for (const name of smoke ? SCENARIOS.slice(0, 1) : SCENARIOS) {
    const scenario = pkg.scenarios.find((s) => s.name === name);
    if (scenario === undefined) continue;
    for (const id of smoke ? VARIANTS.slice(1) : VARIANTS) {
      const variant = pkg.variants.find((v) => v.info.id === id);
      if (variant === undefined) continue;
      const run = async (reduction: "none" | "bpor") => {
        const t0 = performance.now();
        const r = await runScenario(variant, scenario, { strategy: "exhaustive", reduction });
        return { r, ms: performance.now() - t0 };
      };
      const none = await run("none");
      const bpor = await run("bpor");
      const bound = none.r.exploration.strategy === "exhaustive" ? none.r.exploration.preemptionBound : -1;
      rows.push({
        driver: d,
        variant: id,
        scenario: name,
        preemptionBound: bound,
        executionsNone: none.r.executions,
        executionsBpor: bpor.r.executions,
        fewer: Math.round((none.r.executions / Math.max(1, bpor.r.executions)) * 100) / 100,
        exhaustedNone: none.r.exhausted,
        exhaustedBpor: bpor.r.exhausted,
        verdictNone: none.r.verdict,
        verdictBpor: bpor.r.verdict,
        sameVerdict: none.r.verdict === bpor.r.verdict,
        executionsPerSecNone: Math.round(none.r.executions / (none.ms / 1000)),
        executionsPerSecBpor: Math.round(bpor.r.executions / (bpor.ms / 1000)),
      });
      process.stderr.write(
        `reduction: ${d}/${id}/${name}: ${none.r.executions} -> ${bpor.r.executions} executions\n`,
      );
    }
  }
}
const sum = (k: "executionsNone" | "executionsBpor") => rows.reduce((a, r) => a + r[k], 0);
emit({
  program: "reduction",
  smoke,
  rows,
  executionsNone: sum("executionsNone"),
  executionsBpor: sum("executionsBpor"),
  fewer: Math.round((sum("executionsNone") / Math.max(1, sum("executionsBpor"))) * 100) / 100,
  allSameVerdict: rows.every((r) => r.sameVerdict),
});
