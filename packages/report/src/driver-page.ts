/**
 * reports/<driver>.md: the old and new design, the code each variant takes next to the
 * kernel patches' diffstat, the scenario table, old next to new (each 5.4 counterexample and
 * 5.5 in the same schedule), the virtual-time metrics old vs new, the mutation score when
 * measured, and every counterexample — one per violation kind a run reached — as its race
 * (CPU columns and a Mermaid sequence diagram) and its whole trace, folded, with the command
 * that replays it.
 */
import type { Metrics, ResultRecord } from "@mnlab/core";
import type { TraceEvent } from "@mnlab/sim";
import { barChart } from "./bar-chart.ts";
import { cpuColumns } from "./interleaving.ts";
import { code, int, num, page, table } from "./markdown.ts";
import { raceDiagram } from "./mermaid.ts";
import {
  type DocsIndex,
  type DriverSummary,
  type MutationScore,
  type SameSchedule,
  variantColumns,
} from "./model.ts";
import { MUTATION_SCORE_COLUMNS, mutationScoreCells, pct } from "./mutation-score.ts";
import { raceColumns, raceSlice } from "./race.ts";
import { commitLink, linkRef, linkText } from "./references.ts";
import { sideBySide } from "./side-by-side.ts";
import { counterexampleHeading, firstFound, UNEXPECTED, verdictCell, violationsOf } from "./verdicts.ts";
import { viewerLink } from "./viewer-link.ts";

/** The metrics the report compares, with their labels. */
export const METRICS: { key: keyof Metrics; label: string }[] = [
  { key: "retriesPerPopulate", label: "retries / populate" },
  { key: "ticksBlocked", label: "ticks blocked" },
  { key: "callbacks", label: "callbacks" },
  { key: "lockHoldTicks", label: "lock-hold ticks" },
];

/** Means over a variant's scenarios, per metric (null when the variant ran none). */
export function metricMeans(records: ResultRecord[], variant: string): Record<keyof Metrics, number | null> {
  const rs = records.filter((r) => r.variant === variant);
  const mean = (k: keyof Metrics) =>
    rs.length === 0 ? null : Math.round((rs.reduce((n, r) => n + r.metrics[k], 0) / rs.length) * 1000) / 1000;
  return {
    populates: mean("populates"),
    retriesPerPopulate: mean("retriesPerPopulate"),
    ticksBlocked: mean("ticksBlocked"),
    callbacks: mean("callbacks"),
    lockHoldTicks: mean("lockHoldTicks"),
  };
}

/** The per-driver SVG: one panel per metric, one bar per variant. */
export function metricsChart(driver: string, records: ResultRecord[]): string {
  const variants = variantColumns(records.map((r) => r.variant));
  const means = variants.map((v) => metricMeans(records, v));
  return barChart(
    `${driver}: virtual-time metrics per execution, mean over scenarios`,
    variants,
    METRICS.map((m) => ({ title: m.label, values: means.map((x) => x[m.key]) })),
  );
}

export function metricsChartPath(driver: string): string {
  return `img/${driver}-metrics.svg`;
}

function design(d: DriverSummary): string {
  return [
    "### Linux 5.4 (`legacy`)",
    d.design.legacy.trim(),
    "### Linux 5.5 (`interval`)",
    d.design.interval.trim(),
  ].join("\n\n");
}

function variants(d: DriverSummary): string {
  return table(
    ["variant", "kernel", "what it models", "model source", "model lines"],
    d.variants.map((v) => [v.id, v.kernel, v.summary, code(v.source), int(v.modelLines)]),
    ["l", "l", "l", "l", "r"],
  );
}

function patches(d: DriverSummary): string {
  if (d.patches.length === 0) return "No kernel patch is listed for this driver.";
  const ins = d.patches.reduce((n, p) => n + p.insertions, 0);
  const del = d.patches.reduce((n, p) => n + p.deletions, 0);
  const rows = d.patches.map((p) => [
    commitLink(p.commit),
    p.title,
    `+${int(p.insertions)} / −${int(p.deletions)}`,
  ]);
  rows.push(["total", "", `+${int(ins)} / −${int(del)}`]);
  const lines = d.variants.map((v) => `\`${v.id}\` ${int(v.modelLines)}`).join(", ");
  const legacy = d.variants.find((v) => v.id === "legacy");
  const interval = d.variants.find((v) => v.id === "interval");
  const delta =
    legacy !== undefined && interval !== undefined
      ? ` — the model changes by ${interval.modelLines - legacy.modelLines >= 0 ? "+" : "−"}${int(
          Math.abs(interval.modelLines - legacy.modelLines),
        )} lines where the kernel's driver files change by ${ins - del >= 0 ? "+" : "−"}${int(Math.abs(ins - del))}`
      : "";
  return [
    table(["commit", "title", "diffstat (driver files)"], rows, ["l", "l", "r"]),
    `Lines of model code: ${lines}${delta}.`,
  ].join("\n\n");
}

function scenarioTable(d: DriverSummary, records: ResultRecord[], docs?: DocsIndex): string {
  const rows = records.map((r) => [
    r.scenario,
    r.variant,
    verdictCell(r, { link: "page" }),
    r.expected === null
      ? "—"
      : r.expectedRef === null
        ? r.expected
        : `${r.expected} (${linkRef(r.expectedRef, r.driver, docs)})`,
    r.strategy,
    `${int(r.executions)}${r.exhausted ? " (space exhausted)" : ""}`,
    firstFound(r),
  ]);
  return [
    table(
      ["scenario", "variant", "verdict", "expected (ref)", "exploration", "executions", "first found at"],
      rows,
      ["l", "l", "l", "l", "l", "r", "r"],
    ),
    d.scenarios
      .map((s) => {
        const notes = Object.entries(s.expected)
          .filter(([, e]) => e.note !== undefined)
          .map(([v, e]) => ` _${v}:_ ${linkText(e.note!.trim(), docs, d.name)}`)
          .join("");
        return `- **${s.name}** — ${linkText(s.description.trim(), docs, d.name)}${notes}`;
      })
      .join("\n"),
  ].join("\n\n");
}

function metricsSection(d: DriverSummary, records: ResultRecord[]): string {
  if (records.length === 0) return "No runs.";
  const rows = records.map((r) => [
    r.scenario,
    r.variant,
    num(r.metrics.populates),
    ...METRICS.map((m) => num(r.metrics[m.key])),
  ]);
  return [
    "Virtual time, not wall clock: figures per execution (retries per populate() call), averaged " +
      "over the executions explored, so they follow from the seeds like the verdicts. A run that " +
      "stops at its first violation averages over the executions up to it.",
    `![${d.name} metrics, old vs new](${metricsChartPath(d.name)})`,
    table(["scenario", "variant", "populates", ...METRICS.map((m) => m.label)], rows, [
      "l",
      "l",
      "r",
      ...METRICS.map(() => "r" as const),
    ]),
  ].join("\n\n");
}

/** The race slice as CPU columns and a sequence diagram, then the whole trace folded. */
export function raceBlocks(trace: TraceEvent[] | null, message: string | null): string[] {
  if (trace === null || trace.length === 0) return ["No trace was recorded."];
  const slice = raceSlice(trace, message === null ? {} : { message });
  const left =
    slice.omitted === 0
      ? ""
      : `; ${int(slice.omitted)} steps on objects one thread alone touches are left out`;
  return [
    `The race: ${int(slice.steps.length)} of the trace's ${int(slice.total)} steps, from where the threads ` +
      `start to interleave to the violation${left}. The whole trace follows, folded.`,
    ["```text", raceColumns(slice), "```"].join("\n"),
    ["```mermaid", raceDiagram(slice), "```"].join("\n"),
    [
      `<details><summary>The whole trace (${int(slice.total)} steps)</summary>`,
      "",
      "```text",
      cpuColumns(trace),
      "```",
      "",
      "</details>",
    ].join("\n"),
  ];
}

function replayBlock(token: string): string {
  return ["```sh", `npm run mnlab -- replay ${token}`, "```"].join("\n");
}

/** One counterexample per violation kind a record reached, each with its replay command. */
export function counterexample(r: ResultRecord, docs?: DocsIndex): string {
  return violationsOf(r)
    .map((v, i) => {
      const ref = r.expectedRef === null ? "" : ` (${linkRef(r.expectedRef, r.driver, docs)})`;
      const status =
        i > 0
          ? `Also reached, after the verdict ${r.verdict}: the exploration goes on after a violation.`
          : r.asExpected
            ? `Expected${ref}.`
            : `${UNEXPECTED} Not expected: the expected verdict is ${r.expected ?? "not stated"}${ref}.`;
      const lockdepOff = v.replay.includes(":v1n.")
        ? " Lockdep had turned itself off after its first report (as the kernel's does), and the replay runs without it."
        : "";
      return [
        `### ${counterexampleHeading(r, v.kind)}`,
        `${status} First reached at execution ${int(v.firstFailureAt)} under ${r.strategy}; ` +
          `the trace is the shrunk counterexample.${lockdepOff}`,
        `> ${code(v.message.replace(/\s+/g, " "))}`,
        `[Step through it in the trace viewer](${viewerLink({ ...r, kind: v.kind })}).`,
        replayBlock(v.replay),
        ...raceBlocks(v.trace, v.message),
      ].join("\n\n");
    })
    .join("\n\n");
}

/** Per scenario: the 5.4 counterexample, and 5.5 in the same schedule, side by side. */
export function oldNextToNew(records: ResultRecord[], same: SameSchedule[]): string {
  if (same.length === 0) return "";
  const blocks: string[] = [
    "## Old next to new",
    "For each scenario where the 5.4 model fails: its counterexample (left) and what the 5.5 model does " +
      "in the same schedule (right) — the 5.4 decision list replayed on 5.5, where a decision that does not " +
      "apply there (the thread it names cannot run) falls back to running the current thread; when that " +
      "schedule never makes the 5.5 code collide, the 5.5 path that retries instead. Each half is the race " +
      "slice, one step a line after the CPU number; the halves run down independently.",
  ];
  for (const s of same) {
    const old = records.find((r) => r.scenario === s.scenario && r.variant === s.from);
    if (old === undefined || old.trace === null) continue;
    const verdict = s.verdict === "pass" ? "pass" : `${s.verdict}`;
    const retries =
      s.retries > 0
        ? ` The 5.5 populate loop retries ${int(s.retries)} time${s.retries === 1 ? "" : "s"} (read_retry true, -EBUSY).`
        : "";
    const same = s.how === "same-schedule";
    blocks.push(
      `### ${s.scenario}: ${s.from} and ${s.to}${same ? " in the same schedule" : ", the 5.5 path that retries"}`,
      same
        ? `Linux 5.4 (\`${s.from}\`) reaches ${old.verdict}; Linux 5.5 (\`${s.to}\`) in that schedule: **${verdict}**.${retries}`
        : `Linux 5.4 (\`${s.from}\`) reaches ${old.verdict}. Its schedule, replayed on 5.5, passes without the ` +
            "new code ever colliding, so the right-hand side is the 5.5 path that retries instead: the first " +
            `execution of the 5.5 exploration whose populate loop retried — **${verdict}**.${retries}`,
      [
        "```text",
        sideBySide(
          { title: `5.4 ${s.from}: ${old.verdict}`, trace: old.trace, message: old.message },
          {
            title: `5.5 ${s.to}, ${same ? "same schedule" : "the path that retries"}: ${verdict}`,
            trace: s.trace,
            message: s.message,
          },
        ),
        "```",
      ].join("\n"),
      replayBlock(s.replay),
    );
  }
  return blocks.join("\n\n");
}

/** The variants' mutation scores (reports/data/mutation.json), when `mnlab mutate` wrote them. */
export function mutationSection(scores: MutationScore[]): string {
  if (scores.length === 0) return "";
  const blocks = [
    "## Mutation score",
    "`mnlab mutate` changes a variant's model one operator at a time (a mutant) and runs the scenarios on " +
      "each: a mutant is killed when some verdict changes. The score is killed / mutants; a survivor is a change " +
      "no scenario notices — a gap in the suite, or a change that does not matter (its note says which). " +
      "`equivalent` counts the survivors whose reviewed note shows the change cannot matter; the last column " +
      "is the score over the other mutants (a gap or an unreviewed survivor counts against it).",
    table(
      ["variant", ...MUTATION_SCORE_COLUMNS],
      scores.map((m) => [m.variant, ...mutationScoreCells(m)]),
      ["l", "r", "r", "r", "r", "r", "r"],
    ),
  ];
  for (const m of scores) {
    if (m.byOperator.length > 0) {
      blocks.push(
        `### ${m.variant}: by operator`,
        table(
          ["operator", "generated", "killed", "survived", "score"],
          m.byOperator.map((o) => [
            o.operator,
            int(o.generated),
            int(o.killed),
            int(o.survived),
            pct(o.killed, o.generated),
          ]),
          ["l", "r", "r", "r", "r"],
        ),
      );
    }
    if (m.survivors.length > 0) {
      blocks.push(
        `### ${m.variant}: survivors`,
        m.survivors
          .map((x) =>
            [
              `- **${x.id}** (${x.operator}) at ${code(x.location)}${x.note === "" ? "" : ` — ${x.note}`}`,
              "",
              "  ```diff",
              ...x.diff
                .replace(/\n+$/, "")
                .split("\n")
                .map((l) => `  ${l}`),
              "  ```",
            ].join("\n"),
          )
          .join("\n"),
      );
    }
  }
  return blocks.join("\n\n");
}

export interface DriverPageExtras {
  sameSchedule?: SameSchedule[];
  mutation?: MutationScore[];
  docs?: DocsIndex;
}

export function driverPage(d: DriverSummary, records: ResultRecord[], extras: DriverPageExtras = {}): string {
  const failures = records.filter((r) => r.verdict !== "pass");
  const kinds = failures.reduce((n, r) => n + violationsOf(r).length, 0);
  const columns = variantColumns(records.map((r) => r.variant));
  return page([
    `# ${d.name}`,
    d.title,
    "[← all drivers](README.md)",
    "## Design",
    design(d),
    "## Variants and code size",
    variants(d),
    patches(d),
    "## Scenarios",
    records.length === 0 ? "No runs." : scenarioTable(d, records, extras.docs),
    oldNextToNew(records, extras.sameSchedule ?? []),
    "## Virtual-time metrics, old vs new",
    metricsSection(d, records),
    mutationSection(extras.mutation ?? []),
    "## Counterexamples",
    failures.length === 0
      ? "No violation was found in any variant."
      : `${kinds} violations (${failures.length} runs) across ${columns.join(", ")}, one counterexample per ` +
        "violation kind a run reached. Each starts with the race — the steps from where the threads start to " +
        "interleave to the violation, on the objects more than one thread touches, set-up folded into one line " +
        "per thread — as CPU columns and as a sequence diagram, then the whole trace, folded; its replay command " +
        "re-runs exactly that execution.",
    ...failures.map((r) => counterexample(r, extras.docs)),
  ]);
}
