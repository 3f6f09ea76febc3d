// The race-shape scenarios give the explorer invalidations in threads of their own instead of
// hooks inside populate (DriverModel exposes none). This checks that their default
// explorations do land an invalidation in every window of the collision-retry loop (issue 22):
// between read_begin and the fault, between the fault and the user lock, between the retry
// check and the device programming, and during a retry's second pass — on the textbook 5.5
// user, whose populate the trace shows step by step. It also checks that nothing breaks there.
import type { TraceEvent } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { CONFORMANCE, type ConformanceScenario } from "../src/index.ts";
import { exploreConformance } from "./support.ts";

type Window = "read_begin..fault" | "fault..lock" | "retry..map" | "second pass";

/** The windows of the device thread's populate in which some invalidation started. */
function windowsHit(trace: readonly TraceEvent[]): Set<Window> {
  const hit = new Set<Window>();
  let pass = 0;
  let at: Window | null = null; // the device's current window
  for (const e of trace) {
    if (e.threadName === "device") {
      if (e.kind === "note" && e.op === "mmu_interval_read_begin") {
        pass++;
        at = pass >= 2 ? "second pass" : "read_begin..fault";
      } else if (pass === 1 && e.kind === "ret" && e.op === "hmm_range_fault") at = "fault..lock";
      else if (pass === 1 && e.kind === "op" && e.op === "mutex_lock") at = null;
      else if (pass === 1 && e.kind === "note" && e.op === "mmu_interval_read_retry")
        at = e.detail?.endsWith("false") ? "retry..map" : null;
      else if (e.kind === "op" && e.op === "device_map") at = null;
      else if (e.kind === "exit") at = null;
    } else if (e.kind === "call" && e.op === "mmu_notifier_invalidate_range_start" && at !== null) {
      hit.add(at);
    }
  }
  return hit;
}

/** Some invalidation started while another thread's invalidate callback was running. */
function startedInsideACallback(trace: readonly TraceEvent[]): boolean {
  const inCallback = new Set<string>();
  for (const e of trace) {
    if (e.op === "mni->ops->invalidate" && e.kind === "call") inCallback.add(e.threadName);
    else if (e.op === "mni->ops->invalidate" && e.kind === "ret") inCallback.delete(e.threadName);
    else if (e.kind === "call" && e.op === "mmu_notifier_invalidate_range_start") {
      if ([...inCallback].some((t) => t !== e.threadName)) return true;
    }
  }
  return false;
}

/** Explore c at bound until `enough` says what the test looks for was seen (or the space ends). */
async function explored(
  c: ConformanceScenario,
  bound: number,
  enough: (hit: Set<Window>, overlapped: boolean) => boolean = () => false,
) {
  const hit = new Set<Window>();
  let overlapped = false;
  const r = await exploreConformance(c, bound, (o) => {
    for (const w of windowsHit(o.trace ?? [])) hit.add(w);
    overlapped ||= startedInsideACallback(o.trace ?? []);
    return enough(hit, overlapped);
  });
  return { hit, overlapped, ...r };
}

const byName = (n: string) => {
  const c = CONFORMANCE.find((x) => x.name === n);
  if (c === undefined) throw new Error(`no conformance scenario ${n}`);
  return c;
};

describe("conformance race shapes reach every window of the retry loop", () => {
  it("migrate-then-munmap-at-buffer-edges, at its default bound", async () => {
    const c = byName("migrate-then-munmap-at-buffer-edges");
    expect(c.exploration.strategy).toBe("exhaustive");
    const bound = c.exploration.strategy === "exhaustive" ? c.exploration.preemptionBound : 0;
    const r = await explored(c, bound, (hit) => hit.size === 4);
    expect(r.failures).toEqual([]);
    expect([...r.hit].sort()).toEqual(["fault..lock", "read_begin..fault", "retry..map", "second pass"]);
  });

  it("overlapping-invalidations-race-populate starts one invalidation inside the other's callback, at its default bound", async () => {
    const c = byName("overlapping-invalidations-race-populate");
    const bound = c.exploration.strategy === "exhaustive" ? c.exploration.preemptionBound : 0;
    const r = await explored(c, bound, (_, overlapped) => overlapped);
    expect(r.failures).toEqual([]);
    expect(r.overlapped).toBe(true);
  });

  it("the window classifier is not vacuous: a run without preemptions lands no invalidation inside", async () => {
    const r = await explored(byName("migrate-then-munmap-at-buffer-edges"), 0);
    expect(r.hit.size).toBe(0);
    expect(r.overlapped).toBe(false);
  });
});
