/**
 * reports/README.md, the index: the verdict matrix (driver × scenario rows, one column per
 * variant), totals per variant, the catalogue of documented legacy bugs with how soon the
 * exploration finds each, and links to the driver pages and the benchmark page.
 */
import type { ResultRecord } from "@mnlab/core";
import { findingEntries } from "./findings-page.ts";
import { int, page, table } from "./markdown.ts";
import { type DocsIndex, type MutationDocument, type ReportInput, variantColumns } from "./model.ts";
import { MUTATION_SCORE_COLUMNS, mutationScoreCells } from "./mutation-score.ts";
import { linkRef } from "./references.ts";
import { counterexampleLink, UNEXPECTED, verdictCell, violationsOf } from "./verdicts.ts";

function matrix(input: ReportInput, columns: string[]): string {
  const rows: string[][] = [];
  const seen = new Set<string>();
  for (const r of input.results) {
    const key = `${r.driver}\u0000${r.scenario}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const cells = columns.map((v) => {
      const rec = input.results.find(
        (x) => x.driver === r.driver && x.scenario === r.scenario && x.variant === v,
      );
      return rec === undefined ? "—" : verdictCell(rec, { link: "index" });
    });
    rows.push([`[${r.driver}](${r.driver}.md)`, r.scenario, ...cells]);
  }
  return table(["driver", "scenario", ...columns], rows);
}

function totals(results: ResultRecord[], columns: string[]): string {
  const of = (v: string) => results.filter((r) => r.variant === v);
  const row = (label: string, f: (rs: ResultRecord[]) => number) => [
    label,
    ...columns.map((v) => int(f(of(v)))),
  ];
  return table(
    ["", ...columns],
    [
      row("scenarios run", (rs) => rs.length),
      row("as expected", (rs) => rs.filter((r) => r.asExpected).length),
      row(`not as expected ${UNEXPECTED}`, (rs) => rs.filter((r) => !r.asExpected).length),
      row("violations found", (rs) => rs.filter((r) => r.verdict !== "pass").length),
      row("executions explored", (rs) => rs.reduce((n, r) => n + r.executions, 0)),
    ],
    ["l", ...columns.map(() => "r" as const)],
  );
}

/** Every record whose expected verdict is a violation: a documented bug the run must find. */
export function bugCatalogue(results: ResultRecord[]): ResultRecord[] {
  return results.filter((r) => r.expected !== null && r.expected !== "pass");
}

function catalogue(results: ResultRecord[], docs?: DocsIndex): string {
  const bugs = bugCatalogue(results);
  if (bugs.length === 0) return "No scenario expects a violation yet.";
  const rows = bugs.map((r) => {
    const found =
      r.verdict === r.expected
        ? `at execution ${int(r.firstFailureAt ?? 0)}`
        : r.verdict === "pass"
          ? `${UNEXPECTED} not found in ${int(r.executions)} executions`
          : `${UNEXPECTED} found ${r.verdict} instead, at execution ${int(r.firstFailureAt ?? 0)}`;
    const where = r.trace === null ? "" : `[counterexample](${counterexampleLink(r, true)})`;
    const also = violationsOf(r)
      .filter((v) => v.kind !== r.expected)
      .map((v) => `[${v.kind}](${counterexampleLink(r, true, v.kind)}) at ${int(v.firstFailureAt)}`);
    return [
      `[${r.driver}](${r.driver}.md)`,
      r.variant,
      r.expectedRef === null ? "—" : linkRef(r.expectedRef, r.driver, docs),
      r.expected!,
      r.scenario,
      found,
      also.length === 0 ? "—" : also.join(", "),
      where,
    ];
  });
  return table(
    ["driver", "variant", "kernel commit / ref", "violation", "scenario", "first found", "also reached", ""],
    rows,
  );
}

function mutationScores(m: MutationDocument | null | undefined): string {
  if (m === null || m === undefined || m.drivers.length === 0) return "";
  return [
    "## Mutation scores",
    "From `reports/data/mutation.json` (`mnlab mutate`): per variant, the mutants of its model the scenarios " +
      "kill (some verdict changes) out of those generated, and out of those not reviewed as equivalent. The " +
      "survivors and their notes are listed on the driver pages.",
    table(
      ["driver", "variant", ...MUTATION_SCORE_COLUMNS],
      m.drivers.map((d) => [
        `[${d.driver}](${d.driver}.md#mutation-score)`,
        d.variant,
        ...mutationScoreCells(d),
      ]),
      ["l", "l", "r", "r", "r", "r", "r", "r"],
    ),
  ].join("\n\n");
}

function drivers(input: ReportInput): string {
  if (input.drivers.length === 0) return "No driver package is registered yet.";
  return input.drivers
    .map((d) => {
      const rs = input.results.filter((r) => r.driver === d.name);
      const bad = rs.filter((r) => !r.asExpected).length;
      const state = bad === 0 ? "every verdict as expected" : `${bad} ${UNEXPECTED} not as expected`;
      return `- [${d.name}](${d.name}.md) — ${d.title} (${rs.length} runs, ${state})`;
    })
    .join("\n");
}

export function indexPage(input: ReportInput): string {
  const columns = variantColumns(input.results.map((r) => r.variant));
  const unexpected = input.results.filter((r) => !r.asExpected).length;
  return page([
    "# Results: Linux 5.4 vs 5.5 MMU-notifier users",
    "Generated by `mnlab report` (`npm start`); do not edit by hand. Every verdict follows from the " +
      "scenario's seed and budget and is reproduced byte for byte by a fresh run " +
      "(`npm run mnlab -- report --check`); the raw records are in [data/results.json](data/results.json).",
    unexpected === 0
      ? `**${input.results.length} runs, every verdict as expected.**`
      : `**${input.results.length} runs, ${unexpected} ${UNEXPECTED} not as expected.**`,
    "## Verdict matrix",
    "One row per driver and scenario, one column per variant (`legacy` follows Linux 5.4, " +
      "`interval` 5.5). A cell is the verdict the exploration reached — `pass`, or the kind of the " +
      `first violation found, linked to its counterexample. ${UNEXPECTED} marks a verdict that differs ` +
      "from the expected one, which follows in brackets; — means the variant does not run that scenario. " +
      "The exploration goes on after a violation (a lockdep report is recorded once, then lockdep turns " +
      "itself off, as the kernel's does), so `potential-deadlock + deadlock` says the same schedules also " +
      "hang: every kind reached follows the verdict after `+`, each linked to its own counterexample.",
    input.results.length === 0 ? "No results yet." : matrix(input, columns),
    "### Totals per variant",
    input.results.length === 0 ? "" : totals(input.results, columns),
    "## Bug catalogue",
    "Each documented bug is a scenario whose expected verdict for a variant is a violation: the " +
      "kernel commit or reference row that documents it, the violation kind, the scenario that " +
      "finds it, and how many executions the exploration needed to find it first.",
    catalogue(input.results, input.docs),
    "## Findings",
    (() => {
      const n = findingEntries(input).length;
      return n === 0
        ? "No 5.5 model shows a violation the merged kernel was meant not to have: [findings.md](findings.md)."
        : `${n} violation${n === 1 ? "" : "s"} a 5.5 model shows that the merged kernel was meant not to have, ` +
            "each with the kernel lines that cause it and a replay command: [findings.md](findings.md).";
    })(),
    "## Drivers",
    drivers(input),
    mutationScores(input.mutation),
    "## Benchmarks",
    input.bench === null
      ? "Wall-clock benchmarks: not measured yet (`reports/data/bench.json` is written by the bench programs)."
      : "Wall-clock benchmarks, machine-dependent and kept apart from the verdicts: [bench.md](bench.md).",
  ]);
}
