// explore(): budgets, the summary, and what a long exploration keeps in memory.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { ExhaustiveStrategy, explore, type Program, RandomStrategy } from "../src/index.ts";

/** 3 threads × `points` cond_resched points, joined by main. */
function noop(points: number): Program {
  return async (ex) => {
    const hs = [0, 1, 2].map((i) =>
      ex.spawn(`T${i}`, async () => {
        for (let j = 0; j < points; j++) await ex.condResched();
      }),
    );
    for (const h of hs) await h.join();
  };
}

describe("explore", () => {
  it("stops at the execution budget and summarises steps", async () => {
    const r = await explore(noop(10), { strategy: new RandomStrategy(3), executions: 25 });
    expect(r.executions).toBe(25);
    expect(r.failures).toBe(0);
    expect(r.failure).toBeNull();
    expect(r.replay).toBeNull();
    expect(r.exhausted).toBe(false);
    // 30 cond_resched points, 3 joins and at most 3 blocks of main.
    expect(r.steps.min).toBeGreaterThanOrEqual(33);
    expect(r.steps.max).toBeLessThanOrEqual(36);
    expect(r.steps.min).toBeLessThanOrEqual(r.steps.median);
    expect(r.steps.median).toBeLessThanOrEqual(r.steps.max);
  });

  it("stops early when the bounded space is exhausted, and says so", async () => {
    const r = await explore(noop(1), { strategy: new ExhaustiveStrategy(0), executions: 1000 });
    expect(r.exhausted).toBe(true);
    expect(r.executions).toBeLessThan(1000);
    expect(r.maxPreemptions).toBe(0);
  });

  it("does not keep finished executions alive until the exploration ends", async () => {
    // Each execution arms a foreign-await watchdog (an immediate); explorations run in one
    // microtask drain, so an immediate left armed kept every execution reachable (some
    // 40 KB each here) until the drain ended.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    await explore(noop(50), { strategy: new RandomStrategy(1), executions: 2000, shrink: false });
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    console.log(`heap grown over 2000 executions: ${(grown / 1e6).toFixed(1)} MB`);
    expect(grown).toBeLessThan(20e6);
  });
});

describe("a failure its replay does not reproduce", () => {
  it("is reported as found, marked as coming from a program that is not deterministic", async () => {
    let runs = 0;
    // Fails on its first run only: it consults a counter outside the decision list.
    const program: Program = async (ex) => {
      runs++;
      if (runs === 1) ex.fail("oracle", "first run only");
    };
    const r = await explore(program, { strategy: new RandomStrategy(1), executions: 5 });
    expect(r.failure?.kind).toBe("oracle");
    expect(r.failure?.message).toMatch(
      /not reproduced by its replay \(pass instead\): the program is not deterministic/,
    );
    expect(r.failure?.detail?.nondeterministic).toBe(true);
    expect(r.replay).not.toBeNull();
  });
});
