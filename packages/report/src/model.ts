/**
 * What the renderers are given: result records (the harness's, as `mnlab test --json`
 * prints them) and, per driver, the facts its package states about itself, reduced to plain
 * data with repository-relative paths — so a page never depends on where the clone lives.
 */
import type { ExplorationSpec, KernelPatch, ResultRecord, Verdict } from "@mnlab/core";

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
  /** Expected verdict per variant id (and `default`), with the reference that documents it. */
  expected: Record<string, { verdict: Verdict; ref?: string; note?: string }>;
}

export interface DriverSummary {
  name: string;
  title: string;
  design: { legacy: string; interval: string };
  patches: KernelPatch[];
  variants: VariantSummary[];
  scenarios: ScenarioSummary[];
}

export interface ReportInput {
  drivers: DriverSummary[];
  /** In work-list order: driver, scenario, variant. */
  results: ResultRecord[];
  /** reports/data/bench.json as parsed, when the bench programs have written it. */
  bench: unknown | null;
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
