/**
 * `mnlab report`: run every registered driver's scenarios at their default budgets and
 * regenerate reports/ (index, driver pages, results.json, plots; bench.md from bench.json
 * when the bench programs have written it). --check renders into memory instead and fails
 * when a committed file differs from the fresh rendering. Exit 1 also when a verdict is not
 * the expected one: the pages are written all the same and mark it.
 */
import { resolve } from "node:path";
import {
  checkReport,
  readBench,
  renderReport,
  summarizeDriver,
  UNEXPECTED,
  writeReport,
} from "@mnlab/report";
import { firstLine, UsageError } from "../errors.ts";
import { repoRoot, userPath } from "../paths.ts";
import { drivers } from "../registry.ts";
import { runWork } from "../runner.ts";
import { workList } from "../work.ts";

export async function reportCommand(o: { out?: string; check: boolean; jobs: number }): Promise<number> {
  const outDir = o.out === undefined ? resolve(repoRoot, "reports") : userPath(o.out);
  const items = await workList({ drivers: [], variants: [], scenarios: [] });
  const results = await runWork(items, { budget: {}, jobs: o.jobs, progress: true });
  let bench: unknown | null;
  try {
    bench = readBench(outDir);
  } catch (e) {
    throw new UsageError(`${outDir}/data/bench.json: ${firstLine(e)}`);
  }
  const files = renderReport({
    drivers: (await drivers()).map((d) => summarizeDriver(d, repoRoot)),
    results,
    bench,
  });
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
    writeReport(outDir, files);
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
