// Counterexamples and kernel misuse: a legacy counterexample replays to the same trace; A1's is
// the valid-reset ABA in the kernel's order; 5.5's WARN_ON(gtt->range) and the _done WARN fire
// where the kernel's would; the package presents both variants under the contract.
import {
  BASE,
  contractProblems,
  isBuffer,
  PAGE_SIZE,
  pageAddr,
  parseHarnessToken,
  replayScenario,
  runScenario,
  type Scenario,
} from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { A1, amdgpuContextOf, driverPackage, interval, legacy, variants } from "../src/index.ts";

const ONE: Scenario["exploration"] = { strategy: "exhaustive", preemptionBound: 0, executions: 10 };

describe("amdgpu counterexamples", () => {
  it("replays the legacy counterexample of A1 to the same trace", async () => {
    const r = await runScenario(legacy, A1, { preemptionBound: 1 });
    expect(r.verdict).toBe("use-after-free");
    const t = parseHarnessToken(r.replay!);
    expect(t).toMatchObject({ driver: "amdgpu", variant: "legacy", scenario: A1.name });
    const again = await replayScenario(legacy, A1, t.sim);
    expect(again.failure?.kind).toBe(r.verdict);
    expect(again.failure?.message).toBe(r.message);
    expect(again.trace).toEqual(r.trace);
  });

  it("A1's legacy counterexample is the valid-reset ABA: walk, then the migration's end, then hmm_range_valid true, then the job", async () => {
    const r = await runScenario(legacy, A1, { preemptionBound: 1 });
    const ev = r.trace!.map((e) => `${e.kind} ${e.op} ${e.detail ?? ""}`);
    const walk = ev.findLastIndex((e) => e.startsWith("op walk_page_range"));
    const end = ev.findIndex((e) => e.startsWith("call mmu_notifier_invalidate_range_end"));
    const valid = ev.findIndex((e, i) => i > end && e.includes("hmm_range_valid -> true"));
    const job = ev.findIndex((e, i) => i > valid && e.startsWith("op device_map"));
    expect(walk).toBeGreaterThanOrEqual(0);
    expect(walk).toBeLessThan(end);
    expect(end).toBeLessThan(valid);
    expect(valid).toBeLessThan(job);
  });
});

/** Two threads of the process submit CSs with the same userptr BO at once: two get-pages on one BO. */
const TWO_GET_PAGES: Scenario = {
  name: "two-cs-one-bo",
  description: "two concurrent amdgpu_cs_ioctl on one userptr BO (get_user_pages ... _done in each)",
  async run(s) {
    const buf = await s.ctx.register(BASE, 2 * PAGE_SIZE, { write: true });
    if (!isBuffer(buf)) return s.ex.fail("exception", "register failed");
    const c = amdgpuContextOf(s.k);
    const a = s.ex.spawn("t1", async () => void (await c.csIoctlOnce(buf, BASE, false)));
    const b = s.ex.spawn("t2", async () => void (await c.csIoctlOnce(buf, BASE, false)));
    await a.join();
    await b.join();
    await c.close();
    await c.exitProcess();
    await c.flushWork();
  },
  expected: {},
  exploration: { strategy: "exhaustive", preemptionBound: 1, executions: 3_000 },
};

describe("amdgpu kernel misuse, reported as the kernel reports it", () => {
  it("5.5: a second get_user_pages while one is in flight trips WARN_ON(gtt->range)", async () => {
    const r = await runScenario(interval, TWO_GET_PAGES);
    expect(r.violations.map((v) => v.kind)).toContain("kernel-warn");
    expect(r.violations.find((v) => v.kind === "kernel-warn")!.message).toMatch(
      /WARN_ON\(gtt->range\)|No user pages to check/,
    );
  });

  it("5.4: the second range overwrites gtt->range: the first _done frees the second range, the second _done finds none", async () => {
    const r = await runScenario(legacy, TWO_GET_PAGES);
    const kinds = r.violations.map((v) => v.kind);
    expect(kinds).not.toContain("exception");
    expect(kinds).toContain("kernel-warn");
    expect(r.violations.find((v) => v.kind === "kernel-warn")!.message).toMatch(/No user pages to check/);
  });

  it('_done without a get_user_pages is WARN_ONCE("No user pages to check") in both', async () => {
    for (const v of variants) {
      const s: Scenario = {
        name: "done-without-get",
        description: "amdgpu_ttm_tt_get_user_pages_done on a BO that has no range",
        async run(x) {
          const buf = await x.ctx.register(BASE, PAGE_SIZE, { write: true });
          if (!isBuffer(buf)) return x.ex.fail("exception", "register failed");
          const c = amdgpuContextOf(x.k);
          await c.kfd.ops.getUserPagesDone((buf as unknown as { bo: never }).bo);
          await x.ctx.unregister(buf);
        },
        expected: {},
        exploration: ONE,
      };
      const r = await runScenario(v, s);
      expect(r.verdict, v.info.id).toBe("kernel-warn");
      expect(r.message).toMatch(/No user pages to check/);
    }
  });

  it("a CS after the process exited is never issued by a thread of it: -ESRCH from the fd holder's get-pages in both", async () => {
    for (const v of variants) {
      const s: Scenario = {
        name: "get-pages-after-exit",
        description: "the fd holder's get-pages after the process exited",
        async run(x) {
          const buf = await x.ctx.register(BASE, PAGE_SIZE, { write: true });
          if (!isBuffer(buf)) return x.ex.fail("exception", "register failed");
          const c = amdgpuContextOf(x.k);
          await c.exitProcess();
          await c.flushWork();
          const r = await c.childGetUserPages(buf);
          if (r !== -3) x.ex.fail("exception", `get-pages after exit returned ${r}, not -ESRCH`);
          await x.ctx.unregister(buf);
        },
        expected: {},
        exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 10 },
      };
      const r = await runScenario(v, s);
      expect(r.verdict, `${v.info.id}: ${r.message}`).toBe("pass");
    }
  });
});

describe("amdgpu package", () => {
  it("presents both variants under the DriverModel contract", () => {
    expect(driverPackage.variants.map((v) => v.info.id)).toEqual(["legacy", "interval"]);
    for (const v of [legacy, interval]) {
      expect(contractProblems(v)).toEqual([]);
      expect(v.info.source).toMatch(new RegExp(`/src/${v.info.id}/$`));
    }
    const names = driverPackage.scenarios.map((s) => s.name);
    expect(names.filter((n) => /^A\d/.test(n))).toEqual([
      "A1-cs-aba-migration-before-submit",
      "A2-cs-submit-while-invalidation-waits-fences",
      "A3-merged-nodes-never-shrink",
      "A4-exit-with-gfx-job-in-flight",
    ]);
    const net = driverPackage.patches.map((p) => p.insertions - p.deletions).reduce((a, b) => a + b);
    const plus = driverPackage.patches.map((p) => p.insertions).reduce((a, b) => a + b);
    expect([plus, plus - net]).toEqual([192, 534]);
    void pageAddr;
  });
});
