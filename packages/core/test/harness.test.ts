// The harness and the conformance suite, validated on a reference driver: the canonical
// 5.5 user passes every conformance scenario (exhaustively at the stated bound), and the
// same driver without read_retry is caught where the collision-retry window matters.
import { describe, expect, it } from "vitest";
import { scenarioSuite } from "../src/harness/testing.ts";
import {
  CONFORMANCE,
  conformance,
  contractProblems,
  type Expectation,
  explorationFor,
  parseHarnessToken,
  replayScenario,
  runScenario,
} from "../src/index.ts";
import { referenceDriver } from "./reference-driver.ts";

const good = referenceDriver("interval");
const pass: Record<string, Expectation> = { interval: { verdict: "pass" } };
const all = conformance(Object.fromEntries(CONFORMANCE.map((c) => [c.name, pass])));

scenarioSuite("reference driver: conformance", [good], all);

describe("harness", () => {
  it("catches a driver that skips mmu_interval_read_retry, and replays the counterexample", async () => {
    const bad = referenceDriver("no-retry", true);
    const s = all.find((x) => x.name === "invalidate-between-lookup-and-program")!;
    const r = await runScenario(bad, s);
    expect(["stale-access", "unsafe-map", "use-after-free"]).toContain(r.verdict);
    expect(r.asExpected).toBe(false);
    expect(r.trace?.length).toBeGreaterThan(0);
    const t = parseHarnessToken(r.replay!);
    expect(t).toMatchObject({ driver: "reference", variant: "no-retry", scenario: s.name });
    const again = await replayScenario(bad, s, t.sim);
    expect(again.failure?.kind).toBe(r.verdict);
    expect(again.trace).toEqual(r.trace);
  });

  it("records are deterministic", async () => {
    const s = all[0]!;
    const a = await runScenario(good, s, { strategy: "random", executions: 50, seed: 3 });
    const b = await runScenario(good, s, { strategy: "random", executions: 50, seed: 3 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.metrics.populates).toBeGreaterThan(0);
    expect(a.metrics.callbacks).toBeGreaterThan(0);
  });

  it("checks the contract of a loaded variant", () => {
    expect(contractProblems(good)).toEqual([]);
    expect(contractProblems({})).toContain("open(k, mm) is missing");
    expect(
      contractProblems({
        open() {},
        info: { driver: "x", id: "Bad Id", kernel: "5.5", source: "s", summary: "s", files: [], commits: [] },
      }),
    ).toEqual(['info.id "Bad Id" must be lower-case letters, digits and dashes']);
  });

  it("runs a variant under its own exploration where the scenario gives one (explorationFor)", async () => {
    const base = all.find((x) => x.name === "populate-vs-munmap")!;
    const deep = { strategy: "exhaustive", preemptionBound: 2, executions: 5_000 } as const;
    const shallow = { strategy: "exhaustive", preemptionBound: 0, executions: 5_000 } as const;
    const s = {
      ...base,
      exploration: shallow,
      expected: { legacy: { verdict: "pass" }, interval: { verdict: "pass" } },
      explorationByVariant: { interval: deep },
    } satisfies typeof base;
    expect(explorationFor(s, "interval")).toBe(deep);
    expect(explorationFor(s, "legacy")).toBe(shallow);
    // A user-written variant is judged by the interval expectation, so explored as it is.
    expect(explorationFor(s, "my-patch")).toBe(deep);
    expect(
      explorationFor({ ...s, expected: { ...s.expected, default: { verdict: "pass" } } }, "my-patch"),
    ).toBe(shallow);
    expect(explorationFor(base, "interval")).toBe(base.exploration);
    const r = await runScenario(good, s);
    expect(r.exploration).toMatchObject({ preemptionBound: 2 });
    expect(r.exhausted).toBe(true);
    const atZero = await runScenario(good, { ...s, explorationByVariant: undefined });
    expect(atZero.exploration).toMatchObject({ preemptionBound: 0 });
    expect(atZero.executions).toBeLessThan(r.executions);
  });

  it("lets a driver's conformance override replace the scenario's per-variant explorations too", () => {
    const expectations = Object.fromEntries(CONFORMANCE.map((c) => [c.name, pass]));
    const name = "overlapping-invalidations-race-populate";
    const suite = conformance(expectations).find((x) => x.name === name)!;
    expect(suite.explorationByVariant?.interval).toBeDefined();
    const own = { strategy: "exhaustive", preemptionBound: 2, executions: 1_234 } as const;
    const s = conformance(expectations, { [name]: own }).find((x) => x.name === name)!;
    expect(s.explorationByVariant).toBeUndefined();
    expect(explorationFor(s, "interval")).toBe(own);
    expect(explorationFor(s, "legacy")).toBe(own);
  });

  it("gives a driver's variant its own exploration on top of the scenario's per-variant ones", () => {
    const both: Record<string, Expectation> = { legacy: { verdict: "pass" }, interval: { verdict: "pass" } };
    const expectations = Object.fromEntries(CONFORMANCE.map((c) => [c.name, both]));
    const deeper = { strategy: "exhaustive", preemptionBound: 2, executions: 4_321 } as const;
    const name = "successive-migrations-and-munmap-race-populate";
    const suite = conformance(expectations).find((x) => x.name === name)!;
    const s = conformance(expectations, {}, { [name]: { interval: deeper } }).find((x) => x.name === name)!;
    expect(explorationFor(s, "interval")).toBe(deeper);
    expect(explorationFor(s, "legacy")).toBe(suite.exploration);
    // Merged over the suite's own per-variant explorations, which stay where not replaced.
    const overlapping = "overlapping-invalidations-race-populate";
    const o = conformance(expectations, {}, { [overlapping]: { legacy: deeper } }).find(
      (x) => x.name === overlapping,
    )!;
    expect(explorationFor(o, "legacy")).toBe(deeper);
    expect(o.explorationByVariant?.interval).toBeDefined();
    expect(() => conformance(expectations, {}, { nope: { interval: deeper } })).toThrow(
      /no scenario named "nope"/,
    );
  });

  it("refuses a conformance table with a scenario left out", () => {
    expect(() => conformance({ "populate-vs-munmap": pass })).toThrow(/no expectations given/);
  });
});
