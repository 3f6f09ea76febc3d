// Counterexamples: a legacy one replays to the same trace from its token; V8's hang shows as
// the hang with lockdep off; the default PFNMAP allocation model reports O4 in both variants.
import {
  BASE,
  contractProblems,
  isBuffer,
  migratePage,
  PAGE_SIZE,
  pageAddr,
  parseHarnessToken,
  replayScenario,
  runScenario,
  type Scenario,
} from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { conformanceScenarios, driverPackage, interval, legacy, V1, V3, V8, variants } from "../src/index.ts";

describe("nouveau counterexamples", () => {
  it.each([V1, V3])("replays the legacy counterexample of $name to the same trace", async (s) => {
    const r = await runScenario(legacy, s);
    expect(r.verdict).toBe("use-after-free");
    const t = parseHarnessToken(r.replay!);
    expect(t).toMatchObject({ driver: "nouveau", variant: "legacy", scenario: s.name });
    const again = await replayScenario(legacy, s, t.sim);
    expect(again.failure?.kind).toBe(r.verdict);
    expect(again.failure?.message).toBe(r.message);
    expect(again.trace).toEqual(r.trace);
  });

  it("V1's legacy counterexample is the lazy-valid ABA: the PFNMAP comes after the migration's end", async () => {
    const r = await runScenario(legacy, V1);
    const ops = r.trace!.map((e) => `${e.kind} ${e.op}`);
    const walk = ops.indexOf("op walk_page_range");
    const end = ops.indexOf("call mmu_notifier_invalidate_range_end");
    const map = ops.lastIndexOf("op device_map");
    expect(walk).toBeGreaterThanOrEqual(0);
    expect(walk).toBeLessThan(end);
    expect(end).toBeLessThan(map);
  });

  it.each(variants)(
    "V8 on $info.id: with lockdep off, the direct reclaim hangs on svmm->mutex",
    async (v) => {
      const r = await runScenario(v, { ...V8, exploration: { ...V8.exploration, lockdep: false } });
      expect(r.verdict).toBe("deadlock");
      expect(r.message).toMatch(/waits for svmm\(cli\)->mutex held by/);
    },
  );

  it.each(variants)(
    "the default PFNMAP allocation (GFP_KERNEL) gives the O4 splat on $info.id",
    async (v) => {
      // A fault, then a migration of another page: no race at all. Lockdep has fs_reclaim ->
      // invalidate_range_start (priming), invalidate_range_start -> svmm->mutex (the callback),
      // svmm->mutex -> fs_reclaim (PFNMAP's allocation).
      const s: Scenario = {
        name: "O4-gfp-kernel-under-svmm-mutex",
        description:
          "fault, then migrate page 3, with PFNMAP's page-table allocation modelled (knobs.ts default)",
        async run(c) {
          const buf = await c.ctx.register(BASE, 2 * PAGE_SIZE, { write: true });
          if (!isBuffer(buf)) return c.ex.fail("exception", "register failed");
          await c.ctx.populate(buf, BASE, pageAddr(2), false);
          await migratePage(c.mm, pageAddr(3));
          await c.ctx.unregister(buf);
        },
        expected: { legacy: { verdict: "potential-deadlock" }, interval: { verdict: "potential-deadlock" } },
        exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 10 },
      };
      const r = await runScenario(v, s);
      expect(r.verdict).toBe("potential-deadlock");
      expect(r.message).toMatch(/svmm->mutex|fs_reclaim/);
    },
  );
});

describe("nouveau package", () => {
  it("presents both variants under the DriverModel contract", () => {
    expect(driverPackage.variants.map((v) => v.info.id)).toEqual(["legacy", "interval"]);
    for (const v of [legacy, interval]) {
      expect(contractProblems(v)).toEqual([]);
      expect(v.info.source).toMatch(new RegExp(`/src/${v.info.id}/$`));
    }
    const names = driverPackage.scenarios.map((s) => s.name);
    expect(names.filter((n) => /^V\d/.test(n))).toEqual([
      "V1-aba-migration-before-pfnmap",
      "V2-fault-vs-munmap-same-window",
      "V3-exit-during-fault",
      "V4-fini-during-invalidation-pfnclr",
      "V6-steady-invalidations-elsewhere",
      "V8-direct-reclaim-during-pfnmap",
    ]);
    const patches = driverPackage.patches.map((p) => p.insertions - p.deletions).reduce((a, b) => a + b);
    expect(patches).toBe(50);
  });

  // The device access's oracle reads the CPU PTE at the address (device-mmu.ts access): the
  // step names the objects the CPU side writes PTEs under, or a partial-order reduction takes
  // an access before exit's zap and one after it for the same schedule and walks only one.
  // Before the access named them, only the reduction's spare backtracks (the races a spawn or
  // an exit causes, sim strategy/bpor.ts) happened to reach the stale read.
  it("5.5 exit-during-populate: the reduced search reaches both kinds the unreduced one does", async () => {
    const s = conformanceScenarios.find((c) => c.name === "exit-during-populate")!;
    const kinds = async (reduction: "bpor" | "none") => {
      const r = await runScenario(interval, s, { reduction });
      expect(r.exhausted).toBe(true);
      return [...new Set(r.violations.map((v) => v.kind))].sort();
    };
    expect(await kinds("bpor")).toEqual(["stale-access", "use-after-free"]);
    expect(await kinds("none")).toEqual(["stale-access", "use-after-free"]);
  });
});
