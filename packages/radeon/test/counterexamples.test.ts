// Counterexamples replay from their tokens; R1's is the O2 interleaving; R8 with lockdep on
// reports the lock-order splat first; the default allocation model reports O5 (5.4) and O6
// (both); a failed 5.5 registration removes a notifier that was never inserted.
import {
  BASE,
  contractProblems,
  isBuffer,
  madviseDontneed,
  PAGE_SIZE,
  pageAddr,
  parseHarnessToken,
  replayScenario,
  runScenario,
  type Scenario,
} from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { driverPackage, interval, legacy, R1, R5, R8, setAllocationModel, variants } from "../src/index.ts";

const P = PAGE_SIZE;

describe("radeon counterexamples", () => {
  it.each([
    ["legacy", legacy, R1],
    ["interval", interval, R1],
    ["legacy", legacy, R5],
  ] as const)("replays the %s counterexample of %s to the same trace", async (_id, v, s) => {
    const r = await runScenario(v, s);
    expect(r.verdict).toBe("stale-access");
    const t = parseHarnessToken(r.replay!);
    expect(t).toMatchObject({ driver: "radeon", variant: v.info.id, scenario: s.name });
    const again = await replayScenario(v, s, t.sim);
    expect(again.failure?.kind).toBe(r.verdict);
    expect(again.failure?.message).toBe(r.message);
    expect(again.trace).toEqual(r.trace);
  });

  it.each(variants)(
    "R1 on $info.id is O2: GUP reads the PTEs before the zap, the callback finds the TT not yet bound and skips it",
    async (v) => {
      const r = await runScenario(v, R1);
      const ev = r.trace!.map((e) => `${e.kind} ${e.op} ${e.object ?? ""} ${e.detail ?? ""}`);
      const at = (p: string, from = 0) => ev.findIndex((e, i) => i >= from && e.startsWith(p));
      const gup = at("call get_user_pages");
      const zap = at("op zap_pte_range");
      const check = at("note load bo0->tbo.ttm->state"); // the callback's "not bound" test
      const map = at("op device_map", gup);
      const bound = at("op store bo0->tbo.ttm->state tt_bound", gup);
      expect(gup).toBeGreaterThanOrEqual(0);
      expect(gup).toBeLessThan(zap); // GUP read the PTEs the zap then cleared
      expect(map).toBeGreaterThan(gup); // the GART is programmed from GUP's pages
      // The callback found the BO not bound (`ttm->state != tt_bound`: unpopulated or unbound)
      // inside the window from GUP to ttm_tt_bind's `ttm->state = tt_bound`, which also holds
      // radeon_gart_bind: before or after the GART is programmed, whichever counterexample the
      // search reaches first (bound by bound it is the one after).
      expect(ev[check]).toMatch(/tt_unbound|tt_unpopulated/);
      expect(check).toBeGreaterThan(gup);
      if (bound >= 0) expect(check).toBeLessThan(bound);
      // The callback reserved nothing: every reservation in the trace is the CS's.
      const resv = r.trace!.filter(
        (e) => e.kind === "op" && e.op === "mutex_lock" && e.object === "bo0->tbo.base.resv",
      );
      expect(resv.length).toBeGreaterThan(0);
      expect(resv.every((e) => e.threadName === r.trace![gup]!.threadName)).toBe(true);
    },
  );

  it.each(variants)(
    "R8 on $info.id with lockdep on: reservation -> fs_reclaim -> reservation is reported first",
    async (v) => {
      const r = await runScenario(v, { ...R8, exploration: { ...R8.exploration, lockdep: true } });
      expect(r.verdict).toBe("potential-deadlock");
      expect(r.message).toMatch(/reservation_ww_class_mutex/);
    },
  );

  it.each(variants)("R8 on $info.id: the CS's own thread waits for the reservation it holds", async (v) => {
    const r = await runScenario(v, R8);
    expect(r.verdict).toBe("deadlock");
    expect(r.message).toMatch(/main waits for bo0->tbo.base.resv held by main/);
  });
});

/** Register two BOs, bind the first, invalidate it: no race, only the allocations under locks. */
function allocationScenario(name: string): Scenario {
  return {
    name,
    description: "register A and B, bind A, madvise(DONTNEED) A's page 0, with GFP_KERNEL modelled",
    async run(c) {
      setAllocationModel(c.k, "gfp-kernel");
      const a = await c.ctx.register(BASE, 2 * P, { write: true });
      const b = await c.ctx.register(pageAddr(2), 2 * P, { write: true });
      if (!isBuffer(a) || !isBuffer(b)) return c.ex.fail("exception", "register failed");
      await c.ctx.populate(a, a.start, a.end, true);
      await madviseDontneed(c.mm, BASE, P);
      await c.ctx.unregister(a);
      await c.ctx.unregister(b);
    },
    expected: { legacy: { verdict: "potential-deadlock" }, interval: { verdict: "potential-deadlock" } },
    exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 10 },
  };
}

describe("GFP_KERNEL under radeon's locks (knobs.ts default)", () => {
  it("5.4: the node kmalloc under rmn->lock closes rmn->lock -> fs_reclaim -> invalidate_range_start -> rmn->lock (O5)", async () => {
    const r = await runScenario(legacy, allocationScenario("O5-kmalloc-under-rmn-lock"));
    expect(r.verdict).toBe("potential-deadlock");
    expect(r.message).toMatch(/rmn->lock/);
    expect(r.message).toMatch(/fs_reclaim/);
  });

  it("5.5: no driver lock, but the bind's allocation under the reservation closes the cycle through the callback's reserve (O6)", async () => {
    const r = await runScenario(interval, allocationScenario("O6-alloc-under-reservation"));
    expect(r.verdict).toBe("potential-deadlock");
    expect(r.message).toMatch(/reservation_ww_class_mutex/);
    expect(r.message).not.toMatch(/rmn->lock/);
  });
});

describe("kernel misuse", () => {
  it("5.5: a registration whose insert fails (-EOVERFLOW) leaves notifier.mm set; the error path's radeon_mn_unregister removes a notifier never inserted", async () => {
    // addr + size - 1 passes ULONG_MAX: __mmu_interval_notifier_insert sets mni->mm before the
    // overflow check; radeon_gem_userptr_ioctl's release_object path frees the GEM object, and
    // radeon_mn_unregister tests only notifier.mm. Whether the ioctl can be handed such an
    // address (no access_ok check is recorded in the reference) is not settled.
    const top = Math.floor(Number.MAX_SAFE_INTEGER / P) * P - P;
    const s: Scenario = {
      name: "register-overflowing-range",
      description: "DRM_IOCTL_RADEON_GEM_USERPTR over [top, top + 2p), which wraps the tree's last",
      async run(c) {
        setAllocationModel(c.k, "plain");
        await c.ctx.register(top, 2 * P, { write: true });
      },
      expected: { interval: { verdict: "kernel-bug" } },
      exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 1 },
    };
    const r = await runScenario(interval, s);
    expect(r.verdict).toBe("kernel-bug");
    expect(r.message).toMatch(/interval_tree_remove of a node not in the tree/);
  });

  it("a buffer of another driver, or one already freed, is an API misuse (Error), not a kernel error", async () => {
    const s: Scenario = {
      name: "double-unregister",
      description: "GEM_CLOSE twice from the harness",
      async run(c) {
        setAllocationModel(c.k, "plain");
        const b = await c.ctx.register(BASE, P, { write: true });
        if (!isBuffer(b)) return;
        await c.ctx.unregister(b);
        await c.ctx.unregister(b);
      },
      expected: { legacy: { verdict: "exception" } },
      exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 1 },
    };
    const r = await runScenario(legacy, s);
    expect(r.verdict).toBe("exception");
    expect(r.message).toMatch(/already freed/);
  });
});

describe("radeon package", () => {
  it("presents both variants under the DriverModel contract, the reference rows and the diffstat", () => {
    expect(driverPackage.variants.map((v) => v.info.id)).toEqual(["legacy", "interval"]);
    for (const v of [legacy, interval]) {
      expect(contractProblems(v)).toEqual([]);
      expect(v.info.source).toMatch(new RegExp(`/src/${v.info.id}/$`));
    }
    expect(driverPackage.scenarios.map((s) => s.name).filter((n) => /^R\d/.test(n))).toEqual([
      "R1-cs-bind-during-madvise-dontneed",
      "R2-munmap-during-gpu-job",
      "R3-overlapping-bos-invalidate-tail",
      "R4-unregister-then-invalidate-stale-node",
      "R5-exit-with-bound-bo-job-in-flight",
      "R6-oom-reaper-over-bound-and-unbound-bos",
      "R8-reclaim-during-ttm-populate-holding-reservation",
    ]);
    const net = driverPackage.patches.map((p) => p.insertions - p.deletions).reduce((a, b) => a + b);
    expect(net).toBe(-125);
  });
});
