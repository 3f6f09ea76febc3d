/**
 * `npm run bench`: run every benchmark program — each implementation in its own process —
 * and write reports/data/bench.json with the machine, the Node version and the date.
 * Wall-clock figures live only here, never in the deterministic results.
 *
 *   node --expose-gc --import tsx bench/run.ts [--smoke] [--out reports/data/bench.json] [--only name,...]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { die } from "./lib.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

interface ProgramSpec {
  name: string;
  file: string;
  impls: string[] | null;
  /** Sizes, each run in a process of its own. */
  sizes?: number[];
}

const PROGRAMS: ProgramSpec[] = [
  {
    name: "invalidate",
    file: "invalidate.mitata.ts",
    impls: ["interval", "hmm54", "rdma-odp:legacy", "rdma-odp:interval"],
    sizes: [1, 10, 100, 1000, 10_000, 100_000],
  },
  {
    name: "populate",
    file: "populate.mitata.ts",
    impls: [
      "interval",
      "hmm54",
      "amdgpu:legacy",
      "amdgpu:interval",
      "nouveau:legacy",
      "nouveau:interval",
      "radeon:legacy",
      "radeon:interval",
      "rdma-odp:legacy",
      "rdma-odp:interval",
      "xen-gntdev:legacy",
      "xen-gntdev:interval",
    ],
  },
  { name: "traffic", file: "traffic.ts", impls: null },
  { name: "explorer", file: "explorer.mitata.ts", impls: ["legacy", "interval"] },
  { name: "sim", file: "sim.mitata.ts", impls: null },
  // Executions to exhaust with and without partial-order reduction, per scenario (issue 18).
  { name: "reduction", file: "reduction.ts", impls: null },
  // @mnlab/sim's strategies against fast-check's scheduler: executions to the first failure.
  { name: "peer", file: "peer.ts", impls: null },
  // Per catalogued bug: executions to the first failure under exhaustive, random and PCT (issue 18).
  { name: "catalogued", file: "catalogued.ts", impls: null },
];

const argv = process.argv.slice(2);
const smoke = argv.includes("--smoke");
const outAt = argv.indexOf("--out");
const out = outAt >= 0 ? argv[outAt + 1] : join(root, "reports", "data", "bench.json");
if (out === undefined) die("--out needs a path");
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? "").split(",") : null;
if (only !== null) {
  for (const n of only) if (!PROGRAMS.some((p) => p.name === n)) die(`--only: no benchmark named "${n}"`);
}

function runOne(file: string, impl: string | null, extra: string[] = []): unknown {
  const args = ["--expose-gc", "--import", "tsx", join(here, file), ...extra];
  if (impl !== null) args.push("--impl", impl);
  if (smoke) args.push("--smoke");
  process.stderr.write(`bench: ${file}${impl === null ? "" : ` --impl ${impl}`}\n`);
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0)
    die(
      `bench: ${file} ${impl ?? ""} failed (exit ${r.status}): ${(r.stderr ?? "").trim().split("\n").pop()}`,
    );
  const lines = r.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"));
  const last = lines[lines.length - 1];
  if (last === undefined) die(`bench: ${file} printed no JSON result line`);
  return JSON.parse(last);
}

const results: Record<string, unknown> = {};
for (const p of PROGRAMS) {
  if (only !== null && !only.includes(p.name)) continue;
  if (!existsSync(join(here, p.file))) {
    process.stderr.write(`bench: ${p.file} not present, skipped\n`);
    continue;
  }
  if (p.sizes !== undefined) {
    // One process per (implementation, size): nothing one size built can slow another.
    const sizes = smoke ? p.sizes.slice(0, 2) : p.sizes;
    results[p.name] = Object.fromEntries(
      (p.impls ?? []).map((i) => {
        const rows = sizes.flatMap(
          (n) => (runOne(p.file, i, ["--sizes", String(n)]) as { rows: unknown[] }).rows,
        );
        return [i, { program: p.name, impl: i, rows }];
      }),
    );
    continue;
  }
  results[p.name] =
    p.impls === null ? runOne(p.file, null) : Object.fromEntries(p.impls.map((i) => [i, runOne(p.file, i)]));
}

/** The 5.5 implementation a legacy one is compared with. */
function counterpart(impl: string): string | null {
  if (impl === "hmm54") return "interval";
  return impl.endsWith(":legacy") ? impl.replace(/:legacy$/, ":interval") : null;
}

/** p50 ratio legacy / 5.5 at each size: the headline figure (mitata's own ratio uses the mean). */
function ratios(inv: Record<string, { rows: { n: number; p50: number }[] }> | undefined) {
  const out: { legacy: string; interval: string; n: number; p50Ratio: number }[] = [];
  for (const [impl, v] of Object.entries(inv ?? {})) {
    const other = counterpart(impl);
    const base = other === null ? undefined : inv?.[other];
    if (base === undefined || other === null) continue;
    const byN = new Map(base.rows.map((r) => [r.n, r.p50]));
    for (const r of v.rows) {
      const b = byN.get(r.n);
      if (b !== undefined)
        out.push({ legacy: impl, interval: other, n: r.n, p50Ratio: Math.round((r.p50 / b) * 100) / 100 });
    }
  }
  return out;
}

const cpus = os.cpus();
const doc = {
  generated: new Date().toISOString(),
  smoke,
  machine: {
    cpus: cpus.length,
    model: cpus[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
  },
  node: process.version,
  invalidateRatios: ratios(results.invalidate as never),
  ...results,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
process.stderr.write(`bench: wrote ${out}\n`);
