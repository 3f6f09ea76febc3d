/**
 * Writing the rendered reports/ to disk, and checking a committed one against a fresh
 * rendering (`mnlab report --check`). Files the renderer does not produce — bench.json above
 * all, which the bench programs own — are left alone.
 */
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ReportFiles } from "./render.ts";

export const BENCH_JSON = "data/bench.json";

/**
 * Write the rendered files into outDir, all or nothing: every changed file is first written
 * into a staging folder inside outDir (so the renames below stay on one file system, where a
 * rename is atomic), and only when all of them are there are they renamed into place. An
 * interrupted or failing render leaves the previous files as they were; a staging folder a
 * killed run left behind is removed by the next. Errors are Node's own (`path`, `dest`, `code`).
 */
export function writeReport(outDir: string, files: ReportFiles): void {
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  accessSync(out, constants.W_OK);
  for (const n of readdirSync(out))
    if (n.startsWith(STAGING)) rmSync(join(out, n), { recursive: true, force: true });
  const stage = join(out, `${STAGING}${process.pid}`);
  try {
    const changed: string[] = [];
    for (const [rel, text] of files) {
      const path = join(out, rel);
      if (existsSync(path) && readFileSync(path, "utf8") === text) continue;
      const staged = join(stage, rel);
      mkdirSync(dirname(staged), { recursive: true });
      writeFileSync(staged, text);
      changed.push(rel);
    }
    for (const rel of changed) {
      mkdirSync(dirname(join(out, rel)), { recursive: true });
      renameSync(join(stage, rel), join(out, rel));
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Prefix of the staging folder writeReport keeps inside the report folder while it writes. */
export const STAGING = ".staging-";

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
