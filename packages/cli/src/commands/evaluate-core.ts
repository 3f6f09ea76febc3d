/**
 * `mnlab evaluate --core <core.ts>`: judge a core patch — a core variant replacing
 * notifier-core functions through @mnlab/core's seam — across every driver at once. Runs
 * every driver's scenarios, every variant, on the merged core and with the core variant
 * installed (the same exploration for both: the scenarios' own unless overridden), and
 * gives each (driver, variant, scenario) the outcome of `evaluate` (outcomeOf): regression,
 * same, fixed or same bug. Prints the per-driver counts, each regression's counterexample
 * and each fixed row with replay commands that carry `--core`, and writes a Markdown page.
 * Exit 0 when nothing regressed, 1 when something did, 2 on a usage error.
 */
import { writeFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import type { ResultRecord } from "@mnlab/core";
import {
  type CoreEvaluationInput,
  type CoreEvaluationRow,
  coreEvaluatePage,
  cpuColumns,
  OUTCOMES,
  outcomeSummary,
  stableJson,
  table,
} from "@mnlab/report";
import { loadCoreVariant } from "../core-variant.ts";
import { firstLine, UsageError } from "../errors.ts";
import { repoRoot, userPath } from "../paths.ts";
import { drivers as registeredDrivers } from "../registry.ts";
import { runWork } from "../runner.ts";
import { budgetOf, type WorkItem, workList } from "../work.ts";
import { asTyped, type EvaluateOptions, outcomeOf, shellWord } from "./evaluate.ts";

function replayCommand(token: string, corePath: string | null, variantPath: string | null = null): string {
  const variant = variantPath === null ? "" : ` --variant ${shellWord(variantPath)}`;
  return `npm run mnlab -- replay ${token}${variant}${corePath === null ? "" : ` --core ${shellWord(corePath)}`}`;
}

const toRoot = (p: string) => relative(repoRoot, userPath(p)).split(sep).join("/");

export async function evaluateCoreCommand(corePath: string, o: EvaluateOptions): Promise<number> {
  if (o.results !== undefined) throw new UsageError("--results judges a driver patch's run; not with --core");
  const core = await loadCoreVariant(corePath);
  // A driver patch (--variant) written against the core variant's new API runs on the patched
  // core next to the built-in variants; on the merged core it cannot run (the API is absent),
  // so its row is judged against its driver's merged variant, `interval`, on the merged core.
  const users = o.variant ?? [];
  const names =
    (o.driver ?? []).length > 0
      ? o.driver!
      : users.length > 0
        ? (await registeredDrivers()).map((d) => d.name)
        : [];
  const items = await workList({ drivers: names, variants: users, scenarios: o.scenario });
  if (items.length === 0) throw new UsageError("nothing to run: no driver package is registered");
  const againstOf = (w: WorkItem): WorkItem => {
    if (w.modulePath === null) return { ...w, core: null };
    const interval = w.driver.variants.find((v) => v.info.id === "interval");
    if (interval === undefined) {
      throw new UsageError(
        `${w.driver.name} has no merged \`interval\` variant to judge --variant ${w.modulePath} against`,
      );
    }
    return { ...w, variant: interval, modulePath: null, core: null };
  };
  const budget = budgetOf(o);
  process.stderr.write(
    `mnlab: ${items.length} runs, each on the merged core and on core variant ${core.variant.id}\n`,
  );
  // One run, each item on the merged core next to the same item on the patched one: both
  // sides run the same code in the same workers (a tree that changes between two runs would
  // otherwise show up as outcomes the patch did not cause).
  const both = await runWork(
    items.flatMap((w) => [againstOf(w), { ...w, core }]),
    { budget, jobs: o.jobs, progress: true },
  );
  const merged = both.filter((_, i) => i % 2 === 0);
  const patched = both.filter((_, i) => i % 2 === 1);

  const typed = asTyped(corePath);
  const fromRoot = toRoot(corePath);
  const rowsFor = (where: string, path: (p: string) => string) =>
    items.map((w, i): CoreEvaluationRow => {
      const p = patched[i]!;
      const a = merged[i]!;
      return {
        driver: w.driver.name,
        variant: w.variant.info.id,
        scenario: w.scenario.name,
        outcome: outcomeOf(p.verdict, a.verdict),
        patch: p,
        against: a,
        replay:
          p.replay === null
            ? null
            : replayCommand(p.replay, where, w.modulePath === null ? null : path(w.modulePath)),
        againstReplay: a.replay === null ? null : replayCommand(a.replay, null),
      };
    });
  const rows = rowsFor(typed, asTyped);
  const drivers = [...new Map(items.map((w) => [w.driver.name, w.driver])).values()].map((d) => ({
    name: d.name,
    title: d.title,
  }));
  const pagePath =
    o.page === undefined
      ? join(dirname(userPath(corePath)), `${basename(corePath).replace(/\.[mc]?[jt]s$/, "")}.evaluation.md`)
      : userPath(o.page);
  const args = process.argv.slice(2).map(shellWord).join(" ");
  const input: CoreEvaluationInput = {
    core: {
      id: core.variant.id,
      description: core.variant.description,
      module: fromRoot,
      replaces: Object.keys(core.variant.replaces),
    },
    drivers,
    // On the page the reviewer stands in the repository root.
    rows: rowsFor(fromRoot, toRoot),
    command: `npm run mnlab -- ${args}`,
  };
  try {
    writeFileSync(pagePath, coreEvaluatePage(input));
  } catch (e) {
    throw new UsageError(`cannot write ${pagePath}: ${firstLine(e)}`);
  }
  const regressed = rows.some((r) => r.outcome === "regression");
  if (o.json) {
    const changed = (r: CoreEvaluationRow) => r.outcome === "regression" || r.outcome === "fixed";
    process.stdout.write(
      stableJson({
        schema: "mnlab-core-evaluate/1",
        core: input.core,
        against: "merged core",
        page: relative(repoRoot, pagePath).split(sep).join("/"),
        regressed,
        counts: Object.fromEntries(OUTCOMES.map((x) => [x, rows.filter((r) => r.outcome === x).length])),
        runs: rows.map((r) => ({
          driver: r.driver,
          variant: r.variant,
          scenario: r.scenario,
          outcome: r.outcome,
          verdict: r.patch.verdict,
          merged: r.against.verdict,
          ...(r.against.variant === r.variant ? {} : { mergedVariant: r.against.variant }),
          executions: r.patch.executions,
          mergedExecutions: r.against.executions,
          replay: r.replay,
        })),
        // The records of every run whose verdict changed, on both cores (the evidence).
        changed: rows.filter(changed).map((r) => ({ merged: r.against, patched: r.patch })),
        // Drivers written against the core variant's API (--variant), against their driver's
        // interval on the merged core: the verdicts, messages and metrics of both sides.
        apiUsers: rows
          .filter((r) => r.against.variant !== r.variant)
          .map((r) => ({
            driver: r.driver,
            variant: r.variant,
            scenario: r.scenario,
            outcome: r.outcome,
            merged: brief(r.against),
            patched: { ...brief(r.patch), replay: r.replay },
          })),
      }),
    );
  } else {
    process.stdout.write(textReport(rows, core.variant.id, toCwd(pagePath)));
  }
  return regressed ? 1 : 0;
}

function brief(r: ResultRecord) {
  return {
    variant: r.variant,
    verdict: r.verdict,
    message: r.message,
    executions: r.executions,
    metrics: r.metrics,
  };
}

function toCwd(p: string): string {
  return relative(process.env.INIT_CWD ?? process.cwd(), p)
    .split(sep)
    .join("/");
}

function textReport(rows: CoreEvaluationRow[], id: string, pagePath: string): string {
  const drivers = [...new Set(rows.map((r) => r.driver))];
  const out = [
    `core variant ${id} against the merged core:`,
    "",
    table(
      ["driver", ...OUTCOMES],
      drivers.map((d) => [
        d,
        ...OUTCOMES.map((x) => String(rows.filter((r) => r.driver === d && r.outcome === x).length)),
      ]),
    ),
  ];
  const key = (r: CoreEvaluationRow) => `${r.driver}/${r.variant} ${r.scenario}`;
  for (const r of rows.filter((x) => x.outcome === "regression")) {
    const p: ResultRecord = r.patch;
    out.push(
      "",
      `regression: ${key(r)}: ${p.verdict} (merged core${r.against.variant === r.variant ? "" : `, ${r.against.variant}`}: ${r.against.verdict}): ${p.message ?? ""}`,
      "",
      cpuColumns(p.trace ?? []),
      "",
      `  ${r.replay}`,
    );
  }
  for (const r of rows.filter((x) => x.outcome === "fixed")) {
    out.push("", `fixed: ${key(r)}: pass (merged core: ${r.against.verdict})`);
    if (r.againstReplay !== null) out.push(`  merged core's counterexample: ${r.againstReplay}`);
  }
  out.push("", `${rows.length} runs: ${outcomeSummary(rows)}; page: ${pagePath}`);
  return `${out.join("\n")}\n`;
}
