/**
 * The race in a screenful: of a counterexample's steps, the part a kernel developer would
 * put in a mail — from where the threads start to interact to the violation, on the objects
 * more than one of them touches — with everything before it folded into one "set up" line
 * per thread. The whole trace is drawn too (folded away on the page); this is the summary.
 *
 * The rules, in order:
 *   1. Setup: every step before the second thread's first step is single-threaded and so
 *      setup, whoever took it.
 *   2. The window opens at the first run of one thread's steps (after the setup) whose thread
 *      runs again after another thread ran: that is where the threads interleave. When none
 *      does (the threads ran one after the other, as in a lock-order report found without a
 *      preemption), it opens where the setup ends. A thread's steps before the window fold
 *      into its set-up line: the kernel functions it called, in order.
 *   3. The shared objects are those two threads or more of the ones acting in the window
 *      touch (locks, sequence counts, wait queues, the page table, the device's page table),
 *      counting their steps before the window too. In the window a step stays when it is on a
 *      shared object, when it blocks, when it is a thread's outermost call (the entry point
 *      the reader follows), when it names a value (an address, a pfn) the violation names, or
 *      when it is the violation itself — but not a return (its call says it) nor a spinlock
 *      taken or released without anyone waiting (what it protects stays); before the window, a racing thread's steps on shared
 *      objects stay (a lock taken early and contended later). The racing threads are those
 *      with a step on a shared object, a block, or the violation, in the window.
 */
import type { TraceEvent } from "@mnlab/sim";
import { type ColumnRow, columnsText, interleavingSteps, type Step, threadsOf } from "./interleaving.ts";
import { LINE_WIDTH, wrap } from "./wrap.ts";

export interface RaceThread {
  id: number;
  name: string;
  /** Its column number in the whole trace's drawing ("CPU n"), so both drawings agree. */
  cpu: number;
}

export interface RaceSlice {
  /** Every thread of the trace, in order of appearance. */
  all: RaceThread[];
  /** The racing threads, in the same order. */
  threads: RaceThread[];
  /** Per thread with steps before the window: the kernel functions it called there. */
  setup: { thread: RaceThread; calls: string[] }[];
  /** The steps kept, in trace order. */
  steps: Step[];
  /** Objects more than one thread touches in the window. */
  objects: string[];
  /** Steps of the window left out (on objects one thread alone touches). */
  omitted: number;
  /** Steps of the whole trace. */
  total: number;
}

const HEX = /0x[0-9a-f]+/g;
const SPINLOCK = /^(raw_)?spin_(un)?lock|^spin_trylock/;

function segments(steps: readonly Step[], from: number): { thread: number; start: number }[] {
  const out: { thread: number; start: number }[] = [];
  for (let i = from; i < steps.length; i++) {
    if (out.length === 0 || out[out.length - 1]!.thread !== steps[i]!.thread)
      out.push({ thread: steps[i]!.thread, start: i });
  }
  return out;
}

/** Up to `max` distinct names, then how many more: one line's worth. */
function listOf(names: string[], max = 4): string[] {
  const distinct = [...new Set(names)];
  return distinct.length <= max ? distinct : [...distinct.slice(0, max), `and ${distinct.length - max} more`];
}

export function raceSlice(trace: readonly TraceEvent[], opts: { message?: string } = {}): RaceSlice {
  const steps = interleavingSteps(trace);
  const all = threadsOf(steps).map((t, cpu) => ({ ...t, cpu }));
  const first = all[0];
  const second = all[1];
  const setupEnd = second === undefined ? 0 : steps.findIndex((s) => s.thread === second.id);

  // 2. Where the threads start to interleave.
  const segs = segments(steps, setupEnd);
  let start = setupEnd;
  for (const [k, seg] of segs.entries()) {
    if (segs.slice(k + 2).some((later) => later.thread === seg.thread)) {
      start = seg.start;
      break;
    }
  }
  if (first === undefined)
    return { all, threads: [], setup: [], steps: [], objects: [], omitted: 0, total: 0 };

  // 3. Shared objects: touched by two threads or more of those that act in the window (their
  // earlier steps count too: a lock taken before the window and contended in it is shared).
  const inWindow = new Set(steps.slice(start).map((s) => s.thread));
  const touchers = new Map<string, Set<number>>();
  const touchedInWindow = new Set<string>();
  for (const [i, s] of steps.entries()) {
    if (s.object === undefined || !inWindow.has(s.thread)) continue;
    if (!touchers.has(s.object)) touchers.set(s.object, new Set());
    touchers.get(s.object)!.add(s.thread);
    if (i >= start) touchedInWindow.add(s.object);
  }
  const objects = [...touchers].filter(([o, t]) => t.size > 1 && touchedInWindow.has(o)).map(([o]) => o);
  const shared = new Set(objects);
  const onShared = (s: Step) => s.object !== undefined && shared.has(s.object);
  const window = steps.slice(start);
  const named = new Set(
    [opts.message ?? "", ...window.filter((s) => s.kind === "fail").map((s) => s.text)].flatMap(
      (m) => m.match(HEX) ?? [],
    ),
  );
  const racing = new Set(
    window.filter((s) => s.kind === "fail" || s.kind === "block" || onShared(s)).map((s) => s.thread),
  );
  const keepInWindow = (s: Step): boolean => {
    if (!racing.has(s.thread)) return false;
    if (s.kind === "fail" || s.kind === "block") return true;
    // A return repeats its call; a spinlock that did not make anyone wait is a few
    // instructions around what it protects, and what it protects stays.
    if (s.kind === "ret" || (s.kind === "op" && SPINLOCK.test(s.op))) return false;
    if (onShared(s)) return true;
    if (s.kind === "call" && s.depth === 0) return true;
    if (s.kind === "op" || s.kind === "note") return (s.text.match(HEX) ?? []).some((h) => named.has(h));
    return false;
  };
  // Before the window, a racing thread keeps its steps on shared objects (and not its calls).
  const keepBefore = (s: Step): boolean =>
    racing.has(s.thread) && s.kind !== "call" && s.kind !== "ret" && onShared(s);
  const kept = steps.filter((s, i) => (i < start ? keepBefore(s) : keepInWindow(s)));

  const setup: RaceSlice["setup"] = [];
  for (const t of all) {
    const before = steps.slice(0, start).filter((s) => s.thread === t.id && !keepBefore(s));
    if (before.length === 0) continue;
    const calls = before.filter((s) => s.kind === "call").map((s) => s.op);
    setup.push({ thread: t, calls: listOf(calls.length > 0 ? calls : before.map((s) => s.op)) });
  }
  return {
    all,
    threads: all.filter((t) => racing.has(t.id)),
    setup,
    steps: kept,
    objects,
    omitted: window.length - window.filter(keepInWindow).length,
    total: steps.length,
  };
}

/** "set up: nouveau_svmm_init, hmm_mirror_register" */
export function setupLine(calls: string[]): string {
  return `set up: ${calls.join(", ")}`;
}

/**
 * The race slice as CPU columns, one per racing thread (numbered as in the whole trace), the
 * set-up lines first — one per thread, in its column for a racing thread, above the columns
 * for one that only set up.
 */
export function raceColumns(slice: RaceSlice, width = LINE_WIDTH): string {
  const col = new Map(slice.threads.map((t, i) => [t.id, i]));
  const above: string[] = [];
  const rows: ColumnRow[] = [];
  for (const s of slice.setup) {
    const c = col.get(s.thread.id);
    const text = setupLine(s.calls);
    if (c === undefined) above.push(`CPU ${s.thread.cpu} (${s.thread.name}) ${text}`);
    else rows.push({ col: c, depth: 0, text });
  }
  for (const s of slice.steps) rows.push({ col: col.get(s.thread)!, depth: s.depth, text: s.text });
  const header = slice.threads.map((t) => `CPU ${t.cpu} (${t.name})`);
  const body = header.length === 0 ? "" : columnsText(header, rows, width);
  const wrapped = above.flatMap((l) => wrap(l, width));
  return [...wrapped, ...(wrapped.length > 0 && body !== "" ? [""] : []), body]
    .join("\n")
    .replace(/\n+$/, "");
}
