// Classic concurrency bugs, ported as tests: each documented bug must be found, and each
// fixed variant must pass with its bounded space exhausted.
import { describe, expect, it } from "vitest";
import {
  type Execution,
  ExhaustiveStrategy,
  explore,
  Mutex,
  type Program,
  RandomStrategy,
  replay,
  SharedCell,
  WaitQueue,
} from "../src/index.ts";

/** Two threads increment a shared counter; the final value must be 2. */
function counterProgram(locked: boolean): Program {
  return async (ex: Execution) => {
    const counter = new SharedCell(ex, "counter", 0);
    const m = new Mutex(ex, "counter_lock");
    const inc = async () => {
      if (locked) await m.lock();
      const v = await counter.load();
      await counter.store(v + 1);
      if (locked) await m.unlock();
    };
    const a = ex.spawn("A", inc);
    const b = ex.spawn("B", inc);
    await a.join();
    await b.join();
    if (counter.peek() !== 2) ex.fail("lost-update", `counter is ${counter.peek()}, expected 2`);
  };
}

describe("lost update on a plain counter", () => {
  it("is found by uniform random search", async () => {
    const r = await explore(counterProgram(false), { strategy: new RandomStrategy(1), executions: 200 });
    expect(r.failure?.kind).toBe("lost-update");
    expect(r.firstFailureAt).toBeGreaterThanOrEqual(1);
    expect(r.replay).toMatch(/^v1\./);
  });

  it("is found by exhaustive search with preemption bound 1, not with bound 0", async () => {
    const b0 = await explore(counterProgram(false), {
      strategy: new ExhaustiveStrategy(0),
      executions: 10_000,
    });
    expect(b0.failure).toBeNull();
    expect(b0.exhausted).toBe(true);
    const b1 = await explore(counterProgram(false), {
      strategy: new ExhaustiveStrategy(1),
      executions: 10_000,
    });
    expect(b1.failure?.kind).toBe("lost-update");
    expect(b1.failure?.message).toContain("counter is 1");
  });

  it("shrinks to one preemption and replays to the same trace", async () => {
    const r = await explore(counterProgram(false), { strategy: new RandomStrategy(7), executions: 200 });
    expect(r.shrink?.toPreemptions).toBeLessThanOrEqual(1);
    const again = await replay(counterProgram(false), r.replay!);
    expect(again.failure?.kind).toBe("lost-update");
    expect(again.trace).toEqual(r.failure?.trace);
  });

  it("is not found behind a mutex: the space at bound 2 is exhausted clean", async () => {
    const r = await explore(counterProgram(true), {
      strategy: new ExhaustiveStrategy(2),
      executions: 100_000,
    });
    expect(r.failure).toBeNull();
    expect(r.exhausted).toBe(true);
    expect(r.executions).toBeGreaterThan(10);
  });
});

/** A takes L1 then L2; B takes L2 then L1. */
const abba: Program = async (ex) => {
  const l1 = new Mutex(ex, "L1");
  const l2 = new Mutex(ex, "L2");
  const a = ex.spawn("A", async () => {
    await l1.lock();
    await l2.lock();
    await l2.unlock();
    await l1.unlock();
  });
  const b = ex.spawn("B", async () => {
    await l2.lock();
    await l1.lock();
    await l1.unlock();
    await l2.unlock();
  });
  await a.join();
  await b.join();
};

describe("ABBA deadlock", () => {
  it("is found as a hang, with its wait-for cycle, when lockdep is off", async () => {
    const r = await explore(abba, { strategy: new ExhaustiveStrategy(1), lockdep: false, executions: 1000 });
    expect(r.failure?.kind).toBe("deadlock");
    const cycle = r.failure?.cycle ?? [];
    expect(cycle).toHaveLength(2);
    expect(cycle.map((e) => e.object).sort()).toEqual(["L1", "L2"]);
    expect(r.replay).toMatch(/^v1n\./);
    const again = await replay(abba, r.replay!);
    expect(again.failure?.kind).toBe("deadlock");
  });

  it("is found by lockdep in a schedule that does not hang", async () => {
    // Bound 0: A runs to completion, then B. Nothing hangs, but the orders conflict.
    const r = await explore(abba, { strategy: new ExhaustiveStrategy(0), executions: 1 });
    expect(r.executions).toBe(1);
    expect(r.failure?.kind).toBe("potential-deadlock");
    expect(r.failure?.message).toMatch(/L1|L2/);
    expect(r.failure?.threads.some((t) => t.blockedOn === "L1" || t.blockedOn === "L2")).toBe(false);
  });

  it("is found by lockdep across executions, and the token carries the earlier one", async () => {
    // A program where each execution shows only one order, chosen by a data choice.
    const oneOrder: Program = async (ex) => {
      const l1 = new Mutex(ex, "L1");
      const l2 = new Mutex(ex, "L2");
      const [x, y] = ex.choose(2, "order") === 0 ? [l1, l2] : [l2, l1];
      await x.lock();
      await y.lock();
      await y.unlock();
      await x.unlock();
    };
    const r = await explore(oneOrder, { strategy: new ExhaustiveStrategy(0), executions: 10 });
    expect(r.failure?.kind).toBe("potential-deadlock");
    expect(r.firstFailureAt).toBe(2);
    expect(r.replay?.split("~")).toHaveLength(2);
    const again = await replay(oneOrder, r.replay!);
    expect(again.failure?.kind).toBe("potential-deadlock");
  });
});

/**
 * Cargill's bounded buffer: one wait queue for "not full" and "not empty", and wake_up()
 * (one waiter) where wake_up_all() is needed. A consumer can wake the other consumer
 * instead of the producer, and then every thread sleeps.
 */
function boundedBuffer(wakeAll: boolean): Program {
  return async (ex) => {
    const m = new Mutex(ex, "buf->lock");
    const wq = new WaitQueue(ex, "buf->wq");
    const capacity = 1;
    let count = 0;
    const wake = () => (wakeAll ? wq.wakeUpAll() : wq.wakeUp());
    const waitWhile = async (cond: () => boolean) => {
      while (cond()) {
        wq.prepareToWait();
        await m.unlock();
        await wq.schedule();
        wq.finishWait();
        await m.lock();
      }
    };
    const put = async () => {
      await m.lock();
      await waitWhile(() => count === capacity);
      count++;
      await wake();
      await m.unlock();
    };
    const get = async () => {
      await m.lock();
      await waitWhile(() => count === 0);
      count--;
      await wake();
      await m.unlock();
    };
    const threads = [
      ex.spawn("consumer1", get),
      ex.spawn("consumer2", get),
      ex.spawn("producer", async () => {
        await put();
        await put();
      }),
    ];
    for (const t of threads) await t.join();
  };
}

describe("Cargill's bounded buffer", () => {
  it("loses a wake-up with wake_up(): every thread ends up asleep", async () => {
    const r = await explore(boundedBuffer(false), {
      strategy: new ExhaustiveStrategy(2),
      executions: 50_000,
    });
    expect(r.failure?.kind).toBe("deadlock");
    expect(r.failure?.threads.filter((t) => t.blockedOn === "buf->wq").length).toBeGreaterThanOrEqual(2);
  });

  it("is correct with wake_up_all(): bound 2 exhausted clean", async () => {
    const r = await explore(boundedBuffer(true), {
      strategy: new ExhaustiveStrategy(2),
      executions: 200_000,
    });
    expect(r.failure).toBeNull();
    expect(r.exhausted).toBe(true);
  });
});

/** A seqcount: the writer makes the sequence odd, writes two words, makes it even. */
function seqcount(withRetry: boolean): Program {
  return async (ex) => {
    const seq = new SharedCell(ex, "seq", 0);
    const a = new SharedCell(ex, "data.a", 0);
    const b = new SharedCell(ex, "data.b", 0);
    const writer = ex.spawn("writer", async () => {
      await seq.store(1);
      await a.store(1);
      await b.store(1);
      await seq.store(2);
    });
    const reader = ex.spawn("reader", async () => {
      for (;;) {
        const s = await seq.load();
        if (withRetry && s % 2 === 1) {
          await ex.cpuRelax();
          continue;
        }
        const x = await a.load();
        const y = await b.load();
        if (withRetry && (await seq.load()) !== s) {
          await ex.cpuRelax();
          continue;
        }
        if (x !== y) ex.fail("torn-read", `reader saw a=${x} b=${y}`);
        return;
      }
    });
    await writer.join();
    await reader.join();
  };
}

describe("seqcount reader", () => {
  it("without the retry check reads a torn pair", async () => {
    const r = await explore(seqcount(false), { strategy: new ExhaustiveStrategy(1), executions: 10_000 });
    expect(r.failure?.kind).toBe("torn-read");
  });

  it("with read_seqcount_retry never does: bound 3 exhausted clean", async () => {
    const r = await explore(seqcount(true), {
      strategy: new ExhaustiveStrategy(3),
      executions: 100_000,
      maxSteps: 500,
    });
    expect(r.failure).toBeNull();
    expect(r.exhausted).toBe(true);
  });
});
