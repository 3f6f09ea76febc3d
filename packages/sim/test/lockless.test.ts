// Lockless readers (issue 12, section 1): a lock excludes only the threads that take it.
// Each test explores every schedule of a small program and states what some schedule shows
// (the reader, the condition, the invariant) and what no schedule may show.
import { describe, expect, it } from "vitest";
import {
  ExhaustiveStrategy,
  explore,
  LocklessField,
  type Program,
  SpinLock,
  WaitQueue,
} from "../src/index.ts";

async function everySchedule(program: Program, bound = 3) {
  const r = await explore(program, {
    strategy: new ExhaustiveStrategy(bound),
    executions: 100_000,
    stopOnFailure: false,
  });
  expect(r.exhausted).toBe(true);
  return r;
}

describe("a store to a lockless field is its own scheduling point", () => {
  it("a READ_ONCE reader sees the first store of another thread's critical section", async () => {
    const seen = new Set<string>();
    const program: Program = async (ex) => {
      const lock = new SpinLock(ex, "lock");
      const seq = new LocklessField(ex, "seq", 0, lock);
      const w = ex.spawn("writer", async () => {
        await lock.lock();
        await seq.set(1);
        await seq.set(2);
        await lock.unlock();
      });
      const r = ex.spawn("reader", async () => {
        const v = await seq.load();
        seen.add(`${v}${lock.isLocked ? " locked" : ""}`);
      });
      await w.join();
      await r.join();
    };
    await everySchedule(program);
    // 1 is visible only between the two stores, i.e. inside the writer's section.
    expect(seen).toContain("1 locked");
    expect([...seen].sort()).toEqual(["0", "0 locked", "1 locked", "2", "2 locked"]);
  });

  it("a field read only under its lock keeps one step per critical section", async () => {
    const seen = new Set<number>();
    const program: Program = async (ex) => {
      const lock = new SpinLock(ex, "lock");
      let v = 0;
      const w = ex.spawn("writer", async () => {
        await lock.lock();
        v = 1;
        v = 2;
        await lock.unlock();
      });
      const r = ex.spawn("reader", async () => {
        await lock.lock();
        seen.add(v);
        await lock.unlock();
      });
      await w.join();
      await r.join();
    };
    await everySchedule(program);
    expect([...seen].sort()).toEqual([0, 2]);
  });
});

describe("wait_event evaluates its condition at its own scheduling points", () => {
  /**
   * The waker, under its lock, stores `a` then `b` and, after unlocking, wakes the queue;
   * the waiter's condition reads both without the lock. Records every evaluation.
   */
  function wakerProgram(evaluations: string[][]): Program {
    return async (ex) => {
      const lock = new SpinLock(ex, "lock");
      const wq = new WaitQueue(ex, "wq");
      const a = new LocklessField(ex, "a", 0, lock);
      const b = new LocklessField(ex, "b", 0, lock);
      const mine: string[] = [];
      evaluations.push(mine);
      const waiter = ex.spawn("waiter", async () => {
        await wq.waitEvent(() => {
          mine.push(`a=${a.get()} b=${b.get()}${lock.isLocked ? " locked" : ""}`);
          return a.get() === 1;
        });
      });
      const waker = ex.spawn("waker", async () => {
        await lock.lock();
        await a.set(1);
        await b.set(1);
        await lock.unlock();
        await wq.wakeUpAll();
      });
      await waiter.join();
      await waker.join();
    };
  }

  it("a condition is evaluated between the waker's stores, without its lock", async () => {
    const evaluations: string[][] = [];
    const r = await everySchedule(wakerProgram(evaluations));
    expect(r.failures).toBe(0);
    const all = evaluations.flat();
    expect(all).toContain("a=1 b=0 locked");
    // Before sleeping, and again after prepare_to_wait: a waiter that sleeps evaluated twice
    // first, and once more after its wake-up.
    expect(evaluations.some((e) => e.length >= 3)).toBe(true);
    // It never returns on a false condition.
    for (const e of evaluations) expect(e[e.length - 1]).toMatch(/^a=1/);
  });

  it("wait_event_timeout evaluates once more when the timeout expires", async () => {
    const evaluations: boolean[] = [];
    let ret = -1;
    const program: Program = async (ex) => {
      const wq = new WaitQueue(ex, "wq");
      ret = await wq.waitEventTimeout(() => {
        evaluations.push(false);
        return false;
      }, 5);
    };
    await everySchedule(program);
    expect(ret).toBe(0);
    // before sleeping, after prepare_to_wait, after the timeout
    expect(evaluations.length).toBe(3);
  });
});

describe("an invariant protected by a lock is checked only while the lock is free", () => {
  function pairProgram(protect: boolean): Program {
    return async (ex) => {
      const lock = new SpinLock(ex, "lock");
      const a = new LocklessField(ex, "a", 0, lock);
      const b = new LocklessField(ex, "b", 0, lock);
      ex.addCheck(
        "core-invariant",
        () => (a.peek() === b.peek() ? null : `a=${a.peek()} b=${b.peek()}`),
        protect ? { protectedBy: [lock] } : {},
      );
      const w = ex.spawn("writer", async () => {
        await lock.lock();
        await a.set(1);
        await b.set(1);
        await lock.unlock();
      });
      const r = ex.spawn("reader", async () => {
        await a.load();
      });
      await w.join();
      await r.join();
    };
  }

  it("is not reported mid-section when it names its lock", async () => {
    const r = await everySchedule(pairProgram(true));
    expect(r.failures).toBe(0);
  });

  it("is reported mid-section when it does not (the mechanism is what prevents it)", async () => {
    const r = await everySchedule(pairProgram(false));
    expect(r.failures).toBeGreaterThan(0);
    expect(r.failure?.message).toBe("a=1 b=0");
  });

  it("a real violation left when the lock is dropped is still reported", async () => {
    const program: Program = async (ex) => {
      const lock = new SpinLock(ex, "lock");
      const a = new LocklessField(ex, "a", 0, lock);
      const b = new LocklessField(ex, "b", 0, lock);
      ex.addCheck("core-invariant", () => (a.peek() === b.peek() ? null : "torn"), {
        protectedBy: () => [lock],
      });
      await lock.lock();
      await a.set(1);
      await lock.unlock();
      await ex.condResched();
    };
    const r = await everySchedule(program);
    expect(r.failure?.kind).toBe("core-invariant");
  });
});
