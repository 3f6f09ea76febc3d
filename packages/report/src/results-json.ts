/**
 * The results document: what `mnlab test --json` prints and reports/data/results.json holds
 * (packages/cli/schema/results.schema.json describes it). Records carry no wall-clock figure,
 * so the bytes follow from the seeds and budgets alone.
 *
 * Printed with two-space indentation, except that an object or array holding only scalars
 * stays on one line — a trace is one event per line, which keeps the file readable and its
 * diffs small.
 */
import type { ResultRecord } from "@mnlab/core";

export const RESULTS_SCHEMA = "mnlab-results/1";

export interface ResultsDocument {
  schema: typeof RESULTS_SCHEMA;
  /** Present on the output of `mnlab test --shard i/n`. */
  shard?: { index: number; count: number };
  /** With `shard`: the whole work list ("driver/variant/scenario"), in order, for `mnlab merge`. */
  work?: string[];
  results: ResultRecord[];
}

export function resultsDocument(results: ResultRecord[]): ResultsDocument {
  return { schema: RESULTS_SCHEMA, results };
}

function isLeaf(v: unknown): boolean {
  if (v === null || typeof v !== "object") return true;
  const vals = Array.isArray(v) ? v : Object.values(v);
  return vals.every((x) => x === null || typeof x !== "object");
}

function print(v: unknown, indent: string): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (isLeaf(v)) return JSON.stringify(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) return `[\n${v.map((x) => inner + print(x, inner)).join(",\n")}\n${indent}]`;
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${print(x, inner)}`).join(",\n")}\n${indent}}`;
}

/** Stable text of any JSON value, ending with a newline. */
export function stableJson(v: unknown): string {
  return `${print(v, "")}\n`;
}
