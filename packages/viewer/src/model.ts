/**
 * What the viewer page is given (reports/viewer/data.js): the counterexamples of a results
 * document, each with its trace, the race slice the Markdown pages draw, and the 5.5 run of
 * the same schedule when the report computed one. Plain data, built once at report time;
 * the page only reads it.
 */
import type { ThreadSnapshot, TraceEvent } from "@mnlab/sim";

export const VIEWER_SCHEMA = "mnlab-viewer/1";

/** A thread of a trace, numbered as the Markdown pages number it ("CPU n"). */
export interface ViewerThread {
  id: number;
  name: string;
  cpu: number;
}

/** One execution, drawn in lanes. */
export interface ViewerRun {
  /** `driver/variant/scenario/kind` (the fragment of its link in the Markdown pages). */
  id: string;
  driver: string;
  variant: string;
  scenario: string;
  /** The violation kind, or `pass`. */
  kind: string;
  /** What the failure said; null for a pass. */
  message: string | null;
  /** `mnlab replay` token that re-runs exactly this execution. */
  replay: string;
  /** Index into ViewerData.traces. */
  trace: number;
  threads: ViewerThread[];
  /** Each thread's state when the run stopped, as the runtime recorded it (null for a pass). */
  final: ThreadSnapshot[] | null;
  /** Indices of the trace events the race slice keeps. */
  slice: number[];
  /** Objects more than one racing thread touches (the slice's shared objects). */
  shared: string[];
  /** A line of context: expected or not, first reached at, strategy. */
  note: string;
}

/** Old next to new: a 5.4 counterexample and the 5.5 run of the same scenario. */
export interface ViewerPair {
  /** The 5.4 counterexample's run id. */
  old: string;
  /** The 5.5 run (a `pass` or a violation). */
  next: ViewerRun;
  /** `same-schedule`: the 5.4 decision list replayed on 5.5; `retry-path`: the 5.5 path that retries. */
  how: string;
}

export interface ViewerData {
  schema: typeof VIEWER_SCHEMA;
  runs: ViewerRun[];
  pairs: ViewerPair[];
  /** Traces, each stored once (a record's verdict trace is its first violation's), packed. */
  traces: PackedEvent[][];
}

/**
 * A trace event as `[step, tick, thread, kind, op, object, detail]`, absent fields null and
 * trailing nulls dropped; the thread's name is in the run's thread list. About a third of
 * the size of the event objects, and the data file is committed.
 */
export type PackedEvent = [number, number, number, string, string, (string | null)?, (string | null)?];

export function packEvent(e: TraceEvent): PackedEvent {
  const out: PackedEvent = [e.step, e.tick, e.thread, e.kind, e.op];
  if (e.detail !== undefined) out.push(e.object ?? null, e.detail);
  else if (e.object !== undefined) out.push(e.object);
  return out;
}

export function unpackEvent(p: PackedEvent, names: ReadonlyMap<number, string>): TraceEvent {
  const [step, tick, thread, kind, op, object, detail] = p;
  const e: TraceEvent = {
    step,
    tick,
    thread,
    threadName: names.get(thread) ?? `thread ${thread}`,
    kind: kind as TraceEvent["kind"],
    op,
  };
  if (object !== undefined && object !== null) e.object = object;
  if (detail !== undefined && detail !== null) e.detail = detail;
  return e;
}
