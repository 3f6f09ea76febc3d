/**
 * The viewer's data from a results document: every counterexample (each violation kind a
 * record reached), and, for old next to new, the 5.5 run of each scenario where 5.4 fails.
 *
 * Two things come from @mnlab/report, handed in by the caller rather than imported: the race
 * slice (so the viewer's "race slice" filter is exactly the slice the Markdown pages draw) and
 * the fragment of a counterexample's link (so the links the pages print are the ids the viewer
 * looks up). The viewer sits beside the report package, not above or below it: neither
 * imports the other, and the command that renders both (`mnlab report`) wires them together.
 */
import type { ResultRecord } from "@mnlab/core";
import type { ThreadSnapshot, TraceEvent } from "@mnlab/sim";
import {
  packEvent,
  VIEWER_SCHEMA,
  type ViewerData,
  type ViewerPair,
  type ViewerRun,
  type ViewerThread,
} from "./model.ts";

/** The part of @mnlab/report's race slice the viewer uses. */
export interface RaceSliceLike {
  all: { id: number; name: string; cpu: number }[];
  steps: { step: number; thread: number; kind: string; op: string; object?: string }[];
  objects: string[];
}

/** What the viewer needs from the report package (see the file comment). */
export interface ViewerDeps {
  raceSlice(trace: readonly TraceEvent[], opts: { message?: string }): RaceSliceLike;
  /** `driver/variant/scenario/kind`, as the Markdown links write it after `#`. */
  viewerFragment(c: { driver: string; variant: string; scenario: string; kind: string }): string;
}

/** The 5.5 run of a scenario where 5.4 fails, as `mnlab report` computes it (report's SameSchedule). */
export interface SameScheduleLike {
  driver: string;
  scenario: string;
  from: string;
  to: string;
  how?: string;
  verdict: string;
  message: string | null;
  replay: string;
  trace: TraceEvent[];
}

export interface ViewerInput {
  results: readonly ResultRecord[];
  sameSchedule?: readonly SameScheduleLike[];
}

interface Violation {
  kind: string;
  firstFailureAt: number | null;
  message: string;
  replay: string;
  trace: TraceEvent[];
  threads: ThreadSnapshot[] | null;
}

/** A record's counterexamples; a record from before `violations` existed has its verdict's. */
function violationsOf(r: ResultRecord): Violation[] {
  const vs = (r as { violations?: Violation[] }).violations;
  if (vs !== undefined && vs.length > 0) return vs.filter((v) => v.trace !== null && v.trace !== undefined);
  if (r.verdict === "pass" || r.trace === null || r.replay === null) return [];
  return [
    {
      kind: r.verdict,
      firstFailureAt: r.firstFailureAt,
      message: r.message ?? "",
      replay: r.replay,
      trace: r.trace,
      threads: r.threads,
    },
  ];
}

/**
 * The slice's steps as trace event indices. A slice step stands for its first event (same
 * scheduling step, thread and operation); a step drawn as one line from two events — a call
 * with its return, an operation with the block that follows it — keeps both.
 */
export function sliceIndices(trace: readonly TraceEvent[], slice: RaceSliceLike): number[] {
  const kept = new Set<number>();
  let from = 0;
  for (const s of slice.steps) {
    let hit = -1;
    for (let i = from; i < trace.length; i++) {
      const e = trace[i]!;
      if (e.step === s.step && e.thread === s.thread && e.op === s.op && !kept.has(i)) {
        hit = i;
        break;
      }
      if (e.step > s.step) break;
    }
    if (hit < 0) continue;
    kept.add(hit);
    from = hit;
    const e = trace[hit]!;
    for (let j = hit + 1; j < trace.length; j++) {
      const n = trace[j]!;
      if (n.thread !== e.thread) continue;
      const joined =
        (e.kind === "call" && n.kind === "ret" && n.op === e.op) ||
        (e.kind === "op" && n.kind === "block" && n.object === e.object);
      if (joined) kept.add(j);
      break;
    }
  }
  return [...kept].sort((a, b) => a - b);
}

/**
 * A `kernel-warn` run whose trace has no failure event (the WARN was reported where it fired,
 * and the run went on) has its violation in the `WARN` note: the slice keeps it, as it keeps
 * a failure event.
 */
function withWarnings(trace: readonly TraceEvent[], kept: number[], kind: string): number[] {
  if (kind !== "kernel-warn" || trace.some((e) => e.kind === "fail")) return kept;
  const warns = trace.flatMap((e, i) => (e.kind === "note" && e.op === "WARN" ? [i] : []));
  return [...new Set([...kept, ...warns])].sort((a, b) => a - b);
}

function threadsOf(trace: readonly TraceEvent[], slice: RaceSliceLike): ViewerThread[] {
  const out: ViewerThread[] = slice.all.map((t) => ({ id: t.id, name: t.name, cpu: t.cpu }));
  for (const e of trace)
    if (!out.some((t) => t.id === e.thread)) out.push({ id: e.thread, name: e.threadName, cpu: out.length });
  return out;
}

export function viewerData(input: ViewerInput, deps: ViewerDeps): ViewerData {
  const traces: ViewerData["traces"] = [];
  const traceIndex = new Map<string, number>();
  const store = (trace: readonly TraceEvent[]): number => {
    const packed = trace.map(packEvent);
    const key = JSON.stringify(packed);
    let i = traceIndex.get(key);
    if (i === undefined) {
      i = traces.length;
      traces.push(packed);
      traceIndex.set(key, i);
    }
    return i;
  };
  const run = (
    c: { driver: string; variant: string; scenario: string; kind: string },
    v: { message: string | null; replay: string; trace: TraceEvent[]; threads: ThreadSnapshot[] | null },
    note: string,
  ): ViewerRun => {
    const slice = deps.raceSlice(v.trace, v.message === null ? {} : { message: v.message });
    return {
      id: deps.viewerFragment(c),
      ...c,
      message: v.message,
      replay: v.replay,
      trace: store(v.trace),
      threads: threadsOf(v.trace, slice),
      final: v.threads,
      slice: withWarnings(v.trace, sliceIndices(v.trace, slice), c.kind),
      shared: slice.objects,
      note,
    };
  };

  const runs: ViewerRun[] = [];
  for (const r of input.results) {
    violationsOf(r).forEach((v, i) => {
      const status =
        i > 0
          ? `also reached after the verdict ${r.verdict}`
          : r.asExpected
            ? `expected${r.expectedRef === null ? "" : ` (${r.expectedRef})`}`
            : `NOT EXPECTED: the expected verdict is ${r.expected ?? "not stated"}`;
      const at = v.firstFailureAt === null ? "" : `, first reached at execution ${v.firstFailureAt}`;
      runs.push(
        run(
          { driver: r.driver, variant: r.variant, scenario: r.scenario, kind: v.kind },
          v,
          `${status}${at} under ${r.strategy}`,
        ),
      );
    });
  }

  const pairs: ViewerPair[] = [];
  for (const s of input.sameSchedule ?? []) {
    const old = input.results.find(
      (r) => r.driver === s.driver && r.scenario === s.scenario && r.variant === s.from,
    );
    const first = old === undefined ? undefined : violationsOf(old)[0];
    if (old === undefined || first === undefined) continue;
    const oldId = deps.viewerFragment({
      driver: s.driver,
      variant: s.from,
      scenario: s.scenario,
      kind: first.kind,
    });
    if (!runs.some((x) => x.id === oldId)) continue;
    const how = s.how ?? "same-schedule";
    const next = run(
      { driver: s.driver, variant: s.to, scenario: s.scenario, kind: s.verdict },
      { message: s.message, replay: s.replay, trace: s.trace, threads: null },
      how === "retry-path"
        ? `the 5.4 schedule passes on 5.5 without a collision: the 5.5 path that retries instead`
        : `the 5.4 decision list replayed on 5.5`,
    );
    pairs.push({ old: oldId, next, how });
  }
  return { schema: VIEWER_SCHEMA, runs, pairs, traces };
}
