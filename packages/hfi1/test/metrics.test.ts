// Virtual-time metrics, old against new, from whole explorations (counters summed over every
// execution of a bounded exhaustive search, so they hold for every schedule explored):
// callbacks per invalidation, setup retries, pinned pages over time, duplicate queueing.
import { type DriverModel, POPULATE_RETRY, runScenario, type Scenario, scenarioProgram } from "@mnlab/core";
import { explore, makeStrategy } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { interval, legacy, referenceScenarios, scenarios } from "../src/index.ts";

const byName = (n: string): Scenario => scenarios.find((s) => s.name === n)!;

async function counters(v: DriverModel, s: Scenario, preemptionBound = 2) {
  const r = await explore(scenarioProgram(v, s), {
    strategy: makeStrategy({ name: "exhaustive", preemptionBound }),
    executions: 50_000,
  });
  expect(r.failure, r.failure?.message).toBeNull();
  expect(r.exhausted).toBe(true);
  const c = (name: string) => (r.counters[name] ?? 0) / r.executions;
  return { executions: r.executions, c, counters: r.counters };
}

describe("hfi1 metrics, 5.4 against 5.5", () => {
  it("callbacks per invalidation: 5.4 enters its handler once and walks its own tree; 5.5 is called once per TID hit", async () => {
    const s = byName("two-registrations-one-invalidation");
    const old = await counters(legacy, s);
    const neu = await counters(interval, s);
    // One munmap over two TIDs in every execution.
    expect(old.c("callbacks")).toBe(1);
    expect(neu.c("callbacks")).toBe(2);
    expect(old.c("hfi1.tid_rb_invalidate")).toBe(2);
    expect(neu.c("hfi1.tid_rb_invalidate")).toBe(2);
    expect(old.c("hfi1.rb_nodes_visited")).toBe(2);
    expect(neu.c("hfi1.rb_nodes_visited")).toBe(0);
    const r = await runScenario(legacy, s);
    expect(r.metrics.callbacks).toBe(1);
  });

  it("setup retries (H4): 5.4's refused overlap costs PSM one TID_UPDATE retry in every schedule; 5.5 none", async () => {
    const s = byName("H4-reregister-over-invalidated-tid");
    const old = await counters(legacy, s);
    const neu = await counters(interval, s);
    expect(old.c(POPULATE_RETRY)).toBe(1);
    expect(old.c("hfi1.rb_insert_refused")).toBe(1);
    expect(old.c("hfi1.setup_failed")).toBe(0);
    expect(neu.c(POPULATE_RETRY)).toBe(0);
    const r = await runScenario(legacy, s);
    expect(r.metrics.retriesPerPopulate).toBeGreaterThan(0);
    expect((await runScenario(interval, s)).metrics.retriesPerPopulate).toBe(0);
  });

  it("pinned pages over time (PSM slow): both keep the 4 pages pinned until PSM frees, the same in every schedule", async () => {
    const s = byName("psm-slow-to-free");
    const old = await counters(legacy, s);
    const neu = await counters(interval, s);
    expect(old.c("hfi1.pinned_max")).toBe(4);
    expect(neu.c("hfi1.pinned_max")).toBe(4);
    // 4 pages for at least the NIC's 10 ms and PSM's 50 ms.
    expect(old.c("hfi1.pinned_page_ticks")).toBeGreaterThanOrEqual(4 * 60);
    expect(neu.c("hfi1.pinned_page_ticks")).toBe(old.c("hfi1.pinned_page_ticks"));
    process.stderr.write(
      `hfi1 psm-slow-to-free: pinned page-ms per execution 5.4 ${old.c("hfi1.pinned_page_ticks")} 5.5 ${neu.c("hfi1.pinned_page_ticks")}\n`,
    );
  });

  it("two invalidations of one TID: 5.4 queues it once (handler lock); 5.5's lockless node->freed lets both callbacks queue it", async () => {
    const s = referenceScenarios.find((x) => x.name === "two-invalidations-one-tid")!;
    const old = await counters(legacy, s);
    const neu = await counters(interval, s);
    expect(old.counters["hfi1.duplicate_invalid_tids"] ?? 0).toBe(0);
    expect(old.c("hfi1.tids_queued")).toBe(1);
    expect(neu.counters["hfi1.duplicate_invalid_tids"] ?? 0).toBeGreaterThan(0);
    expect(neu.c("hfi1.tids_queued")).toBeGreaterThan(1);
  });
});
