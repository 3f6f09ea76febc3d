// successive-migrations-and-munmap-race-populate is the conformance suite's one shape with three
// invalidations against one populate (issue 22). It is worth its executions only if its default
// exploration reaches what the two-invalidation shapes cannot: both migrations' exclusion periods
// inside one populate pass, all three periods inside one pass, and a period that outlives one of
// its ranges (a thread's two brackets with one cur_seq, kept open by the third range); and, as the
// overlapping shape also does, a retry whose second pass is hit again. This checks, on the textbook
// 5.5 user (whose populate the trace shows step by step), that each is reached at the scenario's
// own bound and nothing breaks there, and that a run without preemptions reaches none of them.
// (Pointed at overlapping-invalidations-race-populate or migrate-then-munmap-at-buffer-edges, the
// first test fails: they reach only the second pass hit again.)
import type { TraceEvent } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { CONFORMANCE, type ConformanceScenario, POPULATE_RETRY } from "../src/index.ts";
import { exploreConformance } from "./support.ts";

const NAME = "successive-migrations-and-munmap-race-populate";

type Shape =
  | "two migrations' periods in one pass"
  | "three periods in one pass"
  | "a period outlives one of its ranges"
  | "second pass hit again";
const SHAPES = 4;

/** The cur_seq an invalidate callback was called with (mn_itree_invalidate's trace detail). */
function curSeq(e: TraceEvent): number {
  const m = /cur_seq=(\d+)/.exec(e.detail ?? "");
  if (m === null) throw new Error(`no cur_seq in ${e.op} ${e.detail ?? ""}`);
  return Number(m[1]);
}

/** One invalidate_range_start .. _end of a CPU thread, and the cur_seq its callback got. */
interface Bracket {
  thread: string;
  seq: number | null;
}

/**
 * The shapes one execution reached. A populate pass runs from the device's read_begin to its
 * read_retry, or to an hmm_range_fault that gives up the pass (-EBUSY from check_retry, or an
 * error); a CPU thread's callback in between landed in that pass.
 */
function shapesOf(trace: readonly TraceEvent[], retries: number): Set<Shape> {
  const out = new Set<Shape>();
  let open = false;
  let inPass: { thread: string; seq: number }[] = [];
  const brackets: Bracket[] = [];
  const openBracket = new Map<string, Bracket>();
  for (const e of trace) {
    if (e.threadName === "device") {
      if (e.kind === "note" && e.op === "mmu_interval_read_begin") {
        open = true;
        inPass = [];
      } else if (e.kind === "note" && e.op === "mmu_interval_read_retry") open = false;
      else if (e.kind === "ret" && e.op === "hmm_range_fault" && e.detail?.startsWith("-")) open = false;
      continue;
    }
    if (e.kind !== "call") continue;
    if (e.op === "mmu_notifier_invalidate_range_start") {
      const b: Bracket = { thread: e.threadName, seq: null };
      brackets.push(b);
      openBracket.set(e.threadName, b);
    } else if (e.op === "mmu_notifier_invalidate_range_end") {
      openBracket.delete(e.threadName);
    } else if (e.op === "mni->ops->invalidate") {
      const seq = curSeq(e);
      const b = openBracket.get(e.threadName);
      if (b !== undefined) b.seq = seq;
      if (!open) continue;
      inPass.push({ thread: e.threadName, seq });
      const migrations = new Set(inPass.filter((c) => c.thread === "migrate").map((c) => c.seq));
      if (migrations.size >= 2) out.add("two migrations' periods in one pass");
      if (new Set(inPass.map((c) => c.seq)).size >= 3) out.add("three periods in one pass");
    }
  }
  // One thread's two brackets in one period: the thread ended its first range before it
  // started its second (program order), so the period (one odd cur_seq) stayed open across
  // that end only because another range was open. One invalidation per thread cannot do this.
  for (const x of brackets) {
    for (const y of brackets) {
      if (x !== y && x.thread === y.thread && x.seq !== null && x.seq === y.seq)
        out.add("a period outlives one of its ranges");
    }
  }
  // Two retries of one populate: its third pass.
  if (retries >= 2) out.add("second pass hit again");
  return out;
}

/** Explore c at bound until every shape was seen (or the bounded space ends). */
async function explored(c: ConformanceScenario, bound: number) {
  const seen = new Set<Shape>();
  const r = await exploreConformance(c, bound, (o) => {
    for (const s of shapesOf(o.trace ?? [], o.counters[POPULATE_RETRY] ?? 0)) seen.add(s);
    return seen.size === SHAPES;
  });
  return { seen, ...r };
}

const scenario = () => {
  const c = CONFORMANCE.find((x) => x.name === NAME);
  if (c === undefined) throw new Error(`no conformance scenario ${NAME}`);
  return c;
};

describe(`${NAME} reaches its three-invalidation shapes`, () => {
  it("at its default bound: two and three periods in one pass, a period outliving a range, a second pass hit again", async () => {
    const c = scenario();
    expect(c.exploration.strategy).toBe("exhaustive");
    const bound = c.exploration.strategy === "exhaustive" ? c.exploration.preemptionBound : -1;
    expect(bound).toBe(1);
    const r = await explored(c, bound);
    expect(r.failures).toEqual([]);
    expect([...r.seen].sort()).toEqual([
      "a period outlives one of its ranges",
      "second pass hit again",
      "three periods in one pass",
      "two migrations' periods in one pass",
    ]);
  });

  it("the shape classifier is not vacuous: a run without preemptions reaches none of them", async () => {
    const r = await explored(scenario(), 0);
    expect(r.failures).toEqual([]);
    expect(r.executions).toBeGreaterThan(1);
    expect([...r.seen]).toEqual([]);
  });
});
