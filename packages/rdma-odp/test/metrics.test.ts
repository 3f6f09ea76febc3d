// Virtual-time metrics, old vs new, with the difference the reference predicts asserted:
// a NIC fault and an MR registration that arrive while a 10 ms invalidation of an ODP MR is
// open, and an invalidation elsewhere in the mm that meets no MR.
import {
  BASE,
  type BufferHandle,
  type DriverModel,
  isBuffer,
  type MmStruct,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  munmap,
  PAGE_SIZE,
  POPULATE_RETRY,
  pageAddr,
  rangeInit,
  runScenario,
  type Scenario,
  type ScenarioContext,
  scenarioProgram,
} from "@mnlab/core";
import { Completion, explore, makeStrategy } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { interval, legacy, referenceScenarios } from "../src/index.ts";

const P = PAGE_SIZE;
/** How long the reclaim's CLEAR bracket stays open (ticks = ms): a slow rmap walk. */
const BRACKET_TICKS = 10;

async function mustRegister(s: ScenarioContext, start: number, len: number): Promise<BufferHandle> {
  const b = await s.ctx.register(start, len, { write: true });
  if (!isBuffer(b)) return s.ex.fail("exception", `register returned ${b}`);
  return b;
}

/** try_to_unmap_one() of the page at addr under the anon_vma lock, the bracket open for BRACKET_TICKS. */
async function slowReclaim(mm: MmStruct, addr: number, opened: Completion): Promise<void> {
  const k = mm.kernel;
  await mm.rmapLock.downRead();
  const range = rangeInit(mm, "CLEAR", addr, addr + P);
  await mmuNotifierInvalidateRangeStart(range);
  await opened.completeAll();
  await k.ex.sleep(BRACKET_TICKS);
  const old = mm.pt.get(addr);
  if (old !== undefined) mm.pt.setSwapEntry(addr, { kind: "swap", data: old.page.data, write: old.write });
  await mmuNotifierInvalidateRangeEnd(range);
  await mm.rmapLock.upRead();
  if (old !== undefined) {
    old.page.mapcount--;
    k.pages.putPage(old.page);
  }
}

const metricsScenario: Scenario = {
  name: "M-fault-and-register-inside-a-10ms-invalidation",
  description:
    "Reclaim of page 0 keeps its CLEAR bracket open for 10 ms over an ODP MR of pages 0-1; inside it the " +
    "NIC faults on that MR and ibv_reg_mr registers pages 2-3; then munmap of page 5 (no MR there).",
  pages: 6,
  exploration: { strategy: "exhaustive", preemptionBound: 1, executions: 20_000, lockdep: false },
  async run(s) {
    const x = await mustRegister(s, BASE, 2 * P);
    const opened = new Completion(s.ex, "scenario: CLEAR bracket open");
    let y: BufferHandle | null = null;
    const threads = [
      s.ex.spawn("kswapd", () => slowReclaim(s.mm, pageAddr(0), opened)),
      s.ex.spawn("nic_pagefault", async () => {
        await opened.wait();
        const t0 = s.ex.now;
        await s.ctx.populate(x, BASE, BASE + 2 * P, true);
        s.ex.count("fault_ticks", s.ex.now - t0);
      }),
      s.ex.spawn("ibv_reg_mr", async () => {
        await opened.wait();
        const t0 = s.ex.now;
        y = await mustRegister(s, pageAddr(2), 2 * P);
        s.ex.count("register_ticks", s.ex.now - t0);
      }),
    ];
    for (const t of threads) await t.join();
    await munmap(s.mm, pageAddr(5), P);
    if (y !== null) await s.ctx.unregister(y);
    await s.ctx.unregister(x);
  },
  expected: { legacy: { verdict: "pass" }, interval: { verdict: "pass" } },
};

interface Measured {
  executions: number;
  retriesPerFault: number;
  faultTicks: number;
  registerTicks: number;
  callbacks: number;
  umemInvalidations: number;
}

async function measure(v: DriverModel, s: Scenario): Promise<Measured> {
  const spec = s.exploration;
  if (spec.strategy !== "exhaustive") throw new Error("exhaustive only");
  const r = await explore(scenarioProgram(v, s), {
    strategy: makeStrategy({ name: "exhaustive", preemptionBound: spec.preemptionBound }),
    executions: spec.executions,
    lockdep: spec.lockdep ?? true,
  });
  expect(r.failure?.message ?? null).toBeNull();
  expect(r.exhausted).toBe(true);
  const c = r.counters;
  const n = r.executions;
  return {
    executions: n,
    retriesPerFault: (c[POPULATE_RETRY] ?? 0) / (c.populate ?? 1),
    faultTicks: (c.fault_ticks ?? 0) / n,
    registerTicks: (c.register_ticks ?? 0) / n,
    callbacks: (c.callbacks ?? 0) / n,
    umemInvalidations: (c.umem_invalidations ?? 0) / n,
  };
}

describe("metrics, old vs new", () => {
  it("a fault and a registration inside a 10 ms invalidation, and an invalidation that meets no MR", async () => {
    const old = await measure(legacy, metricsScenario);
    const neu = await measure(interval, metricsScenario);
    console.table({ legacy: old, interval: neu });
    // O1(b): 5.4 refuses the fault (notifiers_count != 0), waits on notifier_completion and
    // refaults: one retry. 5.5's read_begin sleeps instead, then one clean pass: none.
    expect(old.retriesPerFault).toBe(1);
    expect(neu.retriesPerFault).toBe(0);
    // Either way the fault cannot complete before the bracket ends.
    expect(old.faultTicks).toBe(BRACKET_TICKS);
    expect(neu.faultTicks).toBe(BRACKET_TICKS);
    // O3: 5.4 registration waits on down_write(umem_rwsem) for the whole bracket; 5.5's insert
    // never blocks on an invalidation (it is deferred to the last invalidate_range_end).
    expect(old.registerTicks).toBe(BRACKET_TICKS);
    expect(neu.registerTicks).toBe(0);
    // The cover letter: the core only calls a driver for ranges that intersect it. 5.4's per-mm
    // notifier is called (and takes umem_rwsem) for every invalidation of the mm, 5.5's per-umem
    // notifier only for the one that meets the MR; the umems reached are the same.
    expect(old.callbacks).toBe(2);
    expect(neu.callbacks).toBe(1);
    expect(old.umemInvalidations).toBe(1);
    expect(neu.umemInvalidations).toBe(1);
  });

  it("O1: timing (a) is reached and retried in both; in timing (b) only 5.4 retries", async () => {
    const perExecution = async (v: DriverModel, name: string) => {
      const s = referenceScenarios.find((x) => x.name === name)!;
      const spec = s.exploration as { preemptionBound: number; executions: number };
      const retries: number[] = [];
      await explore(scenarioProgram(v, s), {
        strategy: makeStrategy({ name: "exhaustive", preemptionBound: spec.preemptionBound }),
        executions: spec.executions,
        lockdep: false,
        onExecution: (o) => retries.push(o.counters[POPULATE_RETRY] ?? 0),
      });
      return retries;
    };
    const a54 = await perExecution(legacy, "O1a-fault-vs-munmap-invalidation-after-snapshot");
    const a55 = await perExecution(interval, "O1a-fault-vs-munmap-invalidation-after-snapshot");
    expect(a54.some((r) => r > 0)).toBe(true);
    expect(a55.some((r) => r > 0)).toBe(true);
    const b54 = await perExecution(legacy, "O1b-fault-starts-inside-open-invalidation");
    const b55 = await perExecution(interval, "O1b-fault-starts-inside-open-invalidation");
    expect(b54.some((r) => r > 0)).toBe(true);
    expect(b55.every((r) => r === 0)).toBe(true);
  });

  it("the harness records the same comparison (runScenario metrics)", async () => {
    const old = await runScenario(legacy, metricsScenario);
    const neu = await runScenario(interval, metricsScenario);
    console.table({ legacy: old.metrics, interval: neu.metrics });
    expect(old.verdict).toBe("pass");
    expect(neu.verdict).toBe("pass");
    expect(old.metrics.retriesPerPopulate).toBeGreaterThan(neu.metrics.retriesPerPopulate);
    expect(old.metrics.callbacks).toBeGreaterThan(neu.metrics.callbacks);
    expect(old.metrics.ticksBlocked).toBeGreaterThan(neu.metrics.ticksBlocked);
  });
});
