/**
 * The event trace: structured records, so that reports can draw them (two-column CPU
 * interleavings, Mermaid sequence diagrams) rather than parse strings.
 */

export type TraceEventKind =
  | "op" // an operation on shared state (lock, load, wake...) — a scheduling point
  | "block" // the thread blocked on an object
  | "call" // a modelled kernel function was entered (annotation, not a scheduling point)
  | "ret" // it returned
  | "note" // free annotation from a model
  | "spawn"
  | "exit"
  | "fail";

export interface TraceEvent {
  /** Scheduling step at which it happened (monotonic within an execution). */
  step: number;
  /** Virtual time, in ticks. */
  tick: number;
  thread: number;
  threadName: string;
  kind: TraceEventKind;
  /** Operation or kernel function name, e.g. `mutex_lock`, `mmu_interval_read_begin`. */
  op: string;
  /** The object operated on, e.g. `svmm->mutex`. */
  object?: string;
  /** Values: loaded value, returned error code, the range... */
  detail?: string;
}

/** One line per event, stable: what determinism checks compare byte for byte. */
export function formatEvent(e: TraceEvent): string {
  const obj = e.object === undefined ? "" : ` ${e.object}`;
  const det = e.detail === undefined ? "" : ` ${e.detail}`;
  return `#${e.step} t=${e.tick} [${e.thread}:${e.threadName}] ${e.kind} ${e.op}${obj}${det}`;
}

export function formatTrace(events: readonly TraceEvent[]): string {
  return events.map(formatEvent).join("\n");
}
