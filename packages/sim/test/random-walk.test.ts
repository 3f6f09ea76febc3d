// The random walk's two options (strategy/random.ts): without repeats it is the uniform walk
// conditioned on the schedules not run yet, and with firstStepRuns a thread it just started
// keeps running to its first operation.
import { describe, expect, it } from "vitest";
import { type ExecutionOutcome, ExhaustiveStrategy, type Program, RandomStrategy } from "../src/index.ts";
import { allRuns, writers } from "./helpers.ts";

/** Two threads, two stores each, and one data choice in main: 1364 schedules in all. */
const twoWriters = writers(2);

/** Data choices only: the schedules [0,0], [0,1] and [1], of walk measure 1/4, 1/4 and 1/2. */
const uneven: Program = async (ex) => {
  if (ex.choose(2) === 0) ex.choose(2);
};

describe("random walk without repeats", () => {
  it("runs every schedule exactly once, then has nothing left: the same set exhaustive search runs", async () => {
    const all = await allRuns(twoWriters, new ExhaustiveStrategy(1000), 1_000_000);
    expect(all.r.exhausted).toBe(true);
    const walk = new RandomStrategy(7, { repeats: false });
    const w = await allRuns(twoWriters, walk, 1_000_000);
    expect(walk.isExhausted).toBe(true);
    expect(w.r.executions).toBe(all.r.executions);
    expect(new Set(w.lists).size).toBe(w.lists.length);
    expect([...w.lists].sort()).toEqual([...all.lists].sort());
    // The plain walk repeats itself well before that many executions.
    const plain = await allRuns(twoWriters, new RandomStrategy(7), all.r.executions);
    expect(new Set(plain.lists).size).toBeLessThan(plain.lists.length);
  });

  it("draws from the walk's measure renormalised over the schedules not run", async () => {
    // First execution: the plain walk's measure. Second: the same measure without the first's schedule.
    const seeds = 4000;
    const first: Record<string, number> = {};
    const second: Record<string, Record<string, number>> = {};
    for (let seed = 0; seed < seeds; seed++) {
      const { lists } = await allRuns(uneven, new RandomStrategy(seed, { repeats: false }), 2);
      const [a, b] = lists as [string, string];
      expect(b).not.toBe(a);
      first[a] = (first[a] ?? 0) + 1;
      const s = (second[a] ??= {});
      s[b] = (s[b] ?? 0) + 1;
    }
    const share = (m: Record<string, number>, k: string) =>
      (m[k] ?? 0) / Object.values(m).reduce((x, y) => x + y, 0);
    expect(share(first, "1")).toBeCloseTo(0.5, 1);
    expect(share(first, "0,0")).toBeCloseTo(0.25, 1);
    // After [1] (half the measure): [0,0] and [0,1] equally likely.
    expect(share(second["1"]!, "0,0")).toBeCloseTo(0.5, 1);
    // After [0,0]: [1] with (1/2)/(3/4) = 2/3, [0,1] with 1/3.
    expect(share(second["0,0"]!, "1")).toBeGreaterThan(0.6);
    expect(share(second["0,0"]!, "1")).toBeLessThan(0.73);
  });

  it("does not draw a schedule it was told another strategy ran", async () => {
    const all = await allRuns(twoWriters, new ExhaustiveStrategy(1000), 1_000_000);
    const walk = new RandomStrategy(3, { repeats: false });
    for (const o of all.runs.slice(0, -1)) walk.observe(o);
    expect(walk.isExhausted).toBe(false);
    const w = await allRuns(twoWriters, walk, 10);
    // Only the one schedule not observed is left: it runs, and then nothing.
    expect(w.lists).toEqual([all.lists.at(-1)]);
    expect(walk.isExhausted).toBe(true);
  });

  it("is deterministic: the same seed gives the same decision lists", async () => {
    const mk = () => new RandomStrategy(11, { repeats: false, firstStepRuns: true });
    const a = await allRuns(twoWriters, mk(), 300);
    const b = await allRuns(twoWriters, mk(), 300);
    expect(a.lists).toEqual(b.lists);
  });

  it("rejects a bad maxNodes; a full tree still runs, and records nothing more", async () => {
    expect(() => new RandomStrategy(1, { repeats: false, maxNodes: 0 })).toThrow(/maxNodes/);
    const small = new RandomStrategy(5, { repeats: false, maxNodes: 3 });
    const w = await allRuns(twoWriters, small, 200);
    expect(w.r.executions).toBe(200);
    expect(Number(small.describe().params.schedulesRecorded)).toBeLessThan(200);
  });
});

describe("random walk, firstStepRuns", () => {
  /** Whether choice d is the first point of the thread choice d-1 started (its first pick). */
  function startedBefore(o: ExecutionOutcome, d: number): boolean {
    const c = o.choices[d]!;
    const prev = o.choices[d - 1];
    if (prev === undefined || prev.kind !== "thread" || c.kind !== "thread") return false;
    const earlier = o.choices
      .slice(0, d - 1)
      .flatMap((x) => (x.kind === "thread" ? [x.chosen, x.current] : []));
    const fresh =
      prev.chosen !== prev.current && !earlier.includes(prev.chosen) && prev.current !== prev.chosen;
    return fresh && c.current === prev.chosen && c.step === prev.step + 1;
  }

  it("keeps a thread it just started at its first point; the plain walk draws there", async () => {
    const kept = await allRuns(twoWriters, new RandomStrategy(2, { firstStepRuns: true }), 300);
    const plain = await allRuns(twoWriters, new RandomStrategy(2), 300);
    let starts = 0;
    for (const o of kept.runs)
      for (let d = 1; d < o.choices.length; d++) {
        if (!startedBefore(o, d)) continue;
        starts++;
        expect(o.choices[d]!.chosen).toBe(o.choices[d]!.current);
      }
    expect(starts).toBeGreaterThan(150);
    const preemptedAtStart = plain.runs.some((o) =>
      o.choices.some((c, d) => startedBefore(o, d) && c.chosen !== c.current),
    );
    expect(preemptedAtStart).toBe(true);
  });

  it("without repeats, it runs each schedule of its support once, then stops", async () => {
    const walk = new RandomStrategy(4, { repeats: false, firstStepRuns: true });
    const w = await allRuns(twoWriters, walk, 1_000_000);
    expect(walk.isExhausted).toBe(true);
    expect(new Set(w.lists).size).toBe(w.lists.length);
    const all = await allRuns(twoWriters, new ExhaustiveStrategy(1000), 1_000_000);
    // Its support leaves out the schedules that preempt a thread at its start.
    expect(w.r.executions).toBeLessThan(all.r.executions);
    const every = new Set(all.lists);
    for (const l of w.lists) expect(every.has(l)).toBe(true);
  });
});
