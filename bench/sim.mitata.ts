/**
 * @mnlab/sim scheduling throughput, against the floor any promise-based scheduler pays.
 *
 *   node --expose-gc --import tsx bench/sim.mitata.ts           full run (some ten seconds)
 *   node --expose-gc --import tsx bench/sim.mitata.ts --smoke   each benchmark once, tiny sizes
 *
 * The program is a no-op: 3 threads × 50 scheduling points each (cond_resched), joined by
 * main. One benchmark iteration explores EXECUTIONS executions of it (explore(), shrinking
 * off: nothing fails), under uniform random search and under exhaustive search with
 * preemption bound 2 (capped: the bounded space is far larger). A second program makes the
 * points SharedCell stores (one async call more per step).
 *
 * The floor resolves, one at a time, as many promises as the random exploration takes
 * steps: one hand-over per scheduling point is the least a runtime built on promises does.
 * The ratio is the runtime's time per step over the floor's (p50 of mitata's samples,
 * computed here). Target: within 4×. Wall-clock figures are machine-dependent; nothing
 * here feeds a verdict.
 *
 * Prints a table and the ratio, then one JSON line for bench/run.ts to collect.
 */
import {
  ExhaustiveStrategy,
  explore,
  type Program,
  RandomStrategy,
  SharedCell,
  type Strategy,
} from "@mnlab/sim";
import { bench as mitataBench, run } from "mitata";

const smoke = process.argv.includes("--smoke");
const THREADS = 3;
const POINTS = smoke ? 5 : 50;
const EXECUTIONS = smoke ? 2 : 20;

function noopProgram(points: number, kind: "cond_resched" | "store"): Program {
  return async (ex) => {
    const cell = new SharedCell(ex, "x", 0);
    const body =
      kind === "cond_resched"
        ? async () => {
            for (let i = 0; i < points; i++) await ex.condResched();
          }
        : async () => {
            for (let i = 0; i < points; i++) await cell.store(i);
          };
    const hs = Array.from({ length: THREADS }, (_, i) => ex.spawn(`T${i}`, body));
    for (const h of hs) await h.join();
  };
}

interface Case {
  name: string;
  /** Runs one benchmark iteration; resolves to the steps it took. */
  fn: () => Promise<number>;
  executions: number;
}

async function exploreSteps(program: Program, strategy: Strategy): Promise<number> {
  let steps = 0;
  const r = await explore(program, {
    strategy,
    executions: EXECUTIONS,
    shrink: false,
    onExecution: (o) => {
      steps += o.steps;
    },
  });
  if (r.failure !== null) throw new Error(`benchmark program failed: ${r.failure.message}`);
  if (r.executions !== EXECUTIONS) throw new Error(`ran ${r.executions} executions, not ${EXECUTIONS}`);
  return steps;
}

const resched = noopProgram(POINTS, "cond_resched");
const stores = noopProgram(POINTS, "store");

/** Promises resolved one at a time: `n` hand-overs and nothing else. */
async function promiseFloor(n: number): Promise<number> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => resolve());
  return n;
}

// Steps are deterministic for a fixed seed / bound: measure them once, outside the timing.
const randomSteps = await exploreSteps(resched, new RandomStrategy(1));
const cases: Case[] = [
  {
    name: "random (cond_resched)",
    fn: () => exploreSteps(resched, new RandomStrategy(1)),
    executions: EXECUTIONS,
  },
  {
    name: "exhaustive b=2 (cond_resched)",
    fn: () => exploreSteps(resched, new ExhaustiveStrategy(2)),
    executions: EXECUTIONS,
  },
  {
    name: "random (SharedCell.store)",
    fn: () => exploreSteps(stores, new RandomStrategy(1)),
    executions: EXECUTIONS,
  },
  { name: "floor: promises one at a time", fn: () => promiseFloor(randomSteps), executions: 0 },
];
const steps = new Map<string, number>();
for (const c of cases) steps.set(c.name, await c.fn());

/** p50 of mitata's samples (ns per iteration), computed here rather than read off. */
function p50(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const medians = new Map<string, number>();
if (smoke) {
  // Each benchmark once, timed here: enough to prove the program runs, nothing about speed.
  for (const c of cases) {
    const t0 = performance.now();
    await c.fn();
    medians.set(c.name, (performance.now() - t0) * 1e6);
  }
} else {
  for (const c of cases) mitataBench(c.name, c.fn);
  const { benchmarks } = await run({ format: "quiet" });
  for (const b of benchmarks) {
    const r = b.runs[0];
    if (r?.stats === undefined) throw new Error(`benchmark ${b.alias} failed: ${String(r?.error)}`);
    medians.set(b.alias, p50(r.stats.samples));
  }
}

const floorName = "floor: promises one at a time";
const floorNsPerStep = medians.get(floorName)! / steps.get(floorName)!;
const results = cases.map((c) => {
  const p50Ns = medians.get(c.name)!;
  const n = steps.get(c.name)!;
  const nsPerStep = p50Ns / n;
  return {
    name: c.name,
    p50Ns,
    steps: n,
    executions: c.executions,
    nsPerStep,
    stepsPerSec: 1e9 / nsPerStep,
    executionsPerSec: c.executions === 0 ? null : (c.executions * 1e9) / p50Ns,
    timesFloor: nsPerStep / floorNsPerStep,
  };
});
const rows: string[][] = [
  ["benchmark", "p50/iter", "steps/iter", "ns/step", "steps/s", "executions/s", "× floor"],
];
for (const r of results) {
  rows.push([
    r.name,
    `${(r.p50Ns / 1e6).toFixed(3)} ms`,
    String(r.steps),
    r.nsPerStep.toFixed(1),
    Math.round(r.stepsPerSec).toLocaleString("en-US"),
    r.executionsPerSec === null ? "-" : Math.round(r.executionsPerSec).toLocaleString("en-US"),
    r.timesFloor.toFixed(2),
  ]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows)
  console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));

const ratio = medians.get("random (cond_resched)")! / randomSteps / floorNsPerStep;
console.log(
  `\n${THREADS} threads × ${POINTS} points, ${EXECUTIONS} executions per iteration${smoke ? " (smoke)" : ""}; ` +
    `node ${process.version}`,
);
console.log(`ratio runtime/floor (random, cond_resched, per step): ${ratio.toFixed(2)}× (target ≤ 4×)`);
console.log(
  JSON.stringify({
    program: "sim",
    smoke,
    threads: THREADS,
    points: POINTS,
    executionsPerIteration: EXECUTIONS,
    rows: results,
    ratio,
  }),
);
