/**
 * `mnlab report`: run every registered driver's scenarios at their default budgets and
 * regenerate reports/ (index, driver pages, results.json, plots, the trace viewer; bench.md
 * from bench.json when the bench programs have written it). --check renders into memory
 * instead and fails when a committed file differs from the fresh rendering. Exit 1 also when
 * a verdict is not the expected one: the pages are written all the same and mark it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ResultRecord } from "@mnlab/core";
import {
  type CorePatchEvaluation,
  checkReport,
  type DocsIndex,
  docsAnchors,
  type MutationDocument,
  RESULTS_SCHEMA,
  raceSlice,
  readBench,
  renderReport,
  summarizeDriver,
  UNEXPECTED,
  viewerFragment,
  writeReport,
} from "@mnlab/report";
import { viewerFiles } from "@mnlab/viewer";
import { EXIT, firstLine, UsageError, writeFailure } from "../errors.ts";
import { repoRoot, userPath } from "../paths.ts";
import { drivers } from "../registry.ts";
import { RunStopped, runWork } from "../runner.ts";
import { keyOf, type WorkItem, workKey, workList } from "../work.ts";
import { sameSchedules } from "./same-schedule.ts";

/** docs/*.md and the anchors each defines: references link only where they resolve. */
export function readDocs(root: string): DocsIndex {
  const dir = join(root, "docs");
  const out: DocsIndex = {};
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith(".md")) out[`docs/${f}`] = docsAnchors(readFileSync(join(dir, f), "utf8"));
  }
  return out;
}

/** reports/data/mutation.json, written by `mnlab mutate`, or null when it is not there. */
export function readMutation(outDir: string): MutationDocument | null {
  const path = join(outDir, "data", "mutation.json");
  if (!existsSync(path)) return null;
  let doc: Partial<MutationDocument>;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`${path}: ${firstLine(e)}`);
  }
  if (doc.schema !== "mnlab-mutation/1" || !Array.isArray(doc.drivers)) {
    throw new UsageError(`${path}: not an mnlab-mutation/1 document`);
  }
  return doc as MutationDocument;
}

/**
 * reports/data/core-patches/*.json, written by `mnlab evaluate --core --json`: the committed
 * core-patch evaluations the findings page links as candidate fixes. Read, never written, by
 * report (the evaluation is its own run; --check leaves those files alone).
 */
export function readCorePatches(outDir: string): CorePatchEvaluation[] {
  const dir = join(outDir, "data", "core-patches");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      let doc: Partial<CorePatchEvaluation> & { schema?: unknown };
      try {
        doc = JSON.parse(readFileSync(path, "utf8"));
      } catch (e) {
        throw new UsageError(`${path}: ${firstLine(e)}`);
      }
      if (doc.schema !== "mnlab-core-evaluate/1" || !Array.isArray(doc.runs) || doc.core === undefined) {
        throw new UsageError(`${path}: not an mnlab-core-evaluate/1 document`);
      }
      return doc as CorePatchEvaluation;
    });
}

/**
 * `--results file.json`: the records of an earlier run (a results document, e.g. the committed
 * reports/data/results.json) instead of a fresh one. They must be the rows the registered
 * drivers have, in the work list's order: a document from another tree is refused, not
 * rendered half-right.
 */
export function readResults(path: string, items: readonly WorkItem[]): ResultRecord[] {
  let doc: { schema?: unknown; results?: ResultRecord[] };
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`${path}: ${firstLine(e)}`);
  }
  if (doc.schema !== RESULTS_SCHEMA || !Array.isArray(doc.results)) {
    throw new UsageError(`${path}: not an ${RESULTS_SCHEMA} document`);
  }
  const rows = doc.results;
  const at = items.findIndex(
    (w, i) =>
      rows[i] === undefined || keyOf(w) !== workKey(rows[i]!.driver, rows[i]!.variant, rows[i]!.scenario),
  );
  if (at >= 0 || rows.length !== items.length) {
    const want = at >= 0 ? keyOf(items[at]!) : `${items.length} rows`;
    const got =
      at >= 0
        ? rows[at] === undefined
          ? "nothing"
          : workKey(rows[at]!.driver, rows[at]!.variant, rows[at]!.scenario)
        : `${rows.length}`;
    throw new UsageError(
      `${path}: not the registered drivers' scenarios (expected ${want}, found ${got}): run mnlab report`,
    );
  }
  return rows;
}

export async function reportCommand(o: {
  out?: string;
  check: boolean;
  results?: string;
  jobs: number;
  resume: boolean;
}): Promise<number> {
  const outDir = o.out === undefined ? resolve(repoRoot, "reports") : userPath(o.out);
  const items = await workList({ drivers: [], variants: [], scenarios: [] });
  let results: ResultRecord[];
  if (o.results !== undefined) {
    results = readResults(userPath(o.results), items);
  } else {
    try {
      results = await runWork(items, { budget: {}, jobs: o.jobs, progress: true, resume: o.resume });
    } catch (e) {
      // Half a report is no report: nothing is written, reports/ stays as it was.
      if (!(e instanceof RunStopped)) throw e;
      process.stderr.write(`mnlab: ${e.message}; ${outDir} is unchanged\n`);
      return e.status;
    }
  }
  let bench: unknown | null;
  try {
    bench = readBench(outDir);
  } catch (e) {
    throw new UsageError(`${outDir}/data/bench.json: ${firstLine(e)}`);
  }
  const packages = await drivers();
  const sameSchedule = await sameSchedules(packages, results);
  const files = renderReport({
    drivers: packages.map((d) => summarizeDriver(d, repoRoot)),
    results,
    bench,
    sameSchedule,
    mutation: readMutation(outDir),
    docs: readDocs(repoRoot),
    corePatches: readCorePatches(outDir),
  });
  // The trace viewer (reports/viewer/): report's race slice and link fragment handed to it.
  for (const [path, text] of viewerFiles({ results, sameSchedule }, { raceSlice, viewerFragment }))
    files.set(path, text);
  const unexpected = results.filter((r) => !r.asExpected);
  if (o.check) {
    const diffs = checkReport(outDir, files);
    for (const d of diffs) process.stdout.write(`${d.path}: ${d.problem}\n`);
    if (diffs.length > 0) {
      process.stdout.write(
        `${diffs.length} of ${files.size} files differ from a fresh run: run mnlab report\n`,
      );
      return 1;
    }
    process.stdout.write(`${files.size} files match a fresh run\n`);
  } else {
    // The renames that put the files in place take a moment; a Ctrl-C then waits for them.
    let interrupted = false;
    const hold = () => {
      interrupted = true;
    };
    process.on("SIGINT", hold);
    try {
      writeReport(outDir, files);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { dest?: string };
      throw writeFailure(err.dest ?? err.path ?? outDir, e);
    } finally {
      process.off("SIGINT", hold);
    }
    if (interrupted) return EXIT.interrupted;
    process.stdout.write(`wrote ${files.size} files under ${outDir}\n`);
  }
  if (unexpected.length > 0) {
    process.stderr.write(`${unexpected.length} ${UNEXPECTED} verdicts not as expected:\n`);
    for (const r of unexpected) {
      process.stderr.write(
        `  ${r.driver}/${r.variant} ${r.scenario}: ${r.verdict}, expected ${r.expected}\n`,
      );
    }
    return 1;
  }
  return 0;
}
