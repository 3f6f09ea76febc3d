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

function isScalar(x: Json | undefined): x is string | number | boolean | null {
  return x === null || typeof x !== "object";
}

function isRecord(x: Json | undefined): x is { [k: string]: Json } {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function flatRow(o: { [k: string]: Json }): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(o)) {
    if (isScalar(v)) row[k] = v;
    else if (isRecord(v)) for (const [k2, v2] of Object.entries(v)) if (isScalar(v2)) row[`${k}.${k2}`] = v2;
  }
  return row;
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
  // One flat object per implementation (a single measurement each): one row per key.
  const vals = Object.values(x);
  if (vals.length > 0 && vals.every((v) => isRecord(v) && Object.values(v).every(isScalar))) {
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

/** The page and the plots it links (paths relative to the report directory). */
export function benchPage(bench: unknown): { markdown: string; plots: Map<string, string> } {
  const plots = new Map<string, string>();
  const doc = bench as Json;
  const blocks = [
    "# Benchmarks",
    "[← index](README.md)",
    "Wall-clock figures from `reports/data/bench.json`, written by the bench programs (`npm run bench`). " +
      "Unlike every other page they depend on the machine; the circumstances are listed first. " +
      "mitata's statistics (p50, p75, p99, avg, min, max) are nanoseconds per iteration.",
  ];
  if (!isRecord(doc) && !Array.isArray(doc)) {
    blocks.push("`bench.json` holds no measurements.");
    return { markdown: page(blocks), plots };
  }
  if (isRecord(doc)) {
    const meta: string[] = [];
    for (const [k, v] of Object.entries(doc)) {
      if (isScalar(v)) meta.push(`- **${k}**: ${fmt(v)}`);
      else if (isRecord(v) && Object.values(v).every(isScalar))
        for (const [k2, v2] of Object.entries(v)) meta.push(`- **${k}.${k2}**: ${fmt(v2 as never)}`);
    }
    if (meta.length > 0) blocks.push(meta.join("\n"));
  }
  const tables: BenchTable[] = [];
  findTables(doc, [], tables);
  if (tables.length === 0) blocks.push("`bench.json` holds no table of measurements yet.");
  const used = new Set<string>();
  for (const t of tables) {
    const cols: string[] = [];
    for (const r of t.rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
    blocks.push(`## ${t.title}`);
    const sc = scaling(t, cols);
    if (sc !== null) {
      let slug = anchor(t.title).replace(/[^a-z0-9-]/g, "-") || "bench";
      while (used.has(slug)) slug += "-";
      used.add(slug);
      const path = `img/bench-${slug}.svg`;
      plots.set(path, logLogChart(t.title, sc.x, Y_LABELS[sc.y] ?? sc.y, sc.series));
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
