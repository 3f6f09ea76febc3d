// The O2 deadlock as the runtime reports it, its replay, and what lockdep says instead.
import { parseHarnessToken, replayScenario, runScenario } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { conformanceScenarios, interval, legacy, legacyPre52, referenceScenarios } from "../src/index.ts";

const byName = (name: string) => {
  const s = [...referenceScenarios, ...conformanceScenarios].find((x) => x.name === name);
  if (s === undefined) throw new Error(`no scenario ${name}`);
  return s;
};

describe("O2: nested invalidation with a queued umem_rwsem writer", () => {
  it("legacy hangs, and the report names the wait-for cycle through umem_rwsem", async () => {
    const s = byName("O2-nested-start-with-queued-register");
    const r = await runScenario(legacy, s);
    expect(r.verdict).toBe("deadlock");
    // munmap's inner down_read waits behind the queued writer; the writer waits for
    // munmap's outer read hold.
    expect(r.message).toMatch(/munmap waits for per_mm->umem_rwsem held by ibv_reg_mr/);
    expect(r.message).toMatch(/ibv_reg_mr waits for per_mm->umem_rwsem held by munmap/);
    const munmap = r.threads?.find((t) => t.name === "munmap");
    expect(munmap).toMatchObject({ state: "blocked", blockedOn: "per_mm->umem_rwsem" });
    expect(munmap?.holds).toContain("per_mm->umem_rwsem");
    const replayed = await replayScenario(legacy, s, parseHarnessToken(r.replay!).sim);
    const cycle = replayed.failure?.cycle ?? [];
    expect(cycle.map((e) => e.object)).toEqual(["per_mm->umem_rwsem", "per_mm->umem_rwsem"]);
    expect(new Set(cycle.map((e) => e.thread))).toEqual(new Set(["munmap", "ibv_reg_mr"]));
  });

  it("the dereg side hangs the same way", async () => {
    const r = await runScenario(legacy, byName("O2-nested-start-with-queued-dereg"));
    expect(r.verdict).toBe("deadlock");
    expect(r.message).toMatch(/munmap waits for per_mm->umem_rwsem held by ibv_dereg_mr/);
  });

  it("the replay token of a legacy counterexample reproduces the same trace", async () => {
    const s = byName("O2-nested-start-with-queued-dereg");
    const r = await runScenario(legacy, s);
    const t = parseHarnessToken(r.replay!);
    expect(t).toMatchObject({ driver: "rdma-odp", variant: "legacy", scenario: s.name });
    const again = await replayScenario(legacy, s, t.sim);
    expect(again.failure?.kind).toBe(r.verdict);
    expect(again.failure?.message).toBe(r.message);
    expect(again.trace).toEqual(r.trace);
    // The trace speaks the kernel's names.
    const ops = new Set((r.trace ?? []).map((e) => e.op));
    expect(ops).toContain("mlx5_ib_dereg_mr");
    expect(ops).toContain("mmu_notifier_invalidate_range_start");
  });

  it("interval completes: the insert is deferred to the last invalidate_range_end", async () => {
    const r = await runScenario(interval, byName("O2-nested-start-with-queued-register"));
    expect(r.verdict).toBe("pass");
    expect(r.exhausted).toBe(true);
  });
});

describe("lockdep and the 5.4 model", () => {
  it("with lockdep, a plain bracket is enough: umem_rwsem is held into invalidate_range_end", async () => {
    const r = await runScenario(legacy, byName("O2-lockdep-umem-rwsem-held-across-bracket"));
    expect(r.verdict).toBe("potential-deadlock");
    expect(r.message).toMatch(/takes mmu_notifier_invalidate_range_start while holding per_mm->umem_rwsem/);
  });

  it("without lockdep, 5.4 passes every conformance scenario but the nested one, which hangs (O2)", async () => {
    const got: Record<string, string> = {};
    for (const s of conformanceScenarios) {
      const r = await runScenario(legacy, { ...s, exploration: { ...s.exploration, lockdep: false } });
      got[s.name] = r.verdict === "pass" && !r.exhausted ? "pass (not exhausted)" : r.verdict;
    }
    const want = Object.fromEntries(conformanceScenarios.map((s) => [s.name, "pass"]));
    want["nested-invalidation-during-register"] = "deadlock";
    expect(got).toEqual(want);
  });

  it("the historical variant leaks umem_rwsem on the OOM reaper's -EAGAIN, and the next registration hangs", async () => {
    const oom = await runScenario(legacyPre52, byName("oom-reaper-nonblocking"));
    expect(oom.verdict).toBe("leaked-lock");
    expect(oom.message).toMatch(/oom_reaper ended holding per_mm->umem_rwsem/);
    const o4 = await runScenario(legacyPre52, byName("O4-oom-reaper-eagain-then-register"));
    expect(o4.verdict).toBe("deadlock");
    expect(o4.message).toMatch(/ibv_reg_mr waits on per_mm->umem_rwsem/);
  });
});
