/**
 * reports/<driver>.md: the old and new design, the code each variant takes next to the
 * kernel patches' diffstat, the scenario table, the virtual-time metrics old vs new, and
 * every counterexample drawn twice — CPU columns and a Mermaid sequence diagram — with the
 * command that replays it.
 */
import type { Metrics, ResultRecord } from "@mnlab/core";
import { barChart } from "./bar-chart.ts";
import { cpuColumns } from "./interleaving.ts";
import { code, int, num, page, table } from "./markdown.ts";
import { sequenceDiagram } from "./mermaid.ts";
import { type DriverSummary, variantColumns } from "./model.ts";
import { counterexampleHeading, firstFound, UNEXPECTED, verdictCell } from "./verdicts.ts";

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
    code(p.commit),
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

function scenarioTable(d: DriverSummary, records: ResultRecord[]): string {
  const rows = records.map((r) => [
    r.scenario,
    r.variant,
    verdictCell(r, { link: "page" }),
    r.expected === null ? "—" : r.expectedRef === null ? r.expected : `${r.expected} (${r.expectedRef})`,
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
          .map(([v, e]) => ` _${v}:_ ${e.note!.trim()}`)
          .join("");
        return `- **${s.name}** — ${s.description.trim()}${notes}`;
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

/** One counterexample, drawn both ways, with its replay command. */
export function counterexample(r: ResultRecord): string {
  const expected = r.asExpected
    ? `Expected${r.expectedRef === null ? "" : ` (${r.expectedRef})`}.`
    : `${UNEXPECTED} Not expected: the expected verdict is ${r.expected ?? "not stated"}.`;
  const blocks = [
    `### ${counterexampleHeading(r)}`,
    `${expected} Found at execution ${int(r.firstFailureAt ?? 0)} under ` +
      `${r.strategy}; the trace below is the shrunk counterexample.`,
    `> ${code((r.message ?? "").replace(/\s+/g, " "))}`,
  ];
  if (r.replay !== null) blocks.push(["```sh", `npm run mnlab -- replay ${r.replay}`, "```"].join("\n"));
  if (r.trace === null || r.trace.length === 0) {
    blocks.push("No trace was recorded.");
  } else {
    blocks.push(["```text", cpuColumns(r.trace), "```"].join("\n"));
    blocks.push(["```mermaid", sequenceDiagram(r.trace), "```"].join("\n"));
  }
  return blocks.join("\n\n");
}

export function driverPage(d: DriverSummary, records: ResultRecord[]): string {
  const failures = records.filter((r) => r.verdict !== "pass");
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
    records.length === 0 ? "No runs." : scenarioTable(d, records),
    "## Virtual-time metrics, old vs new",
    metricsSection(d, records),
    "## Counterexamples",
    failures.length === 0
      ? "No violation was found in any variant."
      : `${failures.length} violations across ${columns.join(", ")}. Each is drawn as CPU columns ` +
        "(one column per thread, time running down, calls indented) and as a sequence diagram; " +
        "its replay command re-runs exactly that execution.",
    ...failures.map(counterexample),
  ]);
}
