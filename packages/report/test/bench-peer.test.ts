// The bench page's peer section (bench/peer.ts's rows): each figure next to its ratio against
// fast-check's scheduler in the same run, the portfolio's finders, and no second raw table.
import { describe, expect, it } from "vitest";
import { benchPage } from "../src/index.ts";

const row = (over: Record<string, unknown>) => ({
  program: "lazy-valid-aba",
  side: "sim",
  strategy: "portfolio",
  seeds: 100,
  cap: 5000,
  medianExecutions: 9,
  maxExecutions: 60,
  misses: 0,
  usPerExecution: 48.4,
  medianMsToFailure: 0.94,
  medianCounterexampleLength: 19,
  kinds: "stale-device-mapping",
  ...over,
});

const bench = {
  generated: "2026-12-01T12:00:00.000Z",
  peer: {
    program: "peer",
    smoke: false,
    seeds: 100,
    cap: 5000,
    rows: [
      row({
        side: "fast-check",
        strategy: "fc.scheduler()",
        medianExecutions: 13,
        maxExecutions: 161,
        usPerExecution: 77.4,
        medianMsToFailure: 6.61,
        medianCounterexampleLength: 15,
        vsFastCheck: { medianExecutions: 1, maxExecutions: 1, usPerExecution: 1, medianMsToFailure: 1 },
      }),
      row({
        foundBy: "random walk: 97, pct d=3: 3",
        vsFastCheck: {
          medianExecutions: 0.69,
          maxExecutions: 0.37,
          usPerExecution: 0.63,
          medianMsToFailure: 0.14,
          medianCounterexampleLength: 1.27,
        },
      }),
      row({
        strategy: "pct d=2",
        medianExecutions: null,
        maxExecutions: null,
        misses: 100,
        medianMsToFailure: null,
        medianCounterexampleLength: null,
        vsFastCheck: { medianExecutions: null, maxExecutions: null, usPerExecution: 0.15 },
      }),
    ],
  },
};

describe("bench page: the peer section", () => {
  const md = benchPage(bench).markdown;

  it("has its own section with each figure and its ratio against fast-check", () => {
    expect(md).toContain("## Peer: @mnlab/sim against fast-check's scheduler");
    expect(md).toContain("Over 100 seeds, at most 5,000 executions each");
    const portfolio = md.split("\n").find((l) => l.includes("| portfolio "))!;
    expect(portfolio).toMatch(/\| +9 \(0\.69×\) \| +60 \(0\.37×\) \| +0 \/ 100 \|/);
    expect(portfolio).toContain("0.94 (0.14×)");
    expect(portfolio).toContain("19 (1.27×)");
    expect(portfolio).toContain("random walk: 97, pct d=3: 3");
  });

  it("shows fast-check's own row without ratios, and a miss as a dash", () => {
    const fc = md.split("\n").find((l) => l.includes("fc.scheduler() (fast-check)"))!;
    expect(fc).toMatch(/\| +13 \| +161 \|/);
    expect(fc).not.toContain("×");
    const pct = md.split("\n").find((l) => l.includes("| pct d=2 "))!;
    expect(pct).toMatch(/\| +— \| +— \| +100 \/ 100 \|/);
  });

  it("does not repeat the rows as a raw table", () => {
    expect(md).not.toContain("## peer › rows");
  });
});
