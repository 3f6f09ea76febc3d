// The portfolio (strategy/portfolio.ts): its member order, that every member runs in it what
// it runs alone, the LEAD + 6·T bound, that the walk never repeats a schedule any member ran,
// and determinism.
import { describe, expect, it } from "vitest";
import {
  ExhaustiveStrategy,
  explore,
  PctStrategy,
  PortfolioStrategy,
  replay,
  type Strategy,
} from "../src/index.ts";
import { deriveSeed } from "../src/rng.ts";
import { LEAD, ROTATION } from "../src/strategy/portfolio.ts";
import { allRuns, tornRead, writers } from "./helpers.ts";

const twoWriters = writers(2);

const WALK = "random walk";
const NAMES = [WALK, "exhaustive b≤2", "pct d=3", "pct d=2"];

describe("portfolio", () => {
  it("runs the walk alone for LEAD executions, then exhaustive, walk, PCT d=3, walk, PCT d=2, walk", async () => {
    expect(LEAD).toBe(16);
    expect(ROTATION).toEqual([1, 0, 2, 0, 3, 0]);
    const s = new PortfolioStrategy({ seed: 3 });
    await allRuns(twoWriters, s, LEAD + 18);
    const order = Array.from({ length: LEAD + 18 }, (_, i) => s.memberAt(i));
    const round = ["exhaustive b≤2", WALK, "pct d=3", WALK, "pct d=2", WALK];
    expect(order).toEqual([...Array<string>(LEAD).fill(WALK), ...round, ...round, ...round]);
    expect(s.memberAt(LEAD + 18)).toBeNull();
    expect(s.counts()).toEqual([
      { member: WALK, executions: LEAD + 9 },
      { member: "exhaustive b≤2", executions: 3 },
      { member: "pct d=3", executions: 3 },
      { member: "pct d=2", executions: 3 },
    ]);
  });

  it("each systematic member runs exactly what it runs alone, its T-th execution by LEAD + 6·T", async () => {
    const n = LEAD + 6 * 40;
    const s = new PortfolioStrategy({ seed: 5 });
    const p = await allRuns(tornRead, s, n);
    const mine = (label: string) => p.lists.filter((_, i) => s.memberAt(i) === label);
    // The members' seeds are derived from the portfolio's as the constructor does.
    const alone: [string, Strategy][] = [
      ["exhaustive b≤2", new ExhaustiveStrategy(2)],
      ["pct d=3", new PctStrategy(deriveSeed(5, -1 - 3), 3)],
      ["pct d=2", new PctStrategy(deriveSeed(5, -1 - 2), 2)],
    ];
    for (const [label, strategy] of alone) {
      const inPortfolio = mine(label);
      expect(inPortfolio.length).toBe(40);
      expect((await allRuns(tornRead, strategy, 40)).lists).toEqual(inPortfolio);
      const at = p.lists.map((_, i) => i).filter((i) => s.memberAt(i) === label);
      for (const [t, i] of at.entries()) expect(i + 1).toBeLessThanOrEqual(LEAD + 6 * (t + 1));
    }
  });

  it("the walk never runs a schedule any member ran before", async () => {
    const s = new PortfolioStrategy({ seed: 9 });
    const p = await allRuns(twoWriters, s, 400);
    const seen = new Set<string>();
    for (const [i, l] of p.lists.entries()) {
      if (s.memberAt(i) === WALK) expect(seen.has(l)).toBe(false);
      seen.add(l);
    }
  });

  it("finds a failure, names the member that did, counts every execution, and its token replays", async () => {
    const s = new PortfolioStrategy({ seed: 3 });
    const r = await explore(tornRead, { strategy: s, executions: 400 });
    expect(r.failure?.kind).toBe("torn-read");
    const by = s.memberAt(r.firstFailureAt! - 1);
    expect(NAMES).toContain(by);
    expect(r.strategy.params.firstFailureBy).toBe(by);
    expect(s.counts().reduce((n, c) => n + c.executions, 0)).toBe(r.executions);
    expect((await replay(tornRead, r.replay!)).failure?.kind).toBe("torn-read");
  });

  it("is deterministic, and goes on with the others once the exhaustive walk is done", async () => {
    const a = await allRuns(twoWriters, new PortfolioStrategy({ seed: 1, preemptionBound: 0 }), 600);
    const b = await allRuns(twoWriters, new PortfolioStrategy({ seed: 1, preemptionBound: 0 }), 600);
    expect(a.lists).toEqual(b.lists);
    expect(a.r.executions).toBe(600);
    expect(a.r.exhausted).toBe(true);
    expect(a.r.strategy.params.boundsCompleted).toBe(0);
  });
});
