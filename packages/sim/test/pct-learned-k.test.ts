// PCT's learned k (strategy/pct.ts): a livelock's length is the step bound's, not the
// program's, so it does not become the k change points are drawn over.
import { describe, expect, it } from "vitest";
import { explore, PctStrategy, type Program, SharedCell } from "../src/index.ts";

/** One data choice: 1 spins until the step bound (a livelock), 0 runs a few stores and ends. */
const sometimesSpins: Program = async (ex) => {
  const x = new SharedCell(ex, "x", 0);
  const spin = ex.choose(2) === 1;
  const t = ex.spawn("T", async () => {
    for (let i = 0; spin || i < 4; i++) await x.store(i);
  });
  await x.store(-1);
  await t.join();
};

describe("PCT learns k, livelocks aside", () => {
  it("k is the most steps of an execution that ended, not the step bound a livelock ran into", async () => {
    const maxSteps = 200;
    const s = new PctStrategy(17, 3);
    const steps: { steps: number; livelock: boolean }[] = [];
    const r = await explore(sometimesSpins, {
      strategy: s,
      executions: 40,
      maxSteps,
      stopOnFailure: false,
      shrink: false,
      onExecution: (o) => steps.push({ steps: o.steps, livelock: o.failure?.kind === "livelock" }),
    });
    expect(steps.some((x) => x.livelock)).toBe(true);
    const ended = steps.filter((x) => !x.livelock).map((x) => x.steps);
    expect(ended.length).toBeGreaterThan(0);
    // (Had the very first execution livelocked, its length would be all there is to go on.)
    expect(steps[0]!.livelock).toBe(false);
    expect(s.k).toBe(Math.max(...ended));
    expect(s.k).toBeLessThan(maxSteps);
    expect(r.strategy.params.kLearned).toBe(Math.max(...ended));
  });
});
