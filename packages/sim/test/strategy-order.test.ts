// Iterative context bounding and PCT's learned k: the order schedules are run in, what is
// learned, and that each stays deterministic. The portfolio's order: portfolio.test.ts.
import { describe, expect, it } from "vitest";
import { ExhaustiveStrategy, explore, PctStrategy, replay } from "../src/index.ts";
import { allRuns, tornRead, writers } from "./helpers.ts";

const threeWriters = writers(3);

describe("exhaustive search, bound by bound", () => {
  it("runs every schedule with b preemptions only after all with fewer", async () => {
    const { r, runs } = await allRuns(threeWriters, new ExhaustiveStrategy(2));
    expect(r.exhausted).toBe(true);
    const p = runs.map((o) => o.preemptions);
    for (let i = 1; i < p.length; i++) expect(p[i]!).toBeGreaterThanOrEqual(p[i - 1]!);
    expect(new Set(p)).toEqual(new Set([0, 1, 2]));
    expect(r.strategy.params).toMatchObject({ order: "iterative", boundsCompleted: 2 });
  });

  it("runs the same schedules as the depth-first walk, each exactly once", async () => {
    const icb = await allRuns(threeWriters, new ExhaustiveStrategy(2));
    const dfs = await allRuns(threeWriters, new ExhaustiveStrategy(2, { order: "depth-first" }));
    expect(dfs.r.exhausted).toBe(true);
    expect(new Set(icb.lists).size).toBe(icb.lists.length);
    expect(new Set(dfs.lists).size).toBe(dfs.lists.length);
    expect([...icb.lists].sort()).toEqual([...dfs.lists].sort());
    // The depth-first walk mixes bounds: it is not ordered by preemptions.
    const p = dfs.runs.map((o) => o.preemptions);
    expect(p.some((v, i) => i > 0 && v < p[i - 1]!)).toBe(true);
  });

  it("cut short inside bound b, it has run every schedule with fewer than b (boundsCompleted b-1)", async () => {
    const full = await allRuns(threeWriters, new ExhaustiveStrategy(2));
    const upTo1 = full.runs.filter((o) => o.preemptions <= 1).length;
    const s = new ExhaustiveStrategy(2);
    const cut = await allRuns(threeWriters, s, upTo1 + 3);
    expect(cut.r.exhausted).toBe(false);
    expect(s.boundsCompleted).toBe(1);
    expect(s.currentBound).toBe(2);
    const ran = new Set(cut.lists);
    for (const [i, o] of full.runs.entries())
      if (o.preemptions <= 1) expect(ran.has(full.lists[i]!)).toBe(true);
  });

  it("the first failure it finds has the fewest preemptions of any failing schedule, and replays", async () => {
    const dfs = await allRuns(tornRead, new ExhaustiveStrategy(3, { order: "depth-first" }));
    const least = Math.min(...dfs.runs.filter((o) => o.failure !== null).map((o) => o.preemptions));
    const r = await explore(tornRead, { strategy: new ExhaustiveStrategy(3), executions: 100_000 });
    expect(r.failure?.kind).toBe("torn-read");
    const first = await allRuns(tornRead, new ExhaustiveStrategy(3), r.firstFailureAt!);
    expect(first.runs.at(-1)!.failure?.kind).toBe("torn-read");
    expect(first.runs.at(-1)!.preemptions).toBe(least);
    expect((await replay(tornRead, r.replay!)).failure?.kind).toBe("torn-read");
    // And no later than the depth-first walk at the same bound.
    const dfsFirst = dfs.runs.findIndex((o) => o.failure !== null) + 1;
    expect(r.firstFailureAt!).toBeLessThanOrEqual(dfsFirst);
  });

  it("a bound reported clean is clean at every smaller one: bound 0 then 1 as prefixes", async () => {
    const b1 = await allRuns(threeWriters, new ExhaustiveStrategy(1));
    const b0 = await allRuns(threeWriters, new ExhaustiveStrategy(0));
    expect(b1.lists.slice(0, b0.lists.length)).toEqual(b0.lists);
  });
});

describe("PCT learns k", () => {
  it("the first execution draws no change point; later ones draw over the most steps seen", async () => {
    const s = new PctStrategy(5, 3);
    expect(s.k).toBe(0);
    const steps: number[] = [];
    const ks: number[] = [];
    await explore(tornRead, {
      strategy: {
        name: "probe",
        get seed() {
          return s.seed;
        },
        beginExecution: (i) => {
          ks.push(s.k);
          return s.beginExecution(i);
        },
        pickThread: (e, c, st) => s.pickThread(e, c, st),
        pickData: (n) => s.pickData(n),
        endExecution: (o) => {
          steps.push(o.steps);
          s.endExecution(o);
        },
        describe: () => s.describe(),
      },
      executions: 30,
      stopOnFailure: false,
      shrink: false,
    });
    expect(ks[0]).toBe(0);
    for (let i = 1; i < ks.length; i++) expect(ks[i]).toBe(Math.max(...steps.slice(0, i)));
    const d = s.describe();
    expect(d.params).toMatchObject({ kRule: "learned", kLearned: Math.max(...steps) });
    expect(d.pctBound?.k).toBe(ks.at(-1));
    expect(d.pctBound?.probability).toBe(1 / (d.pctBound!.n * d.pctBound!.k ** 2));
  });

  it("learn: false keeps k at expectedSteps (default 100) or above", () => {
    expect(new PctStrategy(1, 2, undefined, { learn: false }).k).toBe(100);
    expect(new PctStrategy(1, 2, 15).k).toBe(15);
  });

  it("is deterministic: the same seed gives the same decision lists", async () => {
    const a = await allRuns(tornRead, new PctStrategy(9, 2), 40);
    const b = await allRuns(tornRead, new PctStrategy(9, 2), 40);
    expect(a.lists).toEqual(b.lists);
  });
});
