// Virtual time: the clock moves only when nothing can run and a timer is pending, and then
// straight to the earliest deadline, so timeouts are exact and the same on every schedule.
import { describe, expect, it } from "vitest";
import {
  Completion,
  ExhaustiveStrategy,
  explore,
  formatTrace,
  type Program,
  replay,
  SharedCell,
  WaitQueue,
} from "../src/index.ts";
import { runOnce, runUnder } from "./helpers.ts";

/** Run `program` on 20 random schedules and every schedule within 2 preemptions. */
async function onEverySchedule(program: Program): Promise<void> {
  for (const o of await runUnder(program, 20)) expect(o.failure).toBeNull();
  const r = await explore(program, { strategy: new ExhaustiveStrategy(2), executions: 50_000 });
  expect(r.failure).toBeNull();
  expect(r.exhausted).toBe(true);
}

describe("wait_event_timeout", () => {
  it("with nobody waking it returns 0 exactly at its deadline", async () => {
    const program: Program = async (ex) => {
      const wq = new WaitQueue(ex, "hmm->wq");
      const w = ex.spawn("waiter", async () => {
        const ret = await wq.waitEventTimeout(() => false, 1000);
        if (ret !== 0 || ex.now !== 1000) ex.fail("timeout", `returned ${ret} at tick ${ex.now}`);
      });
      await w.join();
      if (wq.waiterCount !== 0) ex.fail("timeout", "the timed-out waiter is still queued");
    };
    await onEverySchedule(program);
    const o = await runOnce(program);
    expect(o.ticks).toBe(1000);
    // The trace names the timeout, at tick 1000.
    const timeout = o.trace?.find((e) => e.op === "timeout");
    expect(timeout).toMatchObject({ tick: 1000, threadName: "waiter", object: "hmm->wq" });
  });

  it("woken at tick 300 by a thread that slept 300 ticks, it returns the 700 left", async () => {
    const program: Program = async (ex) => {
      const wq = new WaitQueue(ex, "wq");
      let ready = false;
      const w = ex.spawn("waiter", async () => {
        const ret = await wq.waitEventTimeout(() => ready, 1000);
        if (ret !== 700 || ex.now !== 300) ex.fail("timeout", `returned ${ret} at tick ${ex.now}`);
      });
      const s = ex.spawn("waker", async () => {
        await ex.sleep(300);
        ready = true;
        await wq.wakeUpAll();
      });
      await w.join();
      await s.join();
    };
    await onEverySchedule(program);
  });

  it("a condition already true returns the whole timeout without sleeping", async () => {
    const o = await runOnce(async (ex) => {
      const ret = await new WaitQueue(ex, "wq").waitEventTimeout(() => true, 50);
      if (ret !== 50 || ex.now !== 0) ex.fail("timeout", `returned ${ret} at tick ${ex.now}`);
    });
    expect(o.failure).toBeNull();
  });

  it("a wake-up with the condition still false goes back to sleep until the same deadline", async () => {
    const program: Program = async (ex) => {
      const wq = new WaitQueue(ex, "wq");
      const w = ex.spawn("waiter", async () => {
        const ret = await wq.waitEventTimeout(() => false, 1000);
        if (ret !== 0 || ex.now !== 1000) ex.fail("timeout", `returned ${ret} at tick ${ex.now}`);
      });
      const s = ex.spawn("spurious", async () => {
        await ex.sleep(400);
        await wq.wakeUpAll();
      });
      await w.join();
      await s.join();
    };
    await onEverySchedule(program);
  });
});

describe("wait_for_completion_timeout", () => {
  it("times out exactly at its deadline", async () => {
    const o = await runOnce(async (ex) => {
      const c = new Completion(ex, "fence");
      const ok = await c.waitTimeout(250);
      if (ok || ex.now !== 250) ex.fail("timeout", `returned ${ok} at tick ${ex.now}`);
    });
    expect(o.failure).toBeNull();
    expect(o.ticks).toBe(250);
  });

  it("returns true at the tick of the complete()", async () => {
    await onEverySchedule(async (ex) => {
      const c = new Completion(ex, "fence");
      const w = ex.spawn("waiter", async () => {
        const ok = await c.waitTimeout(250);
        if (!ok || ex.now !== 80) ex.fail("timeout", `returned ${ok} at tick ${ex.now}`);
      });
      const s = ex.spawn("signaller", async () => {
        await ex.sleep(80);
        await c.complete();
      });
      await w.join();
      await s.join();
    });
  });

  it("a complete() later than the deadline is not seen by the timed-out waiter", async () => {
    await onEverySchedule(async (ex) => {
      const c = new Completion(ex, "fence");
      const w = ex.spawn("waiter", async () => {
        const ok = await c.waitTimeout(100);
        if (ok || ex.now !== 100) ex.fail("timeout", `returned ${ok} at tick ${ex.now}`);
      });
      const s = ex.spawn("late", async () => {
        await ex.sleep(150);
        await c.complete();
      });
      await w.join();
      await s.join();
      if (!c.isDone || ex.now !== 150) ex.fail("timeout", "the late complete() was lost");
    });
  });
});

describe("the clock", () => {
  it("never advances while a thread is runnable", async () => {
    const program: Program = async (ex) => {
      const c = new SharedCell(ex, "c", 0);
      const busy = ex.spawn("busy", async () => {
        for (let i = 0; i < 30; i++) {
          await c.store(i);
          if (ex.now !== 0) ex.fail("clock", `tick ${ex.now} while busy could run (i=${i})`);
        }
      });
      const sleeper = ex.spawn("sleeper", async () => {
        await ex.sleep(10);
        if (ex.now !== 10) ex.fail("clock", `woke at tick ${ex.now}`);
      });
      await busy.join();
      await sleeper.join();
    };
    for (const o of await runUnder(program, 50)) {
      expect(o.failure).toBeNull();
      expect(o.ticks).toBe(10);
      // Every event before the timeout fired is at tick 0; the timeout and all after it at 10.
      const trace = o.trace ?? [];
      const at = trace.findIndex((e) => e.op === "timeout");
      expect(at).toBeGreaterThan(0);
      expect(trace.slice(0, at).every((e) => e.tick === 0)).toBe(true);
      expect(trace.slice(at).every((e) => e.tick === 10)).toBe(true);
    }
  });

  it("jumps from deadline to deadline in order, each sleeper waking at its exact tick", async () => {
    const program: Program = async (ex) => {
      const woke: string[] = [];
      const hs = [50, 20, 35, 20].map((d, i) =>
        ex.spawn(`S${i}`, async () => {
          await ex.sleep(d);
          woke.push(`S${i}@${ex.now}`);
          await ex.sleep(d);
          woke.push(`S${i}@${ex.now}`);
        }),
      );
      for (const h of hs) await h.join();
      const ticks = woke.map((w) => Number(w.split("@")[1]));
      if (ticks.some((t, i) => i > 0 && t < ticks[i - 1]!)) ex.fail("clock", `out of order: ${woke}`);
      const want = ["S0@50", "S0@100", "S1@20", "S1@40", "S2@35", "S2@70", "S3@20", "S3@40"];
      if ([...woke].sort().join() !== want.sort().join()) ex.fail("clock", woke.join());
    };
    await onEverySchedule(program);
  });

  it("a timed-out schedule replays to the same trace, ticks included", async () => {
    const program: Program = async (ex) => {
      const wq = new WaitQueue(ex, "wq");
      const c = new SharedCell(ex, "c", 0);
      const w = ex.spawn("w", async () => {
        await wq.waitEventTimeout(() => c.peek() === 5, 70);
        await c.store(ex.now);
      });
      const s = ex.spawn("s", async () => {
        await ex.sleep(30);
        await c.store(1);
        await wq.wakeUpAll();
      });
      await w.join();
      await s.join();
      ex.fail("done", `c=${c.peek()} at ${ex.now}`);
    };
    const r = await explore(program, { strategy: new ExhaustiveStrategy(1), executions: 10 });
    expect(r.failure?.message).toBe("c=70 at 70");
    const again = await replay(program, r.replay!);
    expect(formatTrace(again.trace ?? [])).toBe(formatTrace(r.failure?.trace ?? []));
  });
});
