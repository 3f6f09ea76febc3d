/**
 * How a verdict is written on a page: the verdict itself, and a mark when it is not the
 * expected one — the one thing a reader of the matrix looks for. A failing verdict links to
 * its counterexample on the driver page.
 */
import type { ResultRecord } from "@mnlab/core";
import { anchor, int } from "./markdown.ts";

/** The mark set after a verdict that differs from the expected one. */
export const UNEXPECTED = "⚠";

/** Heading of a counterexample on its driver page (its anchor is what links point to). */
export function counterexampleHeading(r: ResultRecord): string {
  return `${r.scenario} on ${r.variant}: ${r.verdict}`;
}

export function counterexampleLink(r: ResultRecord, fromIndex: boolean): string {
  const page = fromIndex ? `${r.driver}.md` : "";
  return `${page}#${anchor(counterexampleHeading(r))}`;
}

/** `stale-access`, `pass`, or `pass ⚠ (expected stale-access)`; failing verdicts linked. */
export function verdictCell(r: ResultRecord, opts: { link?: "index" | "page" } = {}): string {
  const shown =
    r.verdict !== "pass" && r.trace !== null && opts.link !== undefined
      ? `[${r.verdict}](${counterexampleLink(r, opts.link === "index")})`
      : r.verdict;
  if (r.asExpected) return shown;
  return `${shown} ${UNEXPECTED} (expected ${r.expected ?? "nothing stated"})`;
}

/** "2,295" or "—": the execution at which the first violation was found. */
export function firstFound(r: ResultRecord): string {
  return r.firstFailureAt === null ? "—" : int(r.firstFailureAt);
}
