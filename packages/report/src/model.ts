/**
 * What the renderers are given: result records (the harness's, as `mnlab test --json`
 * prints them) and, per driver, the facts its package states about itself, reduced to plain
 * data with repository-relative paths — so a page never depends on where the clone lives.
 */
import type { ExplorationSpec, Finding, KernelPatch, ResultRecord, Verdict } from "@mnlab/core";
import type { TraceEvent } from "@mnlab/sim";

export interface VariantSummary {
  id: string;
  kernel: string;
  files: string[];
  commits: string[];
  summary: string;
  /** Model source, relative to the repository root (a directory ends with "/"). */
  source: string;
  /** Non-blank, non-comment lines of the .ts files under `source`. */
  modelLines: number;
}

export interface ScenarioSummary {
  name: string;
  description: string;
  exploration: ExplorationSpec;
  /** A variant's own exploration where it is not `exploration` (core's Scenario.explorationByVariant). */
  explorationByVariant?: Readonly<Record<string, ExplorationSpec>>;
  /** Expected verdict per variant id (and `default`), with the reference that documents it. */
  expected: Record<string, { verdict: Verdict; ref?: string; note?: string; finding?: Finding }>;
}

export interface DriverSummary {
  name: string;
  title: string;
  design: { legacy: string; interval: string };
  patches: KernelPatch[];
  variants: VariantSummary[];
  scenarios: ScenarioSummary[];
}

/**
 * What the new code does in the old code's schedule: a 5.4 counterexample's decision list
 * replayed on the 5.5 variant (decisions that do not apply there fall back to running the
 * current thread), recorded.
 */
export interface SameSchedule {
  driver: string;
  scenario: string;
  /** The variant whose counterexample gave the schedule (legacy). */
  from: string;
  /** The variant it was replayed on (interval). */
  to: string;
  /**
   * `same-schedule`: the 5.4 decisions replayed on 5.5; `retry-path`: that schedule made no
   * collision, so this is the first 5.5 execution of the scenario whose populate retried.
   */
  how: "same-schedule" | "retry-path";
  /** Its verdict there: pass, or the violation kind. */
  verdict: string;
  message: string | null;
  /** Token of the execution as it ran on `to`: `mnlab replay` re-runs exactly it. */
  replay: string;
  trace: TraceEvent[];
  /** Driver retries (populate_retry) in that execution: the 5.5 path that retries. */
  retries: number;
}

/** reports/data/mutation.json (written by `mnlab mutate`): each variant's mutation score. */
export interface MutationDocument {
  schema: "mnlab-mutation/1";
  drivers: MutationScore[];
}

export interface MutationScore {
  driver: string;
  variant: string;
  mutants: number;
  killed: number;
  survived: number;
  byOperator: { operator: string; generated: number; killed: number; survived: number }[];
  survivors: { id: string; operator: string; location: string; diff: string; note: string }[];
}

/** Anchors a docs/ file defines, by repository-relative path (`docs/core.md`). */
export type DocsIndex = Record<string, string[]>;

export interface ReportInput {
  drivers: DriverSummary[];
  /** In work-list order: driver, scenario, variant. */
  results: ResultRecord[];
  /** reports/data/bench.json as parsed, when the bench programs have written it. */
  bench: unknown | null;
  /** 5.4 counterexamples replayed on 5.5 (the side-by-side view); none when absent. */
  sameSchedule?: SameSchedule[];
  /** reports/data/mutation.json as parsed, when `mnlab mutate` has written it. */
  mutation?: MutationDocument | null;
  /** The docs/ pages and their anchors, so that references link only where they resolve. */
  docs?: DocsIndex;
  /** reports/data/core-patches/*.json, written by `mnlab evaluate --core --json`: candidate core fixes. */
  corePatches?: CorePatchEvaluation[];
}

/** A committed core-patch evaluation, as the findings page links it (the mnlab-core-evaluate/1 document). */
export interface CorePatchEvaluation {
  core: { id: string; description: string; module: string; replaces: string[] };
  /** The evaluation page, relative to the repository root (reports/core-patches/<id>.md). */
  page: string;
  regressed: boolean;
  counts: Record<string, number>;
  runs: { driver: string; variant: string; scenario: string; outcome: string }[];
}

/** The records of one driver. */
export function recordsOf(input: ReportInput, driver: string): ResultRecord[] {
  return input.results.filter((r) => r.driver === driver);
}

/**
 * Variant ids in the order a matrix shows them: legacy, its siblings (`legacy-*`), interval,
 * then the rest (user-written variants) as first seen.
 */
export function variantColumns(ids: Iterable<string>): string[] {
  const seen: string[] = [];
  for (const id of ids) if (!seen.includes(id)) seen.push(id);
  const rank = (id: string) =>
    id === "legacy" ? 0 : id.startsWith("legacy") ? 1 : id === "interval" ? 2 : 3;
  return seen
    .map((id, i) => ({ id, i }))
    .sort((a, b) => rank(a.id) - rank(b.id) || a.i - b.i)
    .map((x) => x.id);
}
