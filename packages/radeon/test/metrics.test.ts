// Virtual-time metrics, old against new: which BOs an invalidation reserves, waits for and
// unbinds (O3), callbacks per invalidation, fence-wait ticks, CS retries, and what the OOM
// reaper gets to reap (R6). Counters are summed over whole bounded-exhaustive explorations.
import { runScenario } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { interval, legacy, R1, R2, R3, R4, R5, R6, R6_COUNTERS, RADEON_JOB_TICKS } from "../src/index.ts";
import { counters } from "./support.ts";

describe("R3/R4: which BOs an invalidation unbinds (O3)", () => {
  it("R3: an invalidation of B's tail unbinds A too in 5.4 (merged node), only B in 5.5", async () => {
    const old = await counters(legacy, R3);
    const neu = await counters(interval, R3);
    // A (bo0) and B (bo1) are both bound when madvise's callback runs, in every schedule.
    expect(old.c("radeon.bo_invalidated.bo0")).toBe(1);
    expect(old.c("radeon.bo_invalidated.bo1")).toBe(1);
    expect(neu.c("radeon.bo_invalidated.bo0")).toBe(0);
    expect(neu.c("radeon.bo_invalidated.bo1")).toBe(1);
    // One hlist callback in 5.4; one interval callback (B's) in 5.5.
    expect(old.c("callbacks")).toBe(1);
    expect(neu.c("callbacks")).toBe(1);
    // The needless unbind costs 5.4 a re-pin of A when the CS comes after the invalidation.
    expect(old.c("radeon.userptr_pin")).toBeGreaterThan(neu.c("radeon.userptr_pin"));
  });

  it("R4: after A is freed its merged node still covers page 0 in 5.4 and B is unbound; 5.5 calls nobody", async () => {
    const old = await counters(legacy, R4);
    const neu = await counters(interval, R4);
    expect(old.c("radeon.bo_invalidated.bo1")).toBe(1);
    expect(old.c("callbacks")).toBe(1);
    expect(neu.c("radeon.bo_invalidated")).toBe(0);
    expect(neu.c("callbacks")).toBe(0);
  });
});

describe("fence waits in the callback", () => {
  it("R2: both versions wait for the job's fence before unbinding", async () => {
    const old = await counters(legacy, R2);
    const neu = await counters(interval, R2);
    for (const m of [old, neu]) {
      // Per execution at most the job's remaining GPU time; more than none on average: the
      // munmap's callback often finds the job still running. The BO is unbound once.
      expect(m.c("radeon.fence_wait_ticks")).toBeGreaterThan(0);
      expect(m.c("radeon.fence_wait_ticks")).toBeLessThanOrEqual(RADEON_JOB_TICKS);
      expect(m.c("radeon.bo_invalidated")).toBe(1);
    }
  });

  it("R5: 5.4's release waits for nothing; 5.5's release pass waits for the job in flight", async () => {
    const old = await counters(legacy, R5, { failing: true });
    const neu = await counters(interval, R5);
    expect(old.failure?.kind).toBe("stale-access");
    expect(old.c("radeon.fence_wait_ticks")).toBe(0);
    expect(old.c("radeon.bo_invalidated")).toBe(0);
    expect(neu.c("radeon.fence_wait_ticks")).toBeGreaterThan(0);
    // The release pass unbinds the BO in every schedule; when the CS (a thread of the process,
    // holding mm_users) binds it again afterwards, exit_mmap's unmap unbinds it once more.
    expect(neu.c("radeon.bo_invalidated")).toBeGreaterThanOrEqual(1);
    expect(neu.c("radeon.bo_invalidated")).toBeLessThanOrEqual(2);
  });
});

describe("R6: the OOM reaper over a bound and an unbound BO", () => {
  it("5.4 reaps neither VMA; 5.5 reaps the one under the unbound BO", async () => {
    const old = await counters(legacy, R6);
    const neu = await counters(interval, R6);
    expect(old.c(R6_COUNTERS.boundReaped)).toBe(0);
    expect(old.c(R6_COUNTERS.unboundReaped)).toBe(0);
    expect(neu.c(R6_COUNTERS.boundReaped)).toBe(0);
    expect(neu.c(R6_COUNTERS.unboundReaped)).toBe(1);
  });
});

describe("CS retries", () => {
  it.each([legacy, interval])(
    "$info.id never retries a CS: there is no collision retry to trigger one (R1)",
    async (v) => {
      const r = await runScenario(v, R1);
      expect(r.verdict).toBe("stale-access");
      expect(r.metrics.retriesPerPopulate).toBe(0);
    },
  );
});
