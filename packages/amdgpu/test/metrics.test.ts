// Virtual-time metrics, old against new, from whole explorations (counters summed over every
// execution of a bounded exhaustive search, so they hold for every schedule explored).
import { type DriverModel, runScenario, type Scenario, scenarioProgram } from "@mnlab/core";
import { explore, makeStrategy } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { A1, A2, A3, COUNTERS, interval, JOB_TICKS, legacy } from "../src/index.ts";

async function counters(v: DriverModel, s: Scenario, preemptionBound: number) {
  const r = await explore(scenarioProgram(v, s), {
    strategy: makeStrategy({ name: "exhaustive", preemptionBound }),
    executions: 50_000,
    stopOnFailure: false,
  });
  expect(r.exhausted).toBe(true);
  const c = (name: string) => (r.counters[name] ?? 0) / r.executions;
  return { executions: r.executions, c, failures: r.violations.map((x) => x.kind) };
}

describe("callbacks per invalidation (A3: A=[0,4p) and B=[2p,6p), munmap [5p,6p), unregister A, munmap [0,p))", () => {
  it("5.4 walks the merged [0,6p) node twice and looks at B twice and A once; 5.5 calls B's notifier once", async () => {
    const old = await counters(legacy, A3, 0);
    const neu = await counters(interval, A3, 0);
    expect(old.failures).toEqual([]);
    expect(neu.failures).toEqual([]);
    // 5.4: one merged node; both munmaps walk it (the second after A is gone: it never shrinks).
    expect(old.c(COUNTERS.nodeWalked)).toBe(2);
    expect(old.c(COUNTERS.boChecked)).toBe(3);
    // amdgpu_ttm_tt_affect_userptr keeps the fence wait to B, once.
    expect(old.c(COUNTERS.boWait)).toBe(1);
    // 5.5: only B's notifier overlaps [5p,6p); nothing overlaps [0,p) once A is removed.
    expect(neu.c(COUNTERS.nodeWalked)).toBe(0);
    expect(neu.c(COUNTERS.boChecked)).toBe(1);
    expect(neu.c(COUNTERS.boWait)).toBe(1);
    // The harness's callbacks metric: the 5.4 mirror is called for both munmaps, the 5.5 notifier once.
    expect(old.c("callbacks")).toBe(2);
    expect(neu.c("callbacks")).toBe(1);
  });
});

describe("retries per CS", () => {
  it("A1: 5.4 never restarts (hmm_range_valid is reset by the migration's end); 5.5 restarts where the migration collided", async () => {
    const old = await counters(legacy, A1, 1);
    const neu = await counters(interval, A1, 1);
    expect(old.c(COUNTERS.csRestart)).toBe(0);
    expect(neu.c(COUNTERS.csRestart)).toBeGreaterThan(0);
    expect(old.failures).toContain("use-after-free");
    expect(neu.failures).toEqual([]);
  });

  it("A2: both restart the CS that waited behind the callback; 5.5 whenever the callback ran, 5.4 only if the end had not come yet", async () => {
    const old = await counters(legacy, A2, 1);
    const neu = await counters(interval, A2, 1);
    const perCs = (x: typeof old) => x.c(COUNTERS.csRestart) / x.c(COUNTERS.csIoctl);
    expect(perCs(old)).toBeGreaterThan(0);
    expect(perCs(neu)).toBeGreaterThan(perCs(old));
    // The migration's callback waits for the job in flight in both, at most the job's run time.
    for (const x of [old, neu]) {
      expect(x.c(COUNTERS.fenceWaitTicks)).toBeGreaterThan(0);
      expect(x.c(COUNTERS.fenceWaitTicks)).toBeLessThanOrEqual(2 * JOB_TICKS);
    }
  });

  it("shows in the harness metrics the reports use", async () => {
    const old = await runScenario(legacy, A3);
    const neu = await runScenario(interval, A3);
    expect(old.metrics.callbacks).toBeGreaterThan(neu.metrics.callbacks);
  });
});
