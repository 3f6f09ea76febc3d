// PCT (Burckhardt et al., ASPLOS 2010): a bug of depth d is found by one execution with
// probability at least 1/(n·k^(d-1)). The paper's kind of depth-2 ordering bug: thread A
// stores 1..K to a shared word, thread B loads it once, and the bug is B seeing exactly a
// middle value M — B must run after A's M-th store and before its (M+1)-th.
import { describe, expect, it } from "vitest";
import { explore, PctStrategy, type Program, replay, SharedCell } from "../src/index.ts";
import { runOnce } from "./helpers.ts";

const K = 10;
const M = 5;

function orderingBug(k: number, m: number): Program {
  return async (ex) => {
    const x = new SharedCell(ex, "x", 0);
    const a = ex.spawn("A", async () => {
      for (let i = 1; i <= k; i++) await x.store(i);
    });
    const b = ex.spawn("B", async () => {
      const v = await x.load();
      if (v === m) ex.fail("ordering", `B read the middle value ${v}`);
    });
    await a.join();
    await b.join();
  };
}

describe("PCT on a depth-2 ordering bug", () => {
  it("over many seeds hits at least the bound 1/(n·k) that describe() reports", async () => {
    const executions = 3000;
    const r = await explore(orderingBug(K, M), {
      strategy: new PctStrategy(2010, 2, 1),
      executions,
      stopOnFailure: false,
      shrink: false,
    });
    const bound = r.strategy.pctBound!;
    const rate = r.failures / r.executions;
    console.log(
      `PCT d=2: ${r.failures}/${r.executions} hits, rate ${rate.toFixed(4)}, ` +
        `bound 1/(${bound.n}·${bound.k}) = ${bound.probability.toFixed(4)}`,
    );
    expect(r.executions).toBe(executions);
    // n: main, A and B; k: the most steps any execution took (k was learned from 1).
    expect(bound).toEqual({ n: 3, k: r.steps.max, d: 2, probability: 1 / (3 * r.steps.max) });
    expect(rate).toBeGreaterThanOrEqual(0.7 * bound.probability);
    expect(r.failure?.kind).toBe("ordering");
    expect((await replay(orderingBug(K, M), r.replay!)).failure?.message).toBe("B read the middle value 5");
  });

  it("one execution per seed, k given up front: the per-execution guarantee", async () => {
    const seeds = 3000;
    // The program takes at most 15 steps: K stores, B's load, main's joins and blocks.
    const k = 15;
    let hits = 0;
    let reported: { n: number; k: number; d: number; probability: number } | undefined;
    for (let seed = 0; seed < seeds; seed++) {
      const strategy = new PctStrategy(seed, 2, k);
      const o = await runOnce(orderingBug(K, M), { strategy, record: false });
      expect(o.steps).toBeLessThanOrEqual(k);
      if (o.failure?.kind === "ordering") hits++;
      reported = strategy.describe().pctBound;
    }
    const rate = hits / seeds;
    const bound = 1 / (3 * k);
    console.log(
      `PCT d=2, fresh strategy per seed: ${hits}/${seeds}, rate ${rate.toFixed(4)}, bound ${bound.toFixed(4)}`,
    );
    expect(reported).toEqual({ n: 3, k, d: 2, probability: bound });
    expect(rate).toBeGreaterThanOrEqual(0.7 * bound);
  });

  it("depth 1 (no priority change point) can never hit it", async () => {
    const r = await explore(orderingBug(K, M), {
      strategy: new PctStrategy(7, 1, 15),
      executions: 500,
      stopOnFailure: false,
      shrink: false,
    });
    expect(r.failures).toBe(0);
    expect(r.strategy.pctBound).toMatchObject({ d: 1, probability: 1 / 3 });
  });

  it("the bound shrinks with k: a longer run of stores gives a smaller bound, still met", async () => {
    const r = await explore(orderingBug(2 * K, K), {
      strategy: new PctStrategy(99, 2, 1),
      executions: 3000,
      stopOnFailure: false,
      shrink: false,
    });
    const bound = r.strategy.pctBound!;
    expect(bound.k).toBeGreaterThan(K + 5);
    expect(r.failures / r.executions).toBeGreaterThanOrEqual(0.7 * bound.probability);
  });

  it("rejects a depth below 1", () => {
    expect(() => new PctStrategy(1, 0)).toThrow(/depth must be a positive integer/);
  });
});
