/**
 * reports/findings.md: every violation a 5.5 model shows that the merged kernel was meant not
 * to have. The page is driven by data: an expectation with a `finding` (core's scenario
 * types) says "5.5 shows this; the merged kernel was meant not to", with the kernel lines that
 * cause it and what later kernels did to them; a 5.5 run that reaches a violation nobody
 * expected, or one past its expected verdict, is listed too, as unexplained — so a new
 * driver's findings appear here without touching this file.
 */
import type { Finding, ResultRecord } from "@mnlab/core";
import { anchor, code, int, page } from "./markdown.ts";
import type { CorePatchEvaluation, DocsIndex, DriverSummary, ReportInput } from "./model.ts";
import { raceColumns, raceSlice } from "./race.ts";
import { linkRef, linkText } from "./references.ts";
import { counterexampleHeading, counterexampleLink, UNEXPECTED, violationsOf } from "./verdicts.ts";

/** A 5.5 model: every variant but the 5.4 ones (`legacy`, `legacy-*`). */
export function isNewModel(variant: string): boolean {
  return !variant.startsWith("legacy");
}

export interface FindingEntry {
  record: ResultRecord;
  /** The violation kind listed. */
  kind: string;
  /** The expectation's finding, when one is recorded for it. */
  finding: Finding | null;
}

function findingOf(d: DriverSummary | undefined, r: ResultRecord): Finding | null {
  const s = d?.scenarios.find((x) => x.name === r.scenario);
  const e = s?.expected[r.variant] ?? (r.variant === "interval" ? undefined : s?.expected.default);
  return e?.finding ?? null;
}

/**
 * The entries, in work-list order: each recorded finding (with every kind its run reached), and
 * every 5.5 verdict that is not the expected one.
 */
export function findingEntries(input: ReportInput): FindingEntry[] {
  const out: FindingEntry[] = [];
  for (const r of input.results) {
    if (!isNewModel(r.variant)) continue;
    const finding = findingOf(
      input.drivers.find((d) => d.name === r.driver),
      r,
    );
    const vs = violationsOf(r);
    if (finding !== null) {
      if (vs.length === 0) out.push({ record: r, kind: "pass", finding });
      for (const v of vs)
        out.push({ record: r, kind: v.kind, finding: v.kind === r.expected ? finding : null });
    } else if (!r.asExpected && r.verdict !== "pass") {
      out.push({ record: r, kind: r.verdict, finding: null });
    }
  }
  return out;
}

/**
 * 5.5 runs whose verdict is the documented one but whose exploration went on to reach another
 * kind (V8's lockdep report, then the hang it predicts): not findings, but listed for review.
 */
export function alsoReached(input: ReportInput): { record: ResultRecord; kind: string }[] {
  const listed = new Set(findingEntries(input).map((e) => e.record));
  return input.results
    .filter((r) => isNewModel(r.variant) && !listed.has(r) && r.asExpected)
    .flatMap((r) =>
      violationsOf(r)
        .slice(1)
        .map((v) => ({ record: r, kind: v.kind })),
    );
}

/**
 * The candidate core fixes of a finding: the committed core-patch evaluations in which this
 * run is fixed, with what the patch does to every other driver (the evidence a patch mail needs).
 */
function candidateFixes(r: ResultRecord, patches: readonly CorePatchEvaluation[]): string[] {
  return patches
    .filter((p) =>
      p.runs.some(
        (x) =>
          x.driver === r.driver &&
          x.variant === r.variant &&
          x.scenario === r.scenario &&
          x.outcome === "fixed",
      ),
    )
    .map((p) => {
      const n = (o: string) => p.counts[o] ?? 0;
      return (
        `**Candidate fix:** the core patch [${code(p.core.id)}](${p.page.replace(/^reports\//, "")}) ` +
        `(${code(p.core.module)}): ${p.core.description}. Evaluated on every driver's scenarios, all variants, ` +
        `against the merged core: ${n("fixed")} fixed, ${n("regression")} regressions, ${n("same bug")} same bug, ` +
        `${n("same")} same${p.regressed ? "" : " — it breaks no driver the scenarios cover"}.`
      );
    });
}

function entry(e: FindingEntry, docs?: DocsIndex, patches: readonly CorePatchEvaluation[] = []): string {
  const r = e.record;
  const v = violationsOf(r).find((x) => x.kind === e.kind);
  const head = `## ${r.driver}: ${r.scenario} on ${r.variant}: ${e.kind}`;
  const blocks = [head];
  if (v === undefined) {
    blocks.push(
      `${UNEXPECTED} The expectation records a finding, but this run reached no violation ` +
        `(${int(r.executions)} executions under ${r.strategy}).`,
    );
  }
  if (e.finding !== null) {
    blocks.push(linkText(e.finding.explanation.trim(), docs, r.driver));
    blocks.push(
      ["**The kernel lines that cause it:**", ...e.finding.lines.map((l) => `- ${code(l)}`)].join("\n"),
    );
    blocks.push(`**In later kernels:** ${linkText(e.finding.later.trim(), docs, r.driver)}`);
    blocks.push(...candidateFixes(r, patches));
  } else {
    blocks.push(
      `${UNEXPECTED} Unexplained: no finding is recorded for this. ` +
        (v !== undefined && r.verdict === v.kind
          ? `The expected verdict is ${r.expected ?? "not stated"}.`
          : `The run's verdict is ${r.verdict}, the finding above; the exploration went on and reached this too.`) +
        " Read the race below, and record what the kernel lines say in the scenario's expectation.",
    );
  }
  if (r.expectedRef !== null) blocks.push(`Reference: ${linkRef(r.expectedRef, r.driver, docs)}.`);
  if (v !== undefined) {
    blocks.push(`> ${code(v.message.replace(/\s+/g, " "))}`);
    if (v.trace !== null && v.trace.length > 0) {
      blocks.push(
        `The race, shortened (the whole trace is in the [counterexample](${counterexampleLink(r, true, v.kind)}) ` +
          `on the ${r.driver} page, "${counterexampleHeading(r, v.kind)}"):`,
        ["```text", raceColumns(raceSlice(v.trace, { message: v.message })), "```"].join("\n"),
      );
    }
    blocks.push(["```sh", `npm run mnlab -- replay ${v.replay}`, "```"].join("\n"));
  }
  return blocks.join("\n\n");
}

export function findingsPage(input: ReportInput): string {
  const entries = findingEntries(input);
  return page([
    "# Findings: what the 5.5 models show that the merged kernel was meant not to have",
    "[← index](README.md)",
    "A finding is a violation a 5.5 (`interval`) model reaches although the series that merged it meant the " +
      "kernel not to have it. Each is kept, not tuned away: the scenario's expectation records it, with the " +
      "kernel lines (file, function, version) that cause it and what later kernels changed there, as far as " +
      "the record says. A 5.5 verdict no expectation foresees is listed too, marked " +
      `${UNEXPECTED} unexplained, and so is any other kind a finding's exploration reached. Each entry ends ` +
      "with the command that replays its counterexample.",
    entries.length === 0
      ? "No 5.5 model shows a violation the merged kernel was meant not to have."
      : entries
          .map(
            (e) =>
              `- [${e.record.driver}: ${e.record.scenario} on ${e.record.variant}: ${e.kind}](#${anchorOf(e)})`,
          )
          .join("\n"),
    ...entries.map((e) => entry(e, input.docs, input.corePatches)),
    alsoSection(input),
    corePatchesSection(input.corePatches ?? []),
  ]);
}

/**
 * Every committed core-patch evaluation (reports/data/core-patches/*.json), whether or not it
 * fixes a finding above: candidate fixes, and designs evaluated to show why they were not merged.
 */
function corePatchesSection(patches: readonly CorePatchEvaluation[]): string {
  if (patches.length === 0) return "";
  const n = (p: CorePatchEvaluation, o: string) => p.counts[o] ?? 0;
  return [
    "## Core patches evaluated",
    "Each committed evaluation of a change to the notifier core (`mnlab evaluate --core`): every driver's " +
      "scenarios, all variants, on the merged core and on the patched one. Some are candidate fixes of a " +
      "finding above; others are designs from the record, evaluated to show what they would have done.",
    patches
      .map(
        (p) =>
          `- [${code(p.core.id)}](${p.page.replace(/^reports\//, "")}) (${code(p.core.module)}): ${p.core.description}. ` +
          `${n(p, "fixed")} fixed, ${n(p, "regression")} regressions, ${n(p, "same bug")} same bug, ${n(p, "same")} same` +
          `${p.regressed ? "." : " — no regression."}`,
      )
      .join("\n"),
  ].join("\n\n");
}

function alsoSection(input: ReportInput): string {
  const also = alsoReached(input);
  if (also.length === 0) return "";
  return [
    "## Also reached by 5.5 runs with their documented verdict",
    "Not findings: each run's verdict is the one its reference documents for 5.5, and the exploration, going " +
      "on, reached another kind too — often the hang a lockdep report predicts. Listed so that nothing a 5.5 " +
      "model does is left unread.",
    also
      .map(
        ({ record: r, kind }) =>
          `- ${r.driver}: ${r.scenario} on ${r.variant}: ${r.verdict}, then ` +
          `[${kind}](${counterexampleLink(r, true, kind)})` +
          (r.expectedRef === null ? "" : ` (reference: ${linkRef(r.expectedRef, r.driver, input.docs)})`),
      )
      .join("\n"),
  ].join("\n\n");
}

function anchorOf(e: FindingEntry): string {
  return anchor(`${e.record.driver}: ${e.record.scenario} on ${e.record.variant}: ${e.kind}`);
}
