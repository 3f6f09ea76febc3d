// Virtual-time metrics, old against new, from whole explorations (counters summed over every
// execution of a bounded exhaustive search, so they hold for every schedule explored).
import {
  BASE,
  type DriverModel,
  HMM_RANGE_DEFAULT_TIMEOUT,
  isBuffer,
  migratePage,
  PAGE_SIZE,
  pageAddr,
  reclaimPage,
  runScenario,
  type Scenario,
  type ScenarioContext,
  scenarioProgram,
} from "@mnlab/core";
import { explore, makeStrategy } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  interval,
  legacy,
  setPfnmapAllocation,
  V6,
  V6_COUNTERS,
  V6_FAULT_AT,
  V6_TRAFFIC,
} from "../src/index.ts";

async function counters(v: DriverModel, s: Scenario, preemptionBound: number, fails?: string) {
  const r = await explore(scenarioProgram(v, s), {
    strategy: makeStrategy({ name: "exhaustive", preemptionBound }),
    executions: 50_000,
  });
  if (fails !== undefined) {
    expect(r.failure?.kind, r.failure?.message).toBe(fails);
  } else {
    expect(r.failure, r.failure?.message).toBeNull();
    expect(r.exhausted).toBe(true);
  }
  const c = (name: string) => (r.counters[name] ?? 0) / r.executions;
  return { executions: r.executions, c };
}

describe("V6: steady invalidations elsewhere during a GPU fault", () => {
  const trafficEnd = Math.max(...V6_TRAFFIC.map((w) => w.at + w.len));

  // 5.4's run ends in a use-after-free at the last traffic end (t = 1500): the timed-out range
  // is still on hmm->ranges after nouveau_svm_fault returned (see V6's expectation). The fault
  // itself is over by then (t = 1100), so its numbers are whole; but the traffic thread's
  // anon_vma read hold is still open when the run stops, and a hold is counted at its release.
  // Nested read holds of one thread pair last-in-first-out, so the open one is the first,
  // taken at t = 0: 5.4 misses trafficEnd ticks of hold time that 5.5 counts.
  const openHold = trafficEnd;

  it("5.4 waits out HMM_RANGE_DEFAULT_TIMEOUT under mmap_sem and cancels with -EBUSY; 5.5 waits for an idle mm without mmap_sem, then maps", async () => {
    const old = await counters(legacy, V6, 2, "use-after-free");
    const neu = await counters(interval, V6, 2);
    // 5.4: the range registers while hmm->notifiers > 0 and never becomes valid in time.
    expect(old.c(V6_COUNTERS.faultEbusy)).toBe(1);
    expect(old.c(V6_COUNTERS.faultTicks)).toBe(HMM_RANGE_DEFAULT_TIMEOUT);
    // 5.5: no -EBUSY, no cancel — but the fresh notifier, inserted during the traffic, waits in
    // read_begin for the mm to become idle (core.md 1.6), longer than 5.4 waited.
    expect(neu.c(V6_COUNTERS.faultEbusy)).toBe(0);
    expect(neu.c(V6_COUNTERS.faultTicks)).toBe(trafficEnd - V6_FAULT_AT);
    expect(neu.c("nouveau.fault_cancel")).toBe(0);
    expect(old.c("nouveau.fault_cancel")).toBe(2);
    // The 5.4 wait holds mmap_sem for read; the 5.5 one holds no lock at all. The traffic's own
    // anon_vma holds are the same in both but for 5.4's hold still open (above).
    expect(old.c("lock_hold_ticks") - neu.c("lock_hold_ticks")).toBe(HMM_RANGE_DEFAULT_TIMEOUT - openHold);
  });

  it("shows in the harness metrics the reports use", async () => {
    const old = await runScenario(legacy, V6);
    const neu = await runScenario(interval, V6);
    expect(old.verdict).toBe("use-after-free");
    expect(neu.verdict).toBe("pass");
    expect(old.metrics.lockHoldTicks - neu.metrics.lockHoldTicks).toBe(HMM_RANGE_DEFAULT_TIMEOUT - openHold);
    // Blocked time is counted when a block ends: main's join of the traffic thread, blocked
    // from t = 0, never ends in 5.4's run, so 5.4 misses another trafficEnd ticks.
    expect(neu.metrics.ticksBlocked - old.metrics.ticksBlocked).toBe(
      trafficEnd - V6_FAULT_AT - HMM_RANGE_DEFAULT_TIMEOUT + trafficEnd,
    );
  });
});

/** A GPU fault on pages 0-1 racing the given CPU-side invalidations. */
function faultDuring(name: string, cpu: (s: ScenarioContext) => Promise<void>): Scenario {
  return {
    name,
    description: `a GPU fault on pages 0-1 racing ${name}`,
    async run(s) {
      setPfnmapAllocation(s.k, "plain");
      const buf = await s.ctx.register(BASE, 2 * PAGE_SIZE, { write: true });
      if (!isBuffer(buf)) return s.ex.fail("exception", "register failed");
      const gpu = s.ex.spawn("gpu", async () => void (await s.ctx.populate(buf, BASE, pageAddr(2), false)));
      const other = s.ex.spawn("cpu", () => cpu(s));
      await gpu.join();
      await other.join();
      await s.ctx.unregister(buf);
    },
    expected: { legacy: { verdict: "pass" }, interval: { verdict: "pass" } },
    exploration: { strategy: "exhaustive", preemptionBound: 2, executions: 50_000 },
  };
}

describe("callbacks per invalidation", () => {
  it("an invalidation outside the window: 5.4's sync and 5.5's hlist callback run, the itree callback never", async () => {
    const s = faultDuring("reclaim of page 3", async (c) => void (await reclaimPage(c.mm, pageAddr(3))));
    const old = await counters(legacy, s, 2);
    const neu = await counters(interval, s, 2);
    expect(old.c("nouveau.sync_cpu_device_pagetables")).toBe(1);
    expect(neu.c("nouveau.svmm_invalidate_range_start")).toBe(1);
    expect(neu.c("nouveau.svm_range_invalidate")).toBe(0);
  });

  it("5.5's itree callback sees only the window's invalidations; its hlist callback still sees all", async () => {
    const s = faultDuring("migration of page 0 and reclaim of page 3", async (c) => {
      await migratePage(c.mm, pageAddr(0));
      await reclaimPage(c.mm, pageAddr(3));
    });
    const neu = await counters(interval, s, 2);
    expect(neu.c("nouveau.svmm_invalidate_range_start")).toBe(2);
    // Once per execution at most (the migration, when it overlaps the fault), never the reclaim.
    const itree = neu.c("nouveau.svm_range_invalidate");
    expect(itree).toBeGreaterThan(0);
    expect(itree).toBeLessThan(1);
  });
});
