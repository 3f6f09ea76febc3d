/**
 * A counterexample as kernel developers draw it in mail: one column per thread ("CPU 0 |
 * CPU 1"), one line per step, time running down the page, kernel function names indented
 * by call depth.
 *
 * The trace is the runtime's structured event list; drawing it keeps what a reader follows
 * the race by — calls and returns, operations on shared state, blocking, the failure — and
 * trims what only the runtime needs:
 *   - thread bookkeeping: spawn, exit, the main thread's join on its children;
 *   - a lock taken and released by one thread with nothing of that thread in between and no
 *     other thread touching the lock meanwhile (an uncontended critical section shows nothing);
 *   - a call whose return follows at once is one line, `fn args = ret`; a call whose return
 *     is not in the trace does not indent what follows;
 *   - an operation followed at once by blocking on the same object is one line, `... (blocks)`.
 * Lines are at most LINE_WIDTH (110) characters, what GitHub shows without scrolling: a
 * column too narrow for a step wraps it onto continuation lines (indented four more), never
 * cutting a word.
 */
import type { TraceEvent } from "@mnlab/sim";
import { fitWidths, LINE_WIDTH, length, padEnd, wrap } from "./wrap.ts";

/** One displayed line of the interleaving. */
export interface Step {
  /** Scheduling step of the (first) event it stands for. */
  step: number;
  thread: number;
  threadName: string;
  kind: "call" | "ret" | "op" | "block" | "note" | "fail";
  /** Kernel function, operation or violation kind. */
  op: string;
  /** The object operated on, when there is one. */
  object?: string;
  /** Call nesting depth in its thread at this line. */
  depth: number;
  /** The line's text, without indentation. */
  text: string;
}

/** Call depth shown by indentation; deeper calls line up at this depth. */
export const MAX_DEPTH = 4;

function unlockOf(op: string): string | null {
  if (op === "spin_lock_irqsave") return "spin_unlock_irqrestore";
  if (op.startsWith("down_")) return `up_${op.slice(5)}`;
  if (/(^|_)lock$/.test(op) && !op.endsWith("trylock")) return op.replace(/lock$/, "unlock");
  return null;
}

function describe(e: TraceEvent): string {
  return [e.op, e.object, e.detail].filter((x) => x !== undefined && x !== "").join(" ");
}

function isBookkeeping(e: TraceEvent): boolean {
  if (e.kind === "spawn" || e.kind === "exit") return true;
  if (e.kind === "op" && e.op === "join") return true;
  return e.kind === "block" && e.object?.startsWith("thread ") === true;
}

/** The trimmed, structured steps of a trace, in trace order. */
export function interleavingSteps(trace: readonly TraceEvent[]): Step[] {
  const events = trace.filter((e) => !isBookkeeping(e));
  const drop = new Set<number>();
  const nextOfThread = (i: number): number => {
    for (let j = i + 1; j < events.length; j++) if (events[j]!.thread === events[i]!.thread) return j;
    return -1;
  };

  // Uncontended critical sections: lock, then at once (in that thread) the unlock.
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind !== "op" || e.object === undefined) continue;
    const unlock = unlockOf(e.op);
    if (unlock === null) continue;
    const j = nextOfThread(i);
    if (j < 0) continue;
    const u = events[j]!;
    if (u.kind !== "op" || u.op !== unlock || u.object !== e.object) continue;
    let touched = false;
    for (let m = i + 1; m < j; m++) if (events[m]!.object === e.object) touched = true;
    if (!touched) {
      drop.add(i);
      drop.add(j);
    }
  }

  // The models announce calls but not every return: only a call whose return is in the
  // trace opens a level of indentation; the others are one-line annotations.
  const matched = new Set<number>();
  const open = new Map<number, number[]>();
  events.forEach((e, i) => {
    if (e.kind === "call") open.set(e.thread, [...(open.get(e.thread) ?? []), i]);
    if (e.kind !== "ret") return;
    const stack = open.get(e.thread) ?? [];
    for (let k = stack.length - 1; k >= 0; k--) {
      if (events[stack[k]!]!.op !== e.op) continue;
      matched.add(stack[k]!);
      matched.add(i);
      stack.length = k;
      break;
    }
  });

  const depth = new Map<number, number>();
  const steps: Step[] = [];
  for (let i = 0; i < events.length; i++) {
    if (drop.has(i)) continue;
    const e = events[i]!;
    const d = depth.get(e.thread) ?? 0;
    const base = { step: e.step, thread: e.thread, threadName: e.threadName, op: e.op };
    const withObject = e.object === undefined ? base : { ...base, object: e.object };
    let j = nextOfThread(i);
    while (j >= 0 && drop.has(j)) j = nextOfThread(j);
    const next = j >= 0 ? events[j]! : undefined;
    switch (e.kind) {
      case "call": {
        if (next?.kind === "ret" && next.op === e.op) {
          const ret = next.detail === undefined || next.detail === "" ? "" : ` = ${next.detail}`;
          steps.push({ ...withObject, kind: "call", depth: d, text: `${describe(e)}${ret}` });
          drop.add(j);
        } else {
          steps.push({ ...withObject, kind: "call", depth: d, text: describe(e) });
          if (matched.has(i)) depth.set(e.thread, d + 1);
        }
        break;
      }
      case "ret": {
        const back = matched.has(i) ? Math.max(0, d - 1) : d;
        depth.set(e.thread, back);
        const ret = e.detail === undefined || e.detail === "" ? "" : ` = ${e.detail}`;
        steps.push({ ...withObject, kind: "ret", depth: back, text: `${e.op} returns${ret}` });
        break;
      }
      case "op":
      case "note": {
        if (e.kind === "op" && next?.kind === "block" && next.object === e.object) {
          const timeout = next.detail === undefined ? "" : `, ${next.detail}`;
          steps.push({ ...withObject, kind: "block", depth: d, text: `${describe(e)} (blocks${timeout})` });
          drop.add(j);
        } else {
          steps.push({ ...withObject, kind: e.kind, depth: d, text: describe(e) });
        }
        break;
      }
      case "block":
        steps.push({ ...withObject, kind: "block", depth: d, text: `blocks on ${e.object ?? "?"}` });
        break;
      case "fail":
        steps.push({ ...withObject, kind: "fail", depth: 0, text: `*** ${e.op}` });
        break;
      default:
        break;
    }
  }
  return steps;
}

/** Threads in order of first appearance. */
export function threadsOf(steps: readonly Step[]): { id: number; name: string }[] {
  const out: { id: number; name: string }[] = [];
  for (const s of steps)
    if (!out.some((t) => t.id === s.thread)) out.push({ id: s.thread, name: s.threadName });
  return out;
}

/** One line of a column drawing: a step's text in one column, indented by call depth. */
export interface ColumnRow {
  col: number;
  depth: number;
  text: string;
}

/**
 * Columns as plain text (for a ```text block or a terminal): the header, a rule, then each
 * row in its column, wrapped onto continuation lines so that no line is wider than `total`
 * characters and nothing is cut.
 */
export function columnsText(header: string[], rows: readonly ColumnRow[], total = LINE_WIDTH): string {
  const indentOf = (d: number) => "  ".repeat(Math.min(d, MAX_DEPTH));
  const natural = header.map((h, i) =>
    Math.max(length(h), ...rows.filter((r) => r.col === i).map((r) => length(indentOf(r.depth) + r.text))),
  );
  const widths = fitWidths(natural, total, 3);
  const row = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : padEnd(c, widths[i]!)))
      .join(" | ")
      .replace(/\s+$/, "");
  const lines: string[] = [];
  const headerCells = header.map((h, i) => wrap(h, widths[i]!));
  const headerHeight = Math.max(...headerCells.map((c) => c.length));
  for (let k = 0; k < headerHeight; k++) lines.push(row(headerCells.map((c) => c[k] ?? "")));
  lines.push(widths.map((w) => "-".repeat(w)).join("-+-"));
  for (const r of rows) {
    for (const piece of wrap(r.text, widths[r.col]!, indentOf(r.depth))) {
      const cells = header.map(() => "");
      cells[r.col] = piece;
      lines.push(row(cells));
    }
  }
  return lines.join("\n");
}

/**
 * The whole trace as CPU columns: a header naming each column's thread, a rule, then one
 * line per step in the column of the thread that took it (and its continuation lines).
 */
export function cpuColumns(trace: readonly TraceEvent[], opts: { width?: number } = {}): string {
  const steps = interleavingSteps(trace);
  const threads = threadsOf(steps);
  const col = new Map(threads.map((t, i) => [t.id, i]));
  return columnsText(
    threads.map((t, i) => `CPU ${i} (${t.name})`),
    steps.map((s) => ({ col: col.get(s.thread)!, depth: s.depth, text: s.text })),
    opts.width ?? LINE_WIDTH,
  );
}
