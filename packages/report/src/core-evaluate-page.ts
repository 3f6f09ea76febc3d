/**
 * The page `mnlab evaluate --core` writes for a core patch (a core variant replacing
 * notifier-core functions): every driver's scenarios, every variant, run on the merged core
 * and on the patched one, each (driver, variant, scenario) given the evaluate page's outcome
 * (evaluate-page.ts) — regression, same, fixed, same bug — against the merged core. A core
 * change must be right for every user at once; this is the evidence a patch mail needs.
 * Pure: data in, Markdown out.
 */
import type { ResultRecord } from "@mnlab/core";
import { METRICS, metricMeans } from "./driver-page.ts";
import { type EvaluationOutcome, type EvaluationRow, OUTCOMES, outcomeSummary } from "./evaluate-page.ts";
import { cpuColumns } from "./interleaving.ts";
import { code, int, num, table } from "./markdown.ts";
import { sequenceDiagram } from "./mermaid.ts";
import { firstFound } from "./verdicts.ts";

/** One (driver, variant, scenario): `patch` ran on the core variant, `against` on the merged core. */
export interface CoreEvaluationRow extends EvaluationRow {
  driver: string;
  variant: string;
  /** The replay of the merged core's counterexample (a fixed row: the bug the patch removes). */
  againstReplay: string | null;
}

export interface CoreEvaluationInput {
  core: { id: string; description: string; module: string; replaces: string[] };
  /** The drivers that ran, in registry order. */
  drivers: { name: string; title: string }[];
  rows: CoreEvaluationRow[];
  /** The command that ran, to re-run it. */
  command: string;
}

const BADGE: Record<EvaluationOutcome, string> = {
  regression: "**regression**",
  same: "same",
  fixed: "**fixed**",
  "same bug": "same bug",
};

function verdictTable(rows: readonly CoreEvaluationRow[]): string {
  return table(
    ["variant", "scenario", "merged core", "patched core", "outcome", "executions", "first found at"],
    rows.map((r) => [
      code(r.variant),
      r.scenario,
      r.against.variant === r.variant
        ? r.against.verdict
        : `${r.against.verdict} (${code(r.against.variant)})`,
      r.patch.verdict,
      BADGE[r.outcome],
      `${int(r.patch.executions)}${r.patch.exhausted ? " (all)" : ""}`,
      firstFound(r.patch),
    ]),
    ["l", "l", "l", "l", "l", "r", "r"],
  );
}

function oneLine(s: string | null): string {
  return code((s ?? "").replace(/\s+/g, " "));
}

/** A livelock's trace is as long as the step bound: its last events show the loop. */
const LIVELOCK_TAIL = 60;

function traceBlocks(r: ResultRecord): string[] {
  if (r.trace === null || r.trace.length === 0) return ["No trace was recorded."];
  const cut = r.verdict === "livelock" && r.trace.length > LIVELOCK_TAIL;
  const trace = cut ? r.trace.slice(-LIVELOCK_TAIL) : r.trace;
  return [
    ...(cut
      ? [
          `The last ${LIVELOCK_TAIL} of its ${int(r.trace.length)} events (a livelock runs to the step bound; ` +
            "the replay command gives the whole trace):",
        ]
      : []),
    ["```text", cpuColumns(trace), "```"].join("\n"),
    ["```mermaid", sequenceDiagram(trace), "```"].join("\n"),
  ];
}

function counterexampleBlock(row: CoreEvaluationRow): string {
  const head = `### ${row.driver}/${row.variant} ${row.scenario}: ${row.outcome}`;
  if (row.outcome === "fixed") {
    const a = row.against;
    const blocks = [
      head,
      `On the merged core: ${a.verdict}, found at execution ${int(a.firstFailureAt ?? 0)} under ${a.strategy}. ` +
        `On the patched core the same exploration (${int(row.patch.executions)} executions` +
        `${row.patch.exhausted ? ", all of them" : ""}) finds no violation. The merged core's counterexample:`,
      `> ${oneLine(a.message)}`,
    ];
    if (row.againstReplay !== null) blocks.push(["```sh", row.againstReplay, "```"].join("\n"));
    blocks.push(...traceBlocks(a));
    return blocks.join("\n\n");
  }
  const r = row.patch;
  const mergedCore =
    row.against.variant === row.variant
      ? "The merged core"
      : `On the merged core, ${code(row.against.variant)}`;
  const before =
    row.against.verdict === "pass"
      ? `${mergedCore} passes this scenario under the same exploration.`
      : row.against.verdict === r.verdict
        ? `${mergedCore} shows the same, ${r.verdict}: ${oneLine(row.against.message)}.`
        : `${mergedCore} shows ${row.against.verdict} here instead: ${oneLine(row.against.message)}.`;
  const blocks = [
    head,
    `${before} On the patched core: ${r.verdict}, found at execution ${int(r.firstFailureAt ?? 0)} under ${r.strategy}; ` +
      "the trace is the shrunk counterexample.",
    `> ${oneLine(r.message)}`,
  ];
  if (row.replay !== null) blocks.push(["```sh", row.replay, "```"].join("\n"));
  blocks.push(...traceBlocks(r));
  return blocks.join("\n\n");
}

function metrics(input: CoreEvaluationInput): string {
  const pairs: string[][] = [];
  for (const d of input.drivers) {
    const rows = input.rows.filter((r) => r.driver === d.name);
    for (const variant of [...new Set(rows.map((r) => r.variant))]) {
      const mine = rows.filter((r) => r.variant === variant);
      const merged = metricMeans(
        mine.map((r) => r.against),
        variant,
      );
      const patched = metricMeans(
        mine.map((r) => r.patch),
        variant,
      );
      pairs.push([
        d.name,
        code(variant),
        ...METRICS.map((m) => `${fmt(merged[m.key])} → ${fmt(patched[m.key])}`),
      ]);
    }
  }
  return [
    "Virtual time, not wall clock: per execution, averaged over the executions explored, then over " +
      "the scenarios (a run that stops at its first violation averages up to it); merged core → patched core.",
    table(["driver", "variant", ...METRICS.map((m) => m.label)], pairs, [
      "l",
      "l",
      ...METRICS.map(() => "r" as const),
    ]),
  ].join("\n\n");
}

/**
 * Driver patches written against the core variant's new API (`evaluate --core --variant`):
 * they cannot run on the merged core, so each row is set against its driver's `interval` on the
 * merged core; the figures are the runs' own virtual-time metrics, side by side.
 */
function apiUsers(input: CoreEvaluationInput): string[] {
  const rows = input.rows.filter((r) => r.against.variant !== r.variant);
  if (rows.length === 0) return [];
  const m = (r: ResultRecord) =>
    `${r.verdict}; ${num(r.metrics.retriesPerPopulate)} retries/populate, ${num(r.metrics.ticksBlocked)} ticks blocked`;
  return [
    "## Drivers written against the patch's API",
    "These variants use functions only the patched core exports (its `provides`): on the merged core they " +
      "cannot run, so each of their rows is judged against the same driver's merged variant on the merged core " +
      "(the `merged core` column names it). Virtual time per execution, averaged over the executions explored; " +
      "retries/populate counts the retries a driver reports to the harness, so a variant that keeps only a " +
      "counter of its own shows 0 there.",
    table(
      ["variant", "scenario", "merged variant, merged core", "this variant, patched core", "outcome"],
      rows.map((r) => [
        code(r.variant),
        r.scenario,
        `${code(r.against.variant)}: ${m(r.against)}`,
        m(r.patch),
        BADGE[r.outcome],
      ]),
    ),
  ];
}

function fmt(x: number | null): string {
  return x === null ? "—" : num(x);
}

export function coreEvaluatePage(input: CoreEvaluationInput): string {
  const regressions = input.rows.filter((r) => r.outcome === "regression");
  const fixed = input.rows.filter((r) => r.outcome === "fixed");
  const verdict =
    regressions.length === 0
      ? "No regression against the merged core."
      : `${regressions.length} regression${regressions.length === 1 ? "" : "s"} against the merged core.`;
  const parts = [
    `# Core patch ${input.core.id}: evaluated against the merged core`,
    `${input.core.description}.`,
    `${verdict} ${outcomeSummary(input.rows)} — over ${input.rows.length} (driver, variant, scenario) runs of ` +
      `${input.drivers.length} driver${input.drivers.length === 1 ? "" : "s"} (${input.drivers.map((d) => d.name).join(", ")}).`,
    `Core variant: ${code(input.core.module)}, replacing ${input.core.replaces.map(code).join(", ")}. ` +
      `Re-run: ${code(input.command)}.`,
    "## Outcomes",
    "Every variant of every driver ran every scenario twice under the same exploration: on the merged " +
      "core and with the core variant installed. **regression**: the patched core shows a violation the " +
      "merged core does not (or another kind); **fixed**: the merged core shows one, the patched core does " +
      "not; same bug: both show the same kind (for a `legacy` row usually its documented 5.4 bug, which a " +
      "5.5 core patch leaves alone); same: neither shows one.",
    table(
      ["driver", ...OUTCOMES],
      input.drivers.map((d) => {
        const mine = input.rows.filter((r) => r.driver === d.name);
        return [d.name, ...OUTCOMES.map((o) => int(mine.filter((r) => r.outcome === o).length))];
      }),
      ["l", ...OUTCOMES.map(() => "r" as const)],
    ),
  ];
  if (fixed.length > 0) {
    parts.push(
      `Fixed: ${fixed.map((r) => `${r.driver}/${code(r.variant)} ${code(r.scenario)} (merged core: ${r.against.verdict})`).join(", ")}.`,
    );
  }
  parts.push(...apiUsers(input));
  parts.push("## Counterexamples");
  // A driver written against the patch's API: every violation it shows is evidence, whatever the outcome.
  const users = input.rows.filter(
    (r) => r.against.variant !== r.variant && r.patch.verdict !== "pass" && r.outcome === "same bug",
  );
  const shown = [...regressions, ...fixed, ...users];
  parts.push(
    shown.length === 0
      ? "No run changed its verdict."
      : "Each regression (the patched core's counterexample), then each fixed row (the merged core's), then " +
          "each violation of a driver written against the patch's API, drawn as CPU columns and as a sequence " +
          "diagram, with the command that replays it.",
  );
  for (const r of shown) parts.push(counterexampleBlock(r));
  parts.push("## Verdicts per driver");
  for (const d of input.drivers) {
    const rows = input.rows.filter((r) => r.driver === d.name);
    parts.push(`### ${d.name}`, `${d.title}. ${outcomeSummary(rows)}.`, verdictTable(rows));
  }
  parts.push("## Virtual-time metrics", metrics(input));
  return `${parts.join("\n\n")}\n`;
}
