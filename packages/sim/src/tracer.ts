/**
 * The event trace of one execution (replays and shrinking record it; plain exploration does
 * not, and then every call here is free). An operation is logged when the thread performs it
 * — when it is next handed the turn — not when it announces it, so the trace reads in the
 * order things happened.
 */
import type { SimThread } from "./thread.ts";
import type { TraceEvent, TraceEventKind } from "./trace.ts";

export class Tracer {
  readonly events: TraceEvent[] | null;

  constructor(record: boolean) {
    this.events = record ? [] : null;
  }

  /** Remember the operation `t` announces at its point, to log once it performs it. */
  announce(t: SimThread, op: string, object: string | undefined, detail: string | undefined): void {
    if (this.events !== null) t.pendingOp = { op, object, detail };
  }

  /** Log the operation `t` announced, now that it has the turn. */
  performed(t: SimThread, step: number, tick: number): void {
    const p = t.pendingOp;
    if (p === null) return;
    t.pendingOp = null;
    this.emit(t, step, tick, "op", p.op, p.object, p.detail);
  }

  emit(
    t: SimThread,
    step: number,
    tick: number,
    kind: TraceEventKind,
    op: string,
    object?: string,
    detail?: string,
  ): void {
    if (this.events === null) return;
    const e: TraceEvent = { step, tick, thread: t.id, threadName: t.name, kind, op };
    if (object !== undefined) e.object = object;
    if (detail !== undefined) e.detail = detail;
    this.events.push(e);
  }
}
