// successive-migrations-and-munmap-race-populate is the conformance suite's one shape with three
// invalidations against one populate (issue 22). It is worth its executions only if its default
// exploration reaches what the two-invalidation shapes cannot: two exclusion periods on the
// buffer's notifier inside one populate pass, a retry whose second pass is hit again, and one
// period holding two callbacks with one cur_seq. This checks, on the textbook 5.5 user (whose
// populate the trace shows step by step), that each is reached at the scenario's own bound and
// that nothing breaks there, and that a run without preemptions reaches none of them.
import { ExhaustiveStrategy, Lockdep, runExecution, type TraceEvent } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { CONFORMANCE, type ConformanceScenario, POPULATE_RETRY, scenarioProgram } from "../src/index.ts";
import { referenceDriver } from "./reference-driver.ts";

const NAME = "successive-migrations-and-munmap-race-populate";

type Shape = "two periods in one pass" | "second pass hit again" | "two callbacks in one period";

/** The cur_seq an invalidate callback was called with (mn_itree_invalidate's trace detail). */
function curSeq(e: TraceEvent): number {
  const m = /cur_seq=(\d+)/.exec(e.detail ?? "");
  if (m === null) throw new Error(`no cur_seq in ${e.op} ${e.detail ?? ""}`);
  return Number(m[1]);
}

/**
 * The shapes one execution reached. A populate pass runs from the device's read_begin to its
 * read_retry, or to an hmm_range_fault that gives up the pass (-EBUSY from check_retry, or an
 * error); a callback of the invalidating threads in between landed in that pass.
 */
function shapesOf(trace: readonly TraceEvent[], retries: number): Set<Shape> {
  const out = new Set<Shape>();
  let open = false;
  let inPass: number[] = []; // cur_seqs of the migrations' callbacks in the open pass
  const migrationSeqs: number[] = [];
  for (const e of trace) {
    if (e.threadName === "device") {
      if (e.kind === "note" && e.op === "mmu_interval_read_begin") {
        open = true;
        inPass = [];
      } else if (e.kind === "note" && e.op === "mmu_interval_read_retry") open = false;
      else if (e.kind === "ret" && e.op === "hmm_range_fault" && e.detail?.startsWith("-")) open = false;
    } else if (e.kind === "call" && e.op === "mni->ops->invalidate" && e.threadName === "migrate") {
      const seq = curSeq(e);
      migrationSeqs.push(seq);
      if (open) inPass.push(seq);
      if (new Set(inPass).size >= 2) out.add("two periods in one pass");
    }
  }
  // The migrations run one after the other in one thread, the first's end before the second's
  // start: one cur_seq for both means the period did not end in between, the munmap's range
  // was open across them.
  if (migrationSeqs.length === 2 && migrationSeqs[0] === migrationSeqs[1])
    out.add("two callbacks in one period");
  // Two retries of one populate: its third pass.
  if (retries >= 2) out.add("second pass hit again");
  return out;
}

/** Explore c at bound until every shape was seen (or the bounded space ends). */
async function explored(c: ConformanceScenario, bound: number) {
  const program = scenarioProgram(referenceDriver("interval"), { ...c, expected: {} });
  const strategy = new ExhaustiveStrategy(bound);
  const seen = new Set<Shape>();
  const failures: string[] = [];
  let executions = 0;
  for (let i = 0; i < 20_000 && strategy.beginExecution(i); i++) {
    const o = await runExecution(program, strategy, new Lockdep(true), 10_000, true);
    strategy.endExecution(o);
    executions++;
    if (o.failure !== null) failures.push(`${o.failure.kind}: ${o.failure.message}`);
    for (const s of shapesOf(o.trace ?? [], o.counters[POPULATE_RETRY] ?? 0)) seen.add(s);
    if (seen.size === 3) break; // seen: the rest of the space is the scenario suites' work
  }
  return { seen, failures, executions };
}

const scenario = () => {
  const c = CONFORMANCE.find((x) => x.name === NAME);
  if (c === undefined) throw new Error(`no conformance scenario ${NAME}`);
  return c;
};

describe(`${NAME} reaches its three-invalidation shapes`, () => {
  it("at its default bound: two periods in one pass, a second pass hit again, two callbacks in one period", async () => {
    const c = scenario();
    expect(c.exploration.strategy).toBe("exhaustive");
    const bound = c.exploration.strategy === "exhaustive" ? c.exploration.preemptionBound : -1;
    expect(bound).toBe(1);
    const r = await explored(c, bound);
    expect(r.failures).toEqual([]);
    expect([...r.seen].sort()).toEqual([
      "second pass hit again",
      "two callbacks in one period",
      "two periods in one pass",
    ]);
  });

  it("the shape classifier is not vacuous: a run without preemptions reaches none of them", async () => {
    const r = await explored(scenario(), 0);
    expect(r.failures).toEqual([]);
    expect(r.executions).toBeGreaterThan(1);
    expect([...r.seen]).toEqual([]);
  });
});
