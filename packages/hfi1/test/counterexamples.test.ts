// Counterexamples: the setup race replays from its token to the same trace, and reads as the
// merged FIXME says — the invalidation runs after the pin and before the node exists, reaches
// no tid_rb_invalidate, and the entry is programmed afterwards; the fork child's TID is
// programmed on the child's mm while the notifier watches the parent's.
import { parseHarnessToken, replayScenario, runScenario, type Scenario } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { conformanceScenarios, interval, legacy, referenceScenarios, variants } from "../src/index.ts";

const byName = (n: string): Scenario =>
  [...referenceScenarios, ...conformanceScenarios].find((s) => s.name === n)!;

describe("hfi1 counterexamples", () => {
  it.each(variants)("populate-vs-munmap on $info.id replays to the same trace", async (v) => {
    const s = byName("populate-vs-munmap");
    const r = await runScenario(v, s);
    expect(r.verdict).toBe("stale-access");
    const t = parseHarnessToken(r.replay!);
    expect(t).toMatchObject({ driver: "hfi1", variant: v.info.id, scenario: s.name });
    const again = await replayScenario(v, s, t.sim);
    expect(again.failure?.kind).toBe("stale-access");
    expect(again.failure?.message).toBe(r.message);
    expect(again.trace).toEqual(r.trace);
  });

  it.each([
    { v: legacy, inval: "call munmap", insert: "note hfi1_mmu_rb_insert" },
    { v: interval, inval: "call munmap", insert: "call mmu_interval_notifier_insert" },
  ])(
    "$v.info.id: pin, then the whole munmap, then the insert and the program; no callback",
    async ({ v, inval, insert }) => {
      const r = await runScenario(v, byName("populate-vs-munmap"));
      const ops = r.trace!.map((e) => `${e.kind} ${e.op}`);
      const pin = ops.indexOf("call pin_user_pages");
      const unmap = ops.indexOf(inval);
      const end = ops.indexOf("call mmu_notifier_invalidate_range_end");
      const ins = ops.indexOf(insert);
      const map = ops.lastIndexOf("op device_map");
      expect(pin).toBeGreaterThanOrEqual(0);
      expect(pin).toBeLessThan(unmap);
      expect(unmap).toBeLessThan(end);
      expect(end).toBeLessThan(ins);
      expect(ins).toBeLessThan(map);
      expect(r.trace!.some((e) => e.op === "hfi1_exp_tid_inval")).toBe(false);
      expect(r.message).toMatch(/is not in invalid_tids/);
    },
  );

  it.each(variants)(
    "fork-child-uses-parent-fd on $info.id: the child's munmap reaches no hfi1 callback",
    async (v) => {
      const r = await runScenario(v, byName("fork-child-uses-parent-fd"));
      expect(r.verdict).toBe("stale-access");
      expect(r.message).toMatch(/^rcvarray\[\d+\]@child/);
      expect(r.trace!.some((e) => e.op === "hfi1_exp_tid_inval")).toBe(false);
    },
  );
});
