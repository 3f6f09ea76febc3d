/**
 * `mnlab evaluate <patch.ts>`: judge a migration patch against the merged 5.5 variant. Runs
 * every scenario of the patch's driver on the patch and on the driver's built-in variants
 * (the same exploration for all, the scenarios' own unless overridden) and gives each
 * scenario one outcome: regression, same, fixed or same bug (see evaluate-page.ts). Prints the
 * verdicts side by side, each regression's counterexample with a replay command that works
 * when pasted, and writes a Markdown page for the review. Exit 0 when nothing regressed, 1
 * when something did, 2 on a usage error.
 *
 * `--results merged.json` judges the records of a sharded `test --variant <patch> --json` run
 * (joined with `merge`) instead of running: the CI workflow's deep evaluation.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { DriverModel, DriverPackage, ResultRecord } from "@mnlab/core";
import {
  cpuColumns,
  type EvaluationInput,
  type EvaluationOutcome,
  type EvaluationRow,
  evaluatePage,
  modelLines,
  outcomeSummary,
  RESULTS_SCHEMA,
  relativeSource,
  stableJson,
  table,
} from "@mnlab/report";
import { firstLine, UsageError } from "../errors.ts";
import type { ExplorationFlags } from "../options.ts";
import { repoRoot, userPath } from "../paths.ts";
import { driverNamed } from "../registry.ts";
import { runWork } from "../runner.ts";
import { loadUserVariant } from "../user-variant.ts";
import { budgetOf, workList } from "../work.ts";

export interface EvaluateOptions extends ExplorationFlags {
  jobs: number;
  json: boolean;
  page?: string;
  results?: string;
  /** `--core path.ts`: evaluate a core variant across every driver instead (evaluate-core.ts). */
  core?: string;
  /** With --core: the drivers to run (default: every registered driver). */
  driver?: string[];
  /** With --core: driver patches that use the core variant's new API (judged against `interval` on the merged core). */
  variant?: string[];
}

const AGAINST = "interval";

/** The outcome of one scenario: the patch's verdict against the merged variant's. */
export function outcomeOf(patch: string, against: string): EvaluationOutcome {
  if (patch === "pass") return against === "pass" ? "same" : "fixed";
  return patch === against ? "same bug" : "regression";
}

/** A path as the user can paste it where they stand (npm run keeps that directory in INIT_CWD). */
export function asTyped(p: string): string {
  if (isAbsolute(p)) return p;
  return relative(process.env.INIT_CWD ?? process.cwd(), userPath(p))
    .split(sep)
    .join("/");
}

/** The shell word for a path: quoted only when it needs to be. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function replayCommand(token: string, modulePath: string): string {
  return `npm run mnlab -- replay ${token} --variant ${shellWord(modulePath)}`;
}

function readResults(path: string): ResultRecord[] {
  let doc: { schema?: unknown; results?: unknown; work?: unknown };
  try {
    doc = JSON.parse(readFileSync(userPath(path), "utf8"));
  } catch (e) {
    throw new UsageError(`--results ${path}: ${firstLine(e)}`);
  }
  if (doc?.schema !== RESULTS_SCHEMA || !Array.isArray(doc.results)) {
    throw new UsageError(`--results ${path}: not a results document (schema "${RESULTS_SCHEMA}")`);
  }
  if (doc.work !== undefined) {
    throw new UsageError(`--results ${path}: one shard only; join the shards with mnlab merge first`);
  }
  return doc.results as ResultRecord[];
}

function rowsOf(
  d: DriverPackage,
  patch: DriverModel,
  results: readonly ResultRecord[],
  scenarios: readonly string[],
  modulePath: string,
): EvaluationRow[] {
  const rec = (variant: string, scenario: string) =>
    results.find((r) => r.driver === d.name && r.variant === variant && r.scenario === scenario);
  const rows: EvaluationRow[] = [];
  for (const s of d.scenarios) {
    if (scenarios.length > 0 && !scenarios.includes(s.name)) continue;
    const p = rec(patch.info.id, s.name);
    const a = rec(AGAINST, s.name);
    if (p === undefined || a === undefined) {
      throw new UsageError(
        `no ${p === undefined ? patch.info.id : AGAINST} record for ${d.name} scenario ${s.name} in the results`,
      );
    }
    rows.push({
      scenario: s.name,
      outcome: outcomeOf(p.verdict, a.verdict),
      patch: p,
      against: a,
      replay: p.replay === null ? null : replayCommand(p.replay, modulePath),
    });
  }
  return rows;
}

function textReport(rows: EvaluationRow[], results: ResultRecord[], ids: string[], pagePath: string): string {
  const byKey = new Map(results.map((r) => [`${r.variant}/${r.scenario}`, r]));
  const out = [
    table(
      ["scenario", ...ids, `vs ${AGAINST}`],
      rows.map((row) => [
        row.scenario,
        ...ids.map((id) => byKey.get(`${id}/${row.scenario}`)?.verdict ?? "—"),
        row.outcome,
      ]),
    ),
  ];
  for (const row of rows.filter((r) => r.outcome === "regression")) {
    const r = row.patch;
    out.push(
      "",
      `regression: ${r.scenario}: ${r.verdict} (${AGAINST}: ${row.against.verdict}): ${r.message ?? ""}`,
      "",
      cpuColumns(r.trace ?? []),
      "",
      `  ${row.replay}`,
    );
  }
  for (const row of rows.filter((r) => r.outcome === "same bug")) {
    out.push("", `same bug as ${AGAINST}: ${row.scenario}: ${row.patch.verdict} (not fixed by the patch)`);
    if (row.replay !== null) out.push(`  ${row.replay}`);
  }
  for (const row of rows.filter((r) => r.outcome === "fixed")) {
    out.push("", `fixed: ${row.scenario}: pass (${AGAINST}: ${row.against.verdict})`);
  }
  out.push("", `${rows.length} scenarios: ${outcomeSummary(rows)}; page: ${pagePath}`);
  return `${out.join("\n")}\n`;
}

export async function evaluateCommand(patchPath: string, o: EvaluateOptions): Promise<number> {
  const patch = await loadUserVariant(patchPath, `patch ${patchPath}`);
  const d = await driverNamed(patch.info.driver);
  if (!d.variants.some((v) => v.info.id === AGAINST)) {
    throw new UsageError(`${d.name} has no merged \`${AGAINST}\` variant to judge the patch against`);
  }
  const items = await workList({ drivers: [d.name], variants: [patchPath], scenarios: o.scenario });
  const results =
    o.results === undefined
      ? await runWork(items, { budget: budgetOf(o), jobs: o.jobs, progress: true })
      : readResults(o.results);
  const typed = asTyped(patchPath);
  const rows = rowsOf(d, patch, results, o.scenario, typed);
  const ids = [...d.variants.map((v) => v.info.id), patch.info.id];
  const mine = results.filter((r) => r.driver === d.name && ids.includes(r.variant));

  const fromRoot = relative(repoRoot, userPath(patchPath)).split(sep).join("/");
  const pagePath =
    o.page === undefined
      ? join(dirname(userPath(patchPath)), `${patch.info.id}.evaluation.md`)
      : userPath(o.page);
  const summary = (v: DriverModel) => ({
    id: v.info.id,
    kernel: v.info.kernel,
    files: v.info.files,
    commits: v.info.commits,
    summary: v.info.summary,
    source: relativeSource(v.info.source, repoRoot),
    modelLines: modelLines(v.info.source),
  });
  const args = process.argv.slice(2).map(shellWord).join(" ");
  const input: EvaluationInput = {
    driver: { name: d.name, title: d.title },
    patch: { ...summary(patch), module: fromRoot },
    variants: d.variants.map(summary),
    against: AGAINST,
    rows: rows.map((r) => ({
      ...r,
      // On the page the reviewer stands in the repository root.
      replay: r.patch.replay === null ? null : replayCommand(r.patch.replay, fromRoot),
    })),
    results: mine,
    command: `npm run mnlab -- ${args}`,
  };
  try {
    writeFileSync(pagePath, evaluatePage(input));
  } catch (e) {
    throw new UsageError(`cannot write ${pagePath}: ${firstLine(e)}`);
  }
  const regressed = rows.some((r) => r.outcome === "regression");
  if (o.json) {
    process.stdout.write(
      stableJson({
        schema: "mnlab-evaluate/1",
        driver: d.name,
        patch: {
          id: patch.info.id,
          module: fromRoot,
          source: input.patch.source,
          modelLines: input.patch.modelLines,
        },
        against: AGAINST,
        page: relative(repoRoot, pagePath).split(sep).join("/"),
        regressed,
        scenarios: rows.map((r) => ({
          scenario: r.scenario,
          outcome: r.outcome,
          verdict: r.patch.verdict,
          against: r.against.verdict,
          replay: r.replay,
        })),
        results: mine,
      }),
    );
  } else {
    process.stdout.write(
      textReport(
        rows,
        mine,
        ids,
        relative(process.env.INIT_CWD ?? process.cwd(), pagePath)
          .split(sep)
          .join("/"),
      ),
    );
  }
  return regressed ? 1 : 0;
}
