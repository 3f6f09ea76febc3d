/**
 * The explorer's own cost on a standard scenario — the conformance race populate-vs-munmap
 * on one driver, each variant in its own process — next to two floors measured in the same
 * process: the bare runtime (bench/sim.mitata.ts's program: three threads of cond_resched
 * points, explored under the same random strategy for about as many steps) and the promise
 * floor (as many promises resolved one at a time as the exploration takes steps). The
 * ratio to the first, `timesRuntime`, is issue 18's figure: what the kernel model, its
 * tracing and the oracles (at every step, the at-rest device check among them) add per step
 * over the scheduler's own step, measured in interleaved rounds (explore, runtime, floor, then
 * again) and taken as the median of the rounds' ratios. Target: at most 10.
 *
 *   node --expose-gc --import tsx bench/explorer.mitata.ts --impl legacy [--driver nouveau] [--smoke]
 */
import { type DriverPackage, runScenario } from "@mnlab/core";
import { explore, type Program, RandomStrategy } from "@mnlab/sim";
import { do_not_optimize } from "mitata";
import { benchmark, collectRounds, die, emit, median, parseArgs } from "./lib.ts";

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
/** bench/sim.mitata.ts's no-op program: 3 threads × 50 cond_resched points, joined by main. */
const BARE_POINTS = 50;
const bare: Program = async (ex) => {
  const hs = Array.from({ length: 3 }, (_, i) =>
    ex.spawn(`T${i}`, async () => {
      for (let j = 0; j < BARE_POINTS; j++) await ex.condResched();
    }),
  );
  for (const h of hs) await h.join();
};
let runtimeSteps = 0;
benchmark("runtime", async () => {
  // As many steps as the scenario's exploration took, give or take one execution.
  let n = 0;
  const r = await explore(bare, {
    strategy: new RandomStrategy(1),
    executions: Math.max(1, Math.round(steps / (3 * BARE_POINTS + 6))),
    shrink: false,
    onExecution: (o) => {
      n += o.steps;
    },
  });
  runtimeSteps = n;
  do_not_optimize(r);
});
benchmark("floor", async () => {
  for (let i = 0; i < steps; i++) await new Promise<void>((r) => r());
});
// Interleaved rounds (lib.ts collectRounds): on a shared machine the load moves between two
// back-to-back measurements, and the ratio is the figure; taken per round, then the median.
const ROUNDS = 7;
const { stats: s, rounds } = await collectRounds(args.smoke, ROUNDS);
const explored = s.explore!;
const runtime = s.runtime!;
const floor = s.floor!;
const nsPerStep = explored.p50 / Math.max(1, steps);
const runtimeNsPerStep = runtime.p50 / Math.max(1, runtimeSteps);
const roundRatios = rounds.map(
  (r) => r.explore! / Math.max(1, steps) / Math.max(1e-9, r.runtime! / Math.max(1, runtimeSteps)),
);
emit({
  program: "explorer",
  driver: driverName,
  impl: args.impl,
  scenario: scenario.name,
  executions,
  stepsPerExecution: executions === 0 ? 0 : steps / executions,
  executionsPerSec: (executions / explored.p50) * 1e9,
  stepsPerSec: (steps / explored.p50) * 1e9,
  nsPerStep,
  runtimeNsPerStep,
  timesRuntime: median(roundRatios),
  timesRuntimeRounds: roundRatios,
  floorNsPerStep: floor.p50 / Math.max(1, steps),
  timesFloor: explored.p50 / Math.max(1, floor.p50),
  explore: explored,
  runtime,
  floor,
});
