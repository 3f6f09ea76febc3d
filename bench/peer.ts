/**
 * The peer comparison: executions to the first failure on three small programs
 * (bench/peer-programs.ts), @mnlab/sim's strategies against fast-check's scheduler, in the
 * same run on the same machine.
 *
 *   node --import tsx bench/peer.ts [--smoke] [--seeds N] [--cap N] [--only program,...]
 *
 * Per program and strategy, over seeds 0..N-1 (N >= 20, default 100; exhaustive search has no
 * seed and runs once): executions to the first failure (median, max, misses within the cap),
 * µs per execution (wall time over all executions run), wall time to the first failure, and
 * the failing execution's length in scheduling points (unshrunk on both sides: fast-check runs
 * with endOnFailure, sim without shrinking); for the portfolio, which member found each
 * failure. Each figure also as a ratio against fast-check's. A miss counts as above every hit:
 * a median with more than half missed is null. 100 seeds rather than 30: the bugs here take a
 * median of 3-14 executions, and over 30 seeds the median of such a geometric-like count moves
 * by one or two from one set of seeds to the next, as much as the differences measured.
 *
 * Prints one JSON line for bench/run.ts. Executions counts are deterministic given the
 * seeds; the µs and ms figures are wall-clock, machine-dependent, and never feed a verdict.
 */
import {
  ExhaustiveStrategy,
  explore,
  PctStrategy,
  PortfolioStrategy,
  type Program,
  RandomStrategy,
  type Strategy,
} from "@mnlab/sim";
import fc from "fast-check";
import { die, emit } from "./lib.ts";
import { PEER_PROGRAMS, type PeerProgram, runOnScheduler, simEnv } from "./peer-programs.ts";

const argv = process.argv.slice(2);
const get = (flag: string) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
const smoke = argv.includes("--smoke");
// A smoke run only shows the program still runs: two seeds, a small cap.
const seeds = Number(get("--seeds") ?? (smoke ? 2 : 100));
const cap = Number(get("--cap") ?? (smoke ? 200 : 5000));
if (!Number.isInteger(seeds) || seeds < (smoke ? 1 : 20))
  die(`--seeds must be an integer >= 20, got ${get("--seeds")}`);
if (!Number.isInteger(cap) || cap < 1) die(`--cap must be a positive integer, got ${get("--cap")}`);
const only = get("--only")?.split(",") ?? null;
for (const n of only ?? []) if (!(n in PEER_PROGRAMS)) die(`--only: no peer program "${n}"`);

interface SimCase {
  name: string;
  seeded: boolean;
  make: (seed: number) => Strategy;
}

const SIM_CASES: SimCase[] = [
  { name: "portfolio", seeded: true, make: (seed) => new PortfolioStrategy({ seed }) },
  { name: "random", seeded: true, make: (seed) => new RandomStrategy(seed) },
  // The portfolio's walk member alone (strategy/random.ts: firstStepRuns, no repeats).
  {
    name: "random walk",
    seeded: true,
    make: (seed) => new RandomStrategy(seed, { firstStepRuns: true, repeats: false }),
  },
  { name: "pct d=2", seeded: true, make: (seed) => new PctStrategy(seed, 2) },
  { name: "pct d=3", seeded: true, make: (seed) => new PctStrategy(seed, 3) },
  {
    name: "pct d=3 (k fixed 100)",
    seeded: true,
    make: (seed) => new PctStrategy(seed, 3, undefined, { learn: false }),
  },
  { name: "exhaustive b=2", seeded: false, make: () => new ExhaustiveStrategy(2) },
  { name: "exhaustive b=3", seeded: false, make: () => new ExhaustiveStrategy(3) },
  {
    name: "exhaustive b=2 (depth-first)",
    seeded: false,
    make: () => new ExhaustiveStrategy(2, { order: "depth-first" }),
  },
  {
    name: "exhaustive b=3 (depth-first)",
    seeded: false,
    make: () => new ExhaustiveStrategy(3, { order: "depth-first" }),
  },
];

interface Trial {
  /** Executions to the first failure, null: none within the cap. */
  at: number | null;
  executions: number;
  wallMs: number;
  /** Wall time to the first failure. */
  failMs: number | null;
  /** Scheduling points of the failing execution. */
  length: number | null;
  kind: string | null;
  /** Exhaustive: the fewest-preemption bound completed when it stopped. */
  preemptions: number | null;
  /** Portfolio: the member that ran the failing execution. */
  foundBy: string | null;
}

async function simTrial(program: PeerProgram, strategy: Strategy): Promise<Trial> {
  const p: Program = (ex) => program(simEnv(ex));
  let last = { steps: 0, preemptions: 0 };
  const t0 = performance.now();
  const r = await explore(p, {
    strategy,
    executions: cap,
    shrink: false,
    onExecution: (o) => {
      last = { steps: o.steps, preemptions: o.preemptions };
    },
  });
  const ms = performance.now() - t0;
  return {
    at: r.firstFailureAt,
    executions: r.executions,
    wallMs: ms,
    failMs: r.firstFailureAt === null ? null : ms,
    length: r.firstFailureAt === null ? null : last.steps,
    kind: r.failure?.kind ?? null,
    preemptions: r.firstFailureAt === null ? null : last.preemptions,
    foundBy:
      strategy instanceof PortfolioStrategy && r.firstFailureAt !== null
        ? strategy.memberAt(r.firstFailureAt - 1)
        : null,
  };
}

async function fcTrial(program: PeerProgram, seed: number): Promise<Trial> {
  let last: { failure: string | null; points: number } = { failure: null, points: 0 };
  const t0 = performance.now();
  const d = await fc.check(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      last = await runOnScheduler(s, program);
      return last.failure === null;
    }),
    { seed, numRuns: cap, endOnFailure: true },
  );
  const ms = performance.now() - t0;
  if (d.failed && last.failure === null)
    throw new Error(`fast-check run failed without a failure: ${d.errorInstance}`);
  return {
    at: d.failed ? d.numRuns : null,
    executions: d.numRuns,
    wallMs: ms,
    failMs: d.failed ? ms : null,
    length: d.failed ? last.points : null,
    kind: last.failure,
    preemptions: null,
    foundBy: null,
  };
}

/** Median with misses above every hit; null when the median is a miss. */
function median(xs: (number | null)[]): number | null {
  const s = xs.map((x) => x ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const m = s[Math.floor((s.length - 1) / 2)]!;
  return Number.isFinite(m) ? m : null;
}

/** "member: count, ..." in descending count, then name. */
function tally(xs: string[]): string {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  return [...n.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const ratio = (a: number | null, b: number | null) =>
  a === null || b === null || b === 0 ? null : r2(a / b);

function summarize(program: string, side: string, strategy: string, trials: Trial[]) {
  const hits = trials.filter((t) => t.at !== null);
  const executions = trials.reduce((n, t) => n + t.executions, 0);
  const wall = trials.reduce((n, t) => n + t.wallMs, 0);
  return {
    program,
    side,
    strategy,
    seeds: trials.length,
    cap,
    medianExecutions: median(trials.map((t) => t.at)),
    maxExecutions: hits.length === trials.length ? Math.max(...hits.map((t) => t.at!)) : null,
    misses: trials.length - hits.length,
    usPerExecution: r2((wall * 1000) / Math.max(1, executions)),
    medianMsToFailure: median(trials.map((t) => (t.failMs === null ? null : r2(t.failMs)))),
    medianCounterexampleLength: median(trials.map((t) => t.length)),
    kinds: [...new Set(hits.map((t) => t.kind))].join(", "),
    // Exhaustive search: the preemptions of the schedule that failed first (bound by bound: the fewest).
    ...(strategy.startsWith("exhaustive") ? { preemptionsAtFirstFailure: hits[0]?.preemptions ?? null } : {}),
    // The portfolio: how many seeds' first failures each member found.
    ...(strategy === "portfolio" ? { foundBy: tally(hits.map((t) => t.foundBy ?? "?")) } : {}),
  };
}

const rows: ReturnType<typeof summarize>[] = [];
for (const [name, { program }] of Object.entries(PEER_PROGRAMS)) {
  if (only !== null && !only.includes(name)) continue;
  process.stderr.write(`peer: ${name}\n`);
  // Warm-up, untimed: one trial of every case first, so that the first case timed is not the
  // one paying for the JIT (the portfolio came first and did).
  await fcTrial(program, seeds);
  for (const c of SIM_CASES) await simTrial(program, c.make(seeds));
  // Seed by seed, every case in turn: a load that comes and goes on the machine falls on all
  // of them alike, not on whichever case happened to run then.
  const fcTrials: Trial[] = [];
  const simTrials: Trial[][] = SIM_CASES.map(() => []);
  for (let seed = 0; seed < seeds; seed++) {
    fcTrials.push(await fcTrial(program, seed));
    for (const [i, c] of SIM_CASES.entries())
      if (c.seeded || seed === 0) simTrials[i]!.push(await simTrial(program, c.make(seed)));
  }
  rows.push(summarize(name, "fast-check", "fc.scheduler()", fcTrials));
  for (const [i, c] of SIM_CASES.entries()) rows.push(summarize(name, "sim", c.name, simTrials[i]!));
}

/** Ratios against fast-check's row of the same program (sim / fast-check; below 1: sim does better). */
const withRatios = rows.map((r) => {
  const base = rows.find((b) => b.program === r.program && b.side === "fast-check")!;
  return {
    ...r,
    vsFastCheck: {
      medianExecutions: ratio(r.medianExecutions, base.medianExecutions),
      maxExecutions: ratio(r.maxExecutions, base.maxExecutions),
      usPerExecution: ratio(r.usPerExecution, base.usPerExecution),
      medianMsToFailure: ratio(r.medianMsToFailure, base.medianMsToFailure),
      medianCounterexampleLength: ratio(r.medianCounterexampleLength, base.medianCounterexampleLength),
    },
  };
});

for (const r of withRatios)
  process.stderr.write(
    `${r.program.padEnd(22)} ${r.strategy.padEnd(30)} median ${String(r.medianExecutions).padStart(5)} ` +
      `max ${String(r.maxExecutions).padStart(5)} misses ${r.misses}/${r.seeds} ` +
      `${r.usPerExecution} µs/exec, ${r.medianMsToFailure} ms to failure, length ${r.medianCounterexampleLength} ` +
      `(x fc: exec ${r.vsFastCheck.medianExecutions}, µs ${r.vsFastCheck.usPerExecution}, ms ${r.vsFastCheck.medianMsToFailure})` +
      `${"foundBy" in r ? ` found by ${r.foundBy}` : ""}\n`,
  );
emit({ program: "peer", smoke, seeds, cap, rows: withRatios });
