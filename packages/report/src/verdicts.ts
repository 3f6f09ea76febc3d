/**
 * How a verdict is written on a page: every violation kind the exploration reached — the
 * first is the verdict, and the one compared with the expectation — and a mark when the
 * verdict is not the expected one, the one thing a reader of the matrix looks for. Each kind
 * links to its counterexample on the driver page.
 */
import type { ResultRecord, ViolationRecord } from "@mnlab/core";
import { anchor, int } from "./markdown.ts";

/** The mark set after a verdict that differs from the expected one. */
export const UNEXPECTED = "⚠";

/**
 * The violations of a record, first (the verdict) first. A record written before the field
 * existed has only the first, in its own fields.
 */
export function violationsOf(r: ResultRecord): ViolationRecord[] {
  const listed = (r as Partial<ResultRecord>).violations;
  if (listed !== undefined && listed.length > 0) return listed;
  if (r.verdict === "pass" || r.replay === null) return [];
  return [
    {
      kind: r.verdict,
      firstFailureAt: r.firstFailureAt ?? 0,
      message: r.message ?? "",
      replay: r.replay,
      trace: r.trace,
      threads: r.threads ?? [],
    },
  ];
}

/** Heading of a counterexample on its driver page (its anchor is what links point to). */
export function counterexampleHeading(r: ResultRecord, kind: string = r.verdict): string {
  return `${r.scenario} on ${r.variant}: ${kind}`;
}

export function counterexampleLink(r: ResultRecord, fromIndex: boolean, kind: string = r.verdict): string {
  const page = fromIndex ? `${r.driver}.md` : "";
  return `${page}#${anchor(counterexampleHeading(r, kind))}`;
}

/**
 * `stale-access`, `pass`, `pass ⚠ (expected stale-access)`, or every kind reached —
 * `potential-deadlock + deadlock` — the first being the verdict; failing kinds linked.
 */
export function verdictCell(r: ResultRecord, opts: { link?: "index" | "page" } = {}): string {
  const vs = violationsOf(r);
  const show = (kind: string, traced: boolean) =>
    traced && opts.link !== undefined
      ? `[${kind}](${counterexampleLink(r, opts.link === "index", kind)})`
      : kind;
  const first = show(r.verdict, r.verdict !== "pass" && r.trace !== null);
  const mark = r.asExpected ? "" : ` ${UNEXPECTED} (expected ${r.expected ?? "nothing stated"})`;
  const others = vs.slice(1).map((v) => show(v.kind, v.trace !== null));
  return `${first}${mark}${others.length === 0 ? "" : ` + ${others.join(" + ")}`}`;
}

/** "2,295" or "—": the execution at which the first violation was found. */
export function firstFound(r: ResultRecord): string {
  return r.firstFailureAt === null ? "—" : int(r.firstFailureAt);
}
