/**
 * Writing the rendered reports/ to disk, and checking a committed one against a fresh
 * rendering (`mnlab report --check`). Files the renderer does not produce — bench.json above
 * all, which the bench programs own — are left alone.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ReportFiles } from "./render.ts";

export const BENCH_JSON = "data/bench.json";

export function writeReport(outDir: string, files: ReportFiles): void {
  for (const [rel, text] of files) {
    const path = join(outDir, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path) && readFileSync(path, "utf8") === text) continue;
    writeFileSync(path, text);
  }
}

/** Files that differ from (or are missing in) outDir, in order. */
export function checkReport(outDir: string, files: ReportFiles): { path: string; problem: string }[] {
  const out: { path: string; problem: string }[] = [];
  for (const [rel, text] of files) {
    const path = join(outDir, rel);
    if (!existsSync(path)) {
      out.push({ path: rel, problem: "missing" });
      continue;
    }
    const have = readFileSync(path, "utf8");
    if (have === text) continue;
    const a = have.split("\n");
    const b = text.split("\n");
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    out.push({ path: rel, problem: `differs from line ${i + 1}` });
  }
  return out;
}

/** reports/data/bench.json parsed, or null when the bench programs have not written it. */
export function readBench(outDir: string): unknown | null {
  const path = join(outDir, BENCH_JSON);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, "utf8"));
}
