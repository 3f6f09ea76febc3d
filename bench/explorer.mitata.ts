/**
 * The explorer's own cost on a standard scenario — the conformance race populate-vs-munmap
 * on one driver, each variant in its own process — next to the bare-runtime floor measured
 * in the same process (as many promises resolved one at a time as the exploration takes
 * steps): how much the kernel model and the oracles add over the scheduler itself.
 *
 *   node --expose-gc --import tsx bench/explorer.mitata.ts --impl legacy [--driver nouveau] [--smoke]
 */
import { type DriverPackage, runScenario } from "@mnlab/core";
import { do_not_optimize } from "mitata";
import { benchmark, collect, die, emit, parseArgs } from "./lib.ts";

const DRIVERS: Record<string, () => Promise<{ driverPackage: DriverPackage }>> = {
  nouveau: () => import("@mnlab/nouveau"),
  "rdma-odp": () => import("@mnlab/rdma-odp"),
};

const argv = process.argv.slice(2);
const args = parseArgs(argv, ["legacy", "interval"], [1]);
const at = argv.indexOf("--driver");
const driverName = at >= 0 ? argv[at + 1] : "nouveau";
const load = driverName === undefined ? undefined : DRIVERS[driverName];
if (load === undefined) die(`--driver must be one of ${Object.keys(DRIVERS).join(", ")}`);
const pkg = (await load()).driverPackage;
const variant = pkg.variants.find((v) => v.info.id === args.impl);
const scenario = pkg.scenarios.find((s) => s.name === "populate-vs-munmap");
if (variant === undefined || scenario === undefined)
  die(`${driverName} has no ${args.impl} variant or populate-vs-munmap`);

const EXECUTIONS = args.smoke ? 2 : 100;
let steps = 0;
let executions = 0;
benchmark("explore", async () => {
  const r = await runScenario(variant, scenario, { strategy: "random", seed: 1, executions: EXECUTIONS });
  steps = r.steps.median * r.executions;
  executions = r.executions;
  do_not_optimize(r);
});
benchmark("floor", async () => {
  for (let i = 0; i < steps; i++) await new Promise<void>((r) => r());
});
const s = await collect(args.smoke);
const explore = s.explore!;
const floor = s.floor!;
emit({
  program: "explorer",
  driver: driverName,
  impl: args.impl,
  scenario: scenario.name,
  executions,
  stepsPerExecution: executions === 0 ? 0 : steps / executions,
  executionsPerSec: (executions / explore.p50) * 1e9,
  stepsPerSec: (steps / explore.p50) * 1e9,
  nsPerStep: explore.p50 / Math.max(1, steps),
  floorNsPerStep: floor.p50 / Math.max(1, steps),
  timesFloor: explore.p50 / Math.max(1, floor.p50),
  explore,
  floor,
});
