/**
 * reports/bench.md from reports/data/bench.json, which the bench programs write (wall clock,
 * machine-dependent, kept apart from the reproducible verdicts). The renderer reads the file
 * by its shape rather than a fixed schema, so the bench programs can grow:
 *   - top-level scalars (and one level of nested scalars, e.g. `machine.cpus`) are the
 *     measurement's circumstances, listed first;
 *   - an object whose values are flat objects (one measurement per implementation) is a table
 *     with a row per value;
 *   - every array of objects, wherever it sits, is a table titled by its path (nested objects
 *     in a row, such as mitata stats, become `stats.p50` columns); an object whose values are
 *     one object per implementation, each holding its rows under the same key, is one table
 *     with the implementation's fields (or its key, as `series`) added to every row;
 *   - a table with a size column (`n`, `N`, `size`, `registrations`, `buffers`, `pages`) taking
 *     two values or more, a p50 column (`p50`, `p50Ns`, `median`, `avg`, `ns`, `ticks`) and a
 *     series column (`impl`, `implementation`, `variant`, `structure`, `series`) is also drawn
 *     as a log-log scaling plot under img/.
 */
import { type LineSeries, logLogChart } from "./line-chart.ts";
import { anchor, page, sig3, table } from "./markdown.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Row = Record<string, string | number | boolean | null>;

const SIZE_KEYS = ["n", "N", "size", "registrations", "buffers", "pages"];
const Y_KEYS = ["p50", "p50Ns", "median", "avg", "ns", "ticks"];
/** Axis labels with units: mitata's statistics are in nanoseconds. */
const Y_LABELS: Record<string, string> = {
  p50: "p50 (ns)",
  p50Ns: "p50 (ns)",
  median: "median (ns)",
  avg: "mean (ns)",
  ns: "ns",
  ticks: "virtual ticks",
};
const SERIES_KEYS = ["impl", "implementation", "variant", "structure", "series"];

/**
 * What each bench program measures (bench/*.ts), keyed by its table's first path element: a
 * figure is read with this next to it. A program not listed gets the generic description.
 */
const DESCRIPTIONS: Record<string, string> = {
  invalidateRatios:
    "The bench programs' own summary of `invalidate`: for each size, the 5.4 implementation's p50 divided by " +
    "the 5.5 one's (`p50Ratio`). Above 1, 5.5 is faster.",
  invalidate:
    "One `invalidate_range_start`/`_end` pair over a one-page range, in an mm holding **n** registered buffers " +
    "(one page each, disjoint): **n is the number of registrations**, and one of them is hit. `interval` is the " +
    "5.5 core (its tree finds the hit in log n); `hmm54` is 5.4's `hmm_mirror` (every start and end walks all n " +
    "ranges); `<driver>:<variant>` registers the n buffers through that driver's model. Times are nanoseconds " +
    "per start/end pair (mitata's p50, p75, p99, mean, min, max over `samples` iterations).",
  populate:
    "One populate of 16 present pages with no contention. `interval` and `hmm54` time the bare sequences (5.5: " +
    "`read_begin`, `hmm_range_fault`, lock, `read_retry`; 5.4: `hmm_range_register`, `wait_until_valid`, " +
    "`hmm_range_fault`, lock, `hmm_range_valid`, unregister); `<driver>:<variant>` is that driver's whole " +
    "fault path through its model, device programming included. Nanoseconds per populate.",
  traffic:
    "Fault latency under invalidation traffic, in **virtual ticks** (deterministic, not wall clock): a fault " +
    "starts at tick 10 while `invalidations` invalidations run in the same mm, 50 ticks apart, each held open 100 " +
    "ticks; `unrelated` ones cover another range, `overlapping` ones the fault's own. 5.4 waits for every " +
    "invalidation in the mm (the global gate), 5.5 only for those that hit its notifier.",
  explorer:
    "The explorer's own cost on one conformance race (populate-vs-munmap), each variant in its own process, next " +
    "to two floors measured in the same process: the bare runtime's step (`timesRuntime`, issue 18's figure, " +
    "target at most 10×: the median of the ratios of seven interleaved rounds, so that load on a shared machine " +
    "falls on both sides alike; `timesRuntimeRounds` lists them) and resolving as many promises one at a time " +
    "as the exploration takes steps (`timesFloor`).",
  catalogued:
    "Executions to the first failure (1-based, unshrunk) for every catalogued bug — each scenario a variant is " +
    "expected to fail — on the current models (bench/catalogued.ts; counts, no wall clock): `reports` under the " +
    "scenario's own strategy as the reports run it (exhaustive search, bpor bound by bound, at `preemptionBound`, " +
    "within the scenario's budget), `random` the uniform random walk (seed 1) and `pct` PCT at depth 3 with the " +
    "step count it learns (seed 1), both within min(budget, 2,000) executions; an empty cell is a miss within " +
    "that cap. `pctBound` is the probability PCT states per execution of finding a depth-3 bug, 1/(n·k²) with " +
    "the threads n and steps k it saw. The random walk is often quickest where it finds a bug at all, and misses the " +
    "ones that need a rare interleaving; the exhaustive search finds every one and, bound by bound, with the " +
    "fewest preemptions any failing schedule has.",
  peer:
    "Executions to the first failure on three small racy programs (bench/peer-programs.ts: the 2015 " +
    "active-range deadlock, hmm 5.4's lazy-valid ABA, a seqcount reader racing two unserialised writers), " +
    "written once against a minimal environment run both on `@mnlab/sim` and on fast-check's scheduler " +
    "(`fc.scheduler()`), with one scheduling point per operation on both sides. Per program and strategy, over " +
    "the seeds (exhaustive search: no seed, one run): median and max executions to the first failure, misses " +
    "within the cap, µs per execution, median wall ms to the failure, and the failing execution's length " +
    "(unshrunk; sim counts its steps, which include each thread's start and main's joins, fast-check its " +
    "scheduled points). `portfolio` is what `mnlab test` runs for a scenario naming no strategy (the random " +
    "walk alone for 16 executions, then exhaustive, walk, PCT d=3, walk, PCT d=2, walk); `random walk` is its " +
    "walk member alone; the `depth-first` and `k fixed 100` rows are the earlier exhaustive walk and PCT, for " +
    "comparison.",
  sim:
    "The simulation runtime's scheduling throughput on a no-op program (3 threads × 50 scheduling points), " +
    "against the same promise floor; `timesFloor` is the ratio (target: within 4×).",
};

/** 5.4 → 5.5 pairs among a table's implementations: `hmm54`/`interval`, `<x>:legacy`/`<x>:interval`. */
function pairs(impls: string[]): [string, string][] {
  const out: [string, string][] = [];
  if (impls.includes("hmm54") && impls.includes("interval")) out.push(["hmm54", "interval"]);
  for (const i of impls) {
    const m = /^(.*):legacy$/.exec(i);
    if (m !== null && impls.includes(`${m[1]}:interval`)) out.push([i, `${m[1]}:interval`]);
  }
  return out;
}

interface RatioRow {
  program: string;
  old: string;
  new: string;
  size: string;
  sizeValue: number | null;
  oldP50: number;
  newP50: number;
}

/** For every table with 5.4/5.5 pairs and a p50: the old over the new, per size. */
function ratios(tables: BenchTable[]): RatioRow[] {
  const out: RatioRow[] = [];
  for (const t of tables) {
    const cols = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
    const s = columnOf(cols, SERIES_KEYS);
    const y = columnOf(cols, ["p50", "p50Ns", "median"]);
    if (s === undefined || y === undefined) continue;
    const x = columnOf(cols, SIZE_KEYS);
    const impls = [...new Set(t.rows.map((r) => String(r[s])))];
    for (const [o, n] of pairs(impls)) {
      for (const a of t.rows.filter((r) => r[s] === o)) {
        const b = t.rows.find((r) => r[s] === n && (x === undefined || r[x] === a[x]));
        if (b === undefined || typeof a[y] !== "number" || typeof b[y] !== "number" || b[y] === 0) continue;
        const sv = x === undefined ? null : a[x];
        out.push({
          program: t.title,
          old: o,
          new: n,
          size: x === undefined || sv === undefined || sv === null ? "—" : `${x} = ${fmt(sv)}`,
          sizeValue: typeof sv === "number" ? sv : null,
          oldP50: a[y] as number,
          newP50: b[y] as number,
        });
      }
    }
  }
  return out;
}

function describe(title: string): string {
  const key = title.split(" › ")[0]!;
  return (
    DESCRIPTIONS[key] ??
    "Figures as the bench program wrote them; mitata's statistics are nanoseconds per iteration."
  );
}

function isScalar(x: Json | undefined): x is string | number | boolean | null {
  return x === null || typeof x !== "object";
}

function isRecord(x: Json | undefined): x is { [k: string]: Json } {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isNumberList(x: Json | undefined): x is number[] {
  return Array.isArray(x) && x.length > 0 && x.every((v) => typeof v === "number");
}

/** A record's scalars, its records' scalars as `key.sub`, and a list of numbers as one cell. */
function flatRow(o: { [k: string]: Json }): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(o)) {
    if (isScalar(v)) row[k] = v;
    else if (isNumberList(v)) row[k] = v.map((n) => sig3(n)).join(", ");
    else if (isRecord(v)) for (const [k2, v2] of Object.entries(v)) if (isScalar(v2)) row[`${k}.${k2}`] = v2;
  }
  return row;
}

/** A single measurement: scalars, lists of numbers, and records of scalars (mitata's stats). */
function isMeasurement(v: Json | undefined): boolean {
  return (
    isRecord(v) &&
    Object.values(v).every(
      (w) => isScalar(w) || isNumberList(w) || (isRecord(w) && Object.values(w).every(isScalar)),
    )
  );
}

interface BenchTable {
  title: string;
  rows: Row[];
}

/** The key under which every value of x holds an array of records, if there is one. */
function commonTableKey(x: { [k: string]: Json }): string | null {
  const vals = Object.values(x);
  if (vals.length < 2 || !vals.every(isRecord)) return null;
  const first = vals[0] as { [k: string]: Json };
  for (const [k, v] of Object.entries(first)) {
    if (!Array.isArray(v) || !v.every(isRecord)) continue;
    if (vals.every((o) => Array.isArray((o as { [k: string]: Json })[k]))) return k;
  }
  return null;
}

function findTables(x: Json, path: string[], out: BenchTable[]): void {
  const title = path.join(" › ") || "results";
  if (Array.isArray(x)) {
    if (x.length > 0 && x.every(isRecord)) out.push({ title, rows: x.map((o) => flatRow(o as never)) });
    return;
  }
  if (!isRecord(x)) return;
  // One object per implementation (a single measurement each; the explorer's carries mitata's
  // stats per benchmark and its rounds' ratios): one row per key.
  const vals = Object.values(x);
  if (vals.length > 0 && vals.every(isMeasurement)) {
    const rows = Object.entries(x).map(([name, v]) => {
      const row = flatRow(v as { [k: string]: Json });
      return Object.values(row).includes(name) ? row : { series: name, ...row };
    });
    out.push({ title, rows });
    return;
  }
  // One object per implementation, each with its own rows: one table, the key as a column.
  const key = commonTableKey(x);
  if (key !== null) {
    const rows: Row[] = [];
    for (const [name, v] of Object.entries(x) as [string, { [k: string]: Json }][]) {
      const scalars: Row = {};
      for (const [k, s] of Object.entries(v)) if (isScalar(s)) scalars[k] = s;
      const series: Row = Object.values(scalars).includes(name) ? {} : { series: name };
      for (const r of v[key] as { [k: string]: Json }[]) rows.push({ ...series, ...scalars, ...flatRow(r) });
    }
    out.push({ title, rows });
    return;
  }
  for (const [k, v] of Object.entries(x)) if (!isScalar(v)) findTables(v, [...path, k], out);
}

function fmt(v: string | number | boolean | null | undefined): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "number") return sig3(v);
  return String(v);
}

function columnOf(cols: string[], keys: string[]): string | undefined {
  for (const k of keys) {
    const hit = cols.find((c) => c === k || c.endsWith(`.${k}`));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function scaling(t: BenchTable, cols: string[]): { x: string; y: string; series: LineSeries[] } | null {
  const x = columnOf(cols, SIZE_KEYS);
  const y = columnOf(cols, Y_KEYS);
  const s = columnOf(cols, SERIES_KEYS);
  if (x === undefined || y === undefined || s === undefined) return null;
  const sizes = new Set(t.rows.map((r) => r[x]).filter((v) => typeof v === "number"));
  if (sizes.size < 2) return null;
  const series: LineSeries[] = [];
  for (const r of t.rows) {
    const [xv, yv, name] = [r[x], r[y], String(r[s])];
    if (typeof xv !== "number" || typeof yv !== "number") continue;
    let line = series.find((l) => l.name === name);
    if (line === undefined) {
      line = { name, points: [] };
      series.push(line);
    }
    line.points.push({ x: xv, y: yv });
  }
  return { x, y, series };
}

/** One row of bench/peer.ts's output, as far as the page reads it. */
interface PeerRow {
  program: string;
  side: string;
  strategy: string;
  seeds: number;
  cap: number;
  medianExecutions: number | null;
  maxExecutions: number | null;
  misses: number;
  usPerExecution: number | null;
  medianMsToFailure: number | null;
  medianCounterexampleLength: number | null;
  foundBy?: string;
  vsFastCheck?: Record<string, number | null>;
}

function isPeerRow(x: Json): boolean {
  return (
    isRecord(x) &&
    typeof x.program === "string" &&
    typeof x.strategy === "string" &&
    typeof x.side === "string"
  );
}

/**
 * The peer comparison (bench/peer.ts) as one table: each figure with its ratio against
 * fast-check's scheduler in the same run, fast-check's own row first in each program.
 */
function peerSection(peer: Json | undefined): string[] {
  if (!isRecord(peer) || !Array.isArray(peer.rows) || !peer.rows.every(isPeerRow)) return [];
  const rows = peer.rows as unknown as PeerRow[];
  if (rows.length === 0) return [];
  const withRatio = (v: number | null, r: number | null | undefined, fc: boolean) =>
    v === null ? "—" : fc || r === null || r === undefined ? fmt(v) : `${fmt(v)} (${sig3(r)}×)`;
  const seeds = rows.find((r) => r.side === "fast-check")?.seeds;
  const cap = rows[0]!.cap;
  return [
    "## Peer: @mnlab/sim against fast-check's scheduler",
    `${DESCRIPTIONS.peer} Over ${fmt(seeds ?? null)} seeds, at most ${fmt(cap)} executions each; in brackets, ` +
      "the figure divided by fast-check's in the same program (below 1×: sim does better). A median is `—` " +
      "when more than half the seeds missed, a max when any did. `found by`: for the portfolio, the member that " +
      "ran each seed's first failing execution.",
    table(
      [
        "program",
        "strategy",
        "median executions",
        "max executions",
        "misses",
        "µs / execution",
        "median ms to failure",
        "counterexample length",
        "found by",
      ],
      rows.map((r) => {
        const fc = r.side === "fast-check";
        const v = r.vsFastCheck ?? {};
        return [
          r.program,
          fc ? `${r.strategy} (fast-check)` : r.strategy,
          withRatio(r.medianExecutions, v.medianExecutions, fc),
          withRatio(r.maxExecutions, v.maxExecutions, fc),
          `${r.misses} / ${fmt(r.seeds)}`,
          withRatio(r.usPerExecution, v.usPerExecution, fc),
          withRatio(r.medianMsToFailure, v.medianMsToFailure, fc),
          withRatio(r.medianCounterexampleLength, v.medianCounterexampleLength, fc),
          r.foundBy ?? "",
        ];
      }),
      ["l", "l", "r", "r", "r", "r", "r", "r", "l"],
    ),
  ];
}

/** The page and the plots it links (paths relative to the report directory). */
export function benchPage(bench: unknown): { markdown: string; plots: Map<string, string> } {
  const plots = new Map<string, string>();
  const doc = bench as Json;
  const blocks = [
    "# Benchmarks",
    "[← index](README.md)",
    "Wall-clock figures from `reports/data/bench.json`, written by the bench programs (`npm run bench`). " +
      "Unlike every other page they depend on the machine (the circumstances follow the comparison). The page leads " +
      "with the comparison — how many times longer 5.4 takes than 5.5 — and then gives each benchmark's own " +
      "figures, with what they measure. mitata's statistics (p50, p75, p99, avg, min, max) are nanoseconds per " +
      "iteration; `samples` is how many iterations mitata timed.",
  ];
  if (!isRecord(doc) && !Array.isArray(doc)) {
    blocks.push("`bench.json` holds no measurements.");
    return { markdown: page(blocks), plots };
  }
  let circumstances: string[] = [];
  if (isRecord(doc)) {
    const meta: string[] = [];
    for (const [k, v] of Object.entries(doc)) {
      if (isScalar(v)) meta.push(`- **${k}**: ${fmt(v)}`);
      else if (isRecord(v) && Object.values(v).every(isScalar))
        for (const [k2, v2] of Object.entries(v)) meta.push(`- **${k}.${k2}**: ${fmt(v2 as never)}`);
    }
    if (meta.length > 0) circumstances = ["## Circumstances", meta.join("\n")];
  }
  const tables: BenchTable[] = [];
  findTables(doc, [], tables);
  if (tables.length === 0) blocks.push("`bench.json` holds no table of measurements yet.");
  const used = new Set<string>();
  const rs = ratios(tables);
  if (rs.length > 0) {
    blocks.push(
      "## Old vs new",
      "Each row compares a 5.4 implementation with its 5.5 counterpart in the same benchmark and at the same " +
        "size: the **ratio is the 5.4 p50 divided by the 5.5 p50** (median wall-clock time per operation). " +
        "Above 1, 5.5 is faster by that factor; below 1, slower. What each benchmark times, and what its size " +
        "is, is said under its own heading below.",
      table(
        ["benchmark", "5.4", "5.5", "size", "5.4 p50 (ns)", "5.5 p50 (ns)", "ratio 5.4 / 5.5"],
        rs.map((r) => [
          r.program,
          r.old,
          r.new,
          r.size,
          fmt(r.oldP50),
          fmt(r.newP50),
          `${sig3(r.oldP50 / r.newP50)}×`,
        ]),
        ["l", "l", "l", "l", "r", "r", "r"],
      ),
    );
    const scaled = rs.filter((r) => r.sizeValue !== null);
    const series: LineSeries[] = [];
    for (const r of scaled) {
      const name = `${r.program}: ${r.old} / ${r.new}`;
      let l = series.find((x) => x.name === name);
      if (l === undefined) {
        l = { name, points: [] };
        series.push(l);
      }
      l.points.push({ x: r.sizeValue!, y: r.oldP50 / r.newP50 });
    }
    if (series.some((l) => l.points.length > 1)) {
      const path = "img/bench-ratio.svg";
      used.add("ratio");
      plots.set(path, logLogChart("5.4 p50 / 5.5 p50 against size", "size (n)", "ratio (×)", series));
      blocks.push(`![the ratio of 5.4 to 5.5 p50 against size](${path})`);
    }
  }
  const peer = isRecord(doc) ? peerSection(doc.peer) : [];
  blocks.push(...peer);
  blocks.push(...circumstances);
  for (const t of tables) {
    // The peer rows have their own section above.
    if (peer.length > 0 && t.title.split(" › ")[0] === "peer") continue;
    const cols: string[] = [];
    for (const r of t.rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
    blocks.push(`## ${t.title}`, describe(t.title));
    const sc = scaling(t, cols);
    if (sc !== null) {
      let slug = anchor(t.title).replace(/[^a-z0-9-]/g, "-") || "bench";
      while (used.has(slug)) slug += "-";
      used.add(slug);
      const path = `img/bench-${slug}.svg`;
      const xLabel = sc.x === "n" && t.title.startsWith("invalidate") ? "n (registrations)" : sc.x;
      plots.set(path, logLogChart(t.title, xLabel, Y_LABELS[sc.y] ?? sc.y, sc.series));
      blocks.push(`![${t.title}](${path})`);
    }
    blocks.push(
      table(
        cols,
        t.rows.map((r) => cols.map((c) => fmt(r[c]))),
        cols.map((c) => (t.rows.some((r) => typeof r[c] === "number") ? "r" : "l")),
      ),
    );
  }
  return { markdown: page(blocks), plots };
}
