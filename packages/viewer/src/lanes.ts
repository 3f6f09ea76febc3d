/**
 * A trace as lanes: one lane per thread, one row per event, time running down. Unlike the
 * Markdown drawing (which trims a trace to what a mail would show), the viewer keeps every
 * event — the state panel needs them all — and marks the runtime's own bookkeeping (spawn,
 * exit, join) so the page can dim it.
 *
 * Call depth follows the same rule as the CPU columns of the reports: the models announce
 * calls but not every return, so only a call whose return is in the trace opens a level;
 * the others are one-line annotations at their caller's depth.
 */
import type { TraceEvent } from "@mnlab/sim";
import type { ViewerThread } from "./model.ts";

export interface LaneRow {
  /** Index of the event in the trace. */
  index: number;
  /** Lane (column) of its thread. */
  lane: number;
  depth: number;
  /** Runtime bookkeeping rather than kernel work. */
  bookkeeping: boolean;
  /** The line as the reports write it: op, object, detail. */
  text: string;
}

export function isBookkeeping(e: TraceEvent): boolean {
  if (e.kind === "spawn" || e.kind === "exit") return true;
  if (e.kind === "op" && e.op === "join") return true;
  return e.kind === "block" && e.object?.startsWith("thread ") === true;
}

export function eventText(e: TraceEvent): string {
  if (e.kind === "fail") return `*** ${e.op}: ${e.detail ?? ""}`.replace(/: $/, "");
  if (e.kind === "block")
    return `blocks on ${e.object ?? "?"}${e.detail === undefined ? "" : `, ${e.detail}`}`;
  if (e.kind === "ret")
    return `${e.op} returns${e.detail === undefined || e.detail === "" ? "" : ` = ${e.detail}`}`;
  return [e.op, e.object, e.detail].filter((x) => x !== undefined && x !== "").join(" ");
}

/** Each event's lane and call depth. */
export function laneRows(trace: readonly TraceEvent[], threads: readonly ViewerThread[]): LaneRow[] {
  const lane = new Map(threads.map((t, i) => [t.id, i]));
  const matched = new Set<number>();
  const open = new Map<number, number[]>();
  trace.forEach((e, i) => {
    if (e.kind === "call") open.set(e.thread, [...(open.get(e.thread) ?? []), i]);
    if (e.kind !== "ret") return;
    const stack = open.get(e.thread) ?? [];
    for (let k = stack.length - 1; k >= 0; k--) {
      if (trace[stack[k]!]!.op !== e.op) continue;
      matched.add(stack[k]!);
      matched.add(i);
      stack.length = k;
      break;
    }
  });
  const depth = new Map<number, number>();
  return trace.map((e, index) => {
    let d = depth.get(e.thread) ?? 0;
    if (e.kind === "ret" && matched.has(index)) {
      d = Math.max(0, d - 1);
      depth.set(e.thread, d);
    }
    if (e.kind === "call" && matched.has(index)) depth.set(e.thread, d + 1);
    return {
      index,
      lane: lane.get(e.thread) ?? 0,
      depth: e.kind === "fail" ? 0 : d,
      bookkeeping: isBookkeeping(e),
      text: eventText(e),
    };
  });
}
