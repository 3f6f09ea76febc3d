/**
 * The page `mnlab evaluate` writes for a migration patch: what a reviewer pastes into a mail
 * or a pull request. Built from the same pieces as the driver pages — verdict cells, the
 * metric columns, CPU columns and the Mermaid diagram of each counterexample — around one
 * question: against the merged 5.5 variant, is the patch a regression, the same, a fix, or
 * does it keep the same bug? Pure: data in, Markdown out.
 */
import type { ResultRecord } from "@mnlab/core";
import { METRICS, metricMeans } from "./driver-page.ts";
import { cpuColumns } from "./interleaving.ts";
import { code, int, num, table } from "./markdown.ts";
import { sequenceDiagram } from "./mermaid.ts";
import type { VariantSummary } from "./model.ts";
import { firstFound } from "./verdicts.ts";

/**
 * One scenario's outcome for the patch, judged against the merged variant:
 *   regression  the patch shows a violation the merged variant does not (or another kind);
 *   same        neither shows one;
 *   fixed       the merged variant shows one, the patch does not;
 *   same bug    both show the same kind: the patch inherits it (not "as expected").
 */
export type EvaluationOutcome = "regression" | "same" | "fixed" | "same bug";

export const OUTCOMES: readonly EvaluationOutcome[] = ["regression", "fixed", "same bug", "same"];

export interface EvaluationRow {
  scenario: string;
  outcome: EvaluationOutcome;
  /** The patch's record and the merged variant's. */
  patch: ResultRecord;
  against: ResultRecord;
  /** `npm run mnlab -- replay ... --variant ...` of the patch's counterexample, when it has one. */
  replay: string | null;
}

export interface EvaluationInput {
  driver: { name: string; title: string };
  /** The patch as a variant (source and lines relative to the repository root), and its module path. */
  patch: VariantSummary & { module: string };
  /** Every built-in variant the run compared (legacy, interval, ...). */
  variants: VariantSummary[];
  /** The merged variant the patch is judged against ("interval"). */
  against: string;
  rows: EvaluationRow[];
  /** Every record of the run, in work-list order (built-ins and the patch). */
  results: ResultRecord[];
  /** The command that ran, to re-run it. */
  command: string;
}

const BADGE: Record<EvaluationOutcome, string> = {
  regression: "**regression**",
  same: "same",
  fixed: "**fixed**",
  "same bug": "**same bug**",
};

export function outcomeCounts(rows: readonly EvaluationRow[]): Record<EvaluationOutcome, number> {
  const n: Record<EvaluationOutcome, number> = { regression: 0, same: 0, fixed: 0, "same bug": 0 };
  for (const r of rows) n[r.outcome]++;
  return n;
}

/** "2 regressions, 1 fixed, 1 same bug, 13 same" */
export function outcomeSummary(rows: readonly EvaluationRow[]): string {
  const n = outcomeCounts(rows);
  return OUTCOMES.map((o) => `${n[o]} ${o === "regression" && n[o] !== 1 ? "regressions" : o}`).join(", ");
}

function verdictTable(input: EvaluationInput): string {
  const ids = [...input.variants.map((v) => v.id), input.patch.id];
  const byKey = new Map(input.results.map((r) => [`${r.variant}/${r.scenario}`, r]));
  const rows = input.rows.map((row) => [
    row.scenario,
    ...ids.map((id) => {
      const r = byKey.get(`${id}/${row.scenario}`);
      return r === undefined ? "—" : r.verdict;
    }),
    BADGE[row.outcome],
    `${int(row.patch.executions)}${row.patch.exhausted ? " (all)" : ""}`,
    firstFound(row.patch),
  ]);
  return table(
    [
      "scenario",
      ...ids.map((id) => code(id)),
      `outcome vs ${code(input.against)}`,
      "executions",
      "first found at",
    ],
    rows,
    ["l", ...ids.map(() => "l" as const), "l", "r", "r"],
  );
}

function codeSize(input: EvaluationInput): string {
  const rows = [...input.variants, input.patch].map((v) => [
    code(v.id),
    v.kernel,
    v.summary,
    code(v.source),
    int(v.modelLines),
  ]);
  const against = input.variants.find((v) => v.id === input.against);
  const delta =
    against === undefined
      ? ""
      : ` The patch has ${int(input.patch.modelLines)} lines of model code, ${
          input.patch.modelLines - against.modelLines >= 0 ? "+" : "−"
        }${int(Math.abs(input.patch.modelLines - against.modelLines))} against \`${input.against}\`.`;
  return [
    table(["variant", "kernel", "what it models", "model source", "model lines"], rows, [
      "l",
      "l",
      "l",
      "l",
      "r",
    ]),
    `Lines are non-blank, non-comment lines of the .ts files under the model source.${delta}`,
  ].join("\n\n");
}

function metrics(input: EvaluationInput): string {
  const ids = [...input.variants.map((v) => v.id), input.patch.id];
  const rows = ids.map((id) => {
    const m = metricMeans(input.results, id);
    return [code(id), m.populates === null ? "—" : num(m.populates), ...METRICS.map((x) => fmt(m[x.key]))];
  });
  return [
    "Virtual time, not wall clock: per execution, averaged over the executions explored, then over " +
      "the scenarios (a run that stops at its first violation averages up to it). They follow from " +
      "the seeds, like the verdicts.",
    table(["variant", "populates", ...METRICS.map((m) => m.label)], rows, [
      "l",
      "r",
      ...METRICS.map(() => "r" as const),
    ]),
  ].join("\n\n");
}

function fmt(x: number | null): string {
  return x === null ? "—" : num(x);
}

function counterexampleBlock(row: EvaluationRow, against: string): string {
  const r = row.patch;
  const before =
    row.against.verdict === "pass"
      ? `\`${against}\` passes this scenario under the same exploration.`
      : `\`${against}\` shows ${row.against.verdict === r.verdict ? "the same" : `${row.against.verdict} here instead`}: ${code((row.against.message ?? "").replace(/\s+/g, " "))}.`;
  const blocks = [
    `### ${r.scenario}: ${r.verdict} (${row.outcome})`,
    `${before} The patch's violation was found at execution ${int(r.firstFailureAt ?? 0)} under ${r.strategy}; ` +
      "the trace is the shrunk counterexample.",
    `> ${code((r.message ?? "").replace(/\s+/g, " "))}`,
  ];
  if (row.replay !== null) blocks.push(["```sh", row.replay, "```"].join("\n"));
  if (r.trace === null || r.trace.length === 0) {
    blocks.push("No trace was recorded.");
  } else {
    blocks.push(["```text", cpuColumns(r.trace), "```"].join("\n"));
    blocks.push(["```mermaid", sequenceDiagram(r.trace), "```"].join("\n"));
  }
  return blocks.join("\n\n");
}

export function evaluatePage(input: EvaluationInput): string {
  const regressions = input.rows.filter((r) => r.outcome === "regression");
  const sameBugs = input.rows.filter((r) => r.outcome === "same bug");
  const fixed = input.rows.filter((r) => r.outcome === "fixed");
  const verdict =
    regressions.length === 0
      ? `No regression against \`${input.against}\`.`
      : `${regressions.length} regression${regressions.length === 1 ? "" : "s"} against \`${input.against}\`.`;
  const parts = [
    `# ${input.driver.name}/${input.patch.id}: evaluated against \`${input.against}\``,
    `${verdict} ${outcomeSummary(input.rows)} — over ${input.rows.length} scenarios of ${input.driver.name} ` +
      `(${input.driver.title}).`,
    `Patch module: ${code(input.patch.module)}. Re-run: ${code(input.command)}.`,
    "## Verdicts side by side",
    "**regression**: the patch shows a violation the merged variant does not (or another kind); " +
      "**fixed**: the merged variant shows one, the patch does not; **same bug**: both show the same " +
      "kind — the patch inherits it; **same**: neither shows one. Every variant ran the same scenarios " +
      "under the same exploration.",
    verdictTable(input),
  ];
  if (fixed.length > 0) {
    parts.push(
      `Fixed: ${fixed
        .map((r) => `${code(r.scenario)} (\`${input.against}\`: ${r.against.verdict})`)
        .join(", ")}.`,
    );
  }
  if (sameBugs.length > 0) {
    parts.push(
      `Same bug as \`${input.against}\`: ${sameBugs.map((r) => `${code(r.scenario)} (${r.patch.verdict})`).join(", ")}.`,
    );
  }
  parts.push("## Counterexamples");
  const shown = [...regressions, ...sameBugs];
  parts.push(
    shown.length === 0
      ? "The patch shows no violation."
      : `Each regression${sameBugs.length > 0 ? ", then each inherited bug," : ""} of the patch, drawn as CPU columns ` +
          "(one column per thread, time running down) and as a sequence diagram, with the command that replays it.",
  );
  for (const r of shown) parts.push(counterexampleBlock(r, input.against));
  parts.push("## Virtual-time metrics", metrics(input));
  parts.push("## Lines of code", codeSize(input));
  return `${parts.join("\n\n")}\n`;
}
