// The failures the runtime detects on its own, each provoked on purpose: the kind, the
// message and the thread snapshots must say what went wrong and where.
import { describe, expect, it } from "vitest";
import {
  type Chooser,
  Execution,
  ExhaustiveStrategy,
  explore,
  Lockdep,
  Mutex,
  type Program,
  RandomStrategy,
  replay,
  SharedCell,
  SpinLock,
  WaitQueue,
} from "../src/index.ts";
import { runOnce, runUnder } from "./helpers.ts";

describe("exception in a thread", () => {
  const program: Program = async (ex) => {
    const c = new SharedCell(ex, "c", 0);
    const w = ex.spawn("worker", async () => {
      await c.store(1);
      throw new Error("boom");
    });
    await w.join();
  };

  it("is reported as kind exception, naming the thread and the error", async () => {
    const o = await runOnce(program);
    expect(o.failure?.kind).toBe("exception");
    expect(o.failure?.message).toBe("thread worker threw: boom");
    expect(o.failure?.thread).toBe(1);
    expect(o.failure?.detail?.stack).toMatch(/boom/);
    expect(o.failure?.trace?.at(-1)).toMatchObject({ kind: "fail", op: "exception", threadName: "worker" });
  });

  it("is found by explore on the first execution, and its token replays it", async () => {
    const r = await explore(program, { strategy: new RandomStrategy(3), executions: 10 });
    expect(r.firstFailureAt).toBe(1);
    expect(r.failure?.kind).toBe("exception");
    const again = await replay(program, r.replay!);
    expect(again.failure?.message).toBe("thread worker threw: boom");
  });

  it("a non-Error throw is reported with its string form", async () => {
    const o = await runOnce(async (ex) => {
      const w = ex.spawn("thrower", async () => {
        await ex.condResched();
        throw "plain string";
      });
      await w.join();
    });
    expect(o.failure?.kind).toBe("exception");
    expect(o.failure?.message).toBe("thread thrower threw: plain string");
  });
});

describe("sleeping while atomic", () => {
  it("mutex_lock while holding a spinlock", async () => {
    const o = await runOnce(async (ex) => {
      const spin = new SpinLock(ex, "pt_lock");
      const m = new Mutex(ex, "svmm->mutex");
      const w = ex.spawn("faulter", async () => {
        await spin.lock();
        await m.lock();
        await m.unlock();
        await spin.unlock();
      });
      await w.join();
    });
    expect(o.failure?.kind).toBe("sleep-in-atomic");
    expect(o.failure?.message).toContain("mutex_lock(svmm->mutex)");
    expect(o.failure?.message).toContain("faulter");
    expect(o.failure?.message).toContain("holding pt_lock");
    const faulter = o.failure?.threads.find((t) => t.name === "faulter");
    expect(faulter?.holds).toEqual(["pt_lock"]);
  });

  it("mutex_lock inside a region entered with enterNonBlocking", async () => {
    const o = await runOnce(async (ex) => {
      const m = new Mutex(ex, "umem_odp->umem_mutex");
      const w = ex.spawn("oom_reaper", async () => {
        ex.enterNonBlocking("invalidate_range_start(!blockable)");
        await m.lock();
        await m.unlock();
        ex.exitNonBlocking();
      });
      await w.join();
    });
    expect(o.failure?.kind).toBe("sleep-in-atomic");
    expect(o.failure?.message).toContain("inside non-blocking invalidate_range_start(!blockable)");
    expect(o.failure?.message).toContain("oom_reaper");
  });

  it("other sleeping operations inside ex.nonBlocking() are caught too", async () => {
    for (const [what, op] of [
      ["msleep", (ex: Execution) => ex.sleep(5)],
      ["cond_resched", (ex: Execution) => ex.condResched()],
      ["wait_event", (ex: Execution) => new WaitQueue(ex, "wq").waitEvent(() => true)],
    ] as const) {
      const o = await runOnce(async (ex) => {
        const w = ex.spawn("nb", () => ex.nonBlocking("notifier", () => op(ex)));
        await w.join();
      });
      expect(o.failure?.kind, what).toBe("sleep-in-atomic");
      expect(o.failure?.message, what).toContain(what);
    }
  });

  it("a trylock inside a non-blocking region is fine, and so is the region once left", async () => {
    const program: Program = async (ex) => {
      const m = new Mutex(ex, "m");
      const taken = new SharedCell(ex, "taken", 0);
      const nb = ex.spawn("nb", async () => {
        const got = await ex.nonBlocking("invalidate", async () => {
          const ok = await m.trylock();
          if (ok) await m.unlock();
          return ok;
        });
        await taken.store(got ? 1 : 0);
        // Outside the region sleeping is allowed again.
        await m.lock();
        await m.unlock();
      });
      const other = ex.spawn("other", async () => {
        await m.lock();
        await ex.condResched();
        await m.unlock();
      });
      await nb.join();
      await other.join();
    };
    const outcomes = await runUnder(program, 40);
    for (const o of outcomes) expect(o.failure).toBeNull();
    // Both fates of the trylock happen over the schedules.
    const r = await explore(program, { strategy: new ExhaustiveStrategy(2), executions: 5000 });
    expect(r.failure).toBeNull();
    expect(r.exhausted).toBe(true);
  });
});

describe("leaked lock", () => {
  it("a thread that ends holding a mutex is reported, naming the lock", async () => {
    const o = await runOnce(async (ex) => {
      const m = new Mutex(ex, "dev->lock");
      const w = ex.spawn("forgetful", async () => {
        await m.lock();
      });
      await w.join();
    });
    expect(o.failure?.kind).toBe("leaked-lock");
    expect(o.failure?.message).toBe("thread forgetful ended holding dev->lock");
    expect(o.failure?.threads.find((t) => t.name === "forgetful")?.holds).toEqual(["dev->lock"]);
  });

  it("a thread that releases what it took is not", async () => {
    const o = await runOnce(async (ex) => {
      const m = new Mutex(ex, "dev->lock");
      const s = new SpinLock(ex, "dev->spin");
      const w = ex.spawn("tidy", async () => {
        await m.lock();
        await s.lock();
        await s.unlock();
        await m.unlock();
      });
      await w.join();
    });
    expect(o.failure).toBeNull();
  });
});

describe("blocked at exit", () => {
  it("main finishes while a thread waits on a queue nobody wakes", async () => {
    const program: Program = async (ex) => {
      const wq = new WaitQueue(ex, "dev->wq");
      ex.spawn("waiter", async () => {
        await wq.waitEvent(() => false);
      });
      await ex.condResched();
    };
    for (const o of await runUnder(program, 10)) {
      expect(o.failure?.kind).toBe("blocked-at-exit");
      expect(o.failure?.message).toContain("waiter (on dev->wq)");
      const waiter = o.failure?.threads.find((t) => t.name === "waiter");
      expect(waiter).toMatchObject({ state: "blocked", blockedOn: "dev->wq" });
      expect(o.failure?.threads[0]?.state).toBe("done");
    }
  });

  it("when main joins that thread instead it is a deadlock with nobody to wake it", async () => {
    const o = await runOnce(async (ex) => {
      const wq = new WaitQueue(ex, "dev->wq");
      const w = ex.spawn("waiter", async () => {
        await wq.waitEvent(() => false);
      });
      await w.join();
    });
    expect(o.failure?.kind).toBe("deadlock");
    expect(o.failure?.message).toContain("waiter waits on dev->wq that nobody will wake");
    expect(o.failure?.cycle).toBeUndefined();
  });
});

describe("foreign await", () => {
  it("a thread awaiting a timer promise is reported, naming the thread and its last op", async () => {
    const program: Program = async (ex) => {
      const c = new SharedCell(ex, "flag", 0);
      const w = ex.spawn("impatient", async () => {
        await c.store(1);
        await new Promise((r) => setTimeout(r, 1));
        await c.store(2);
      });
      await w.join();
    };
    const o = await runOnce(program);
    expect(o.failure?.kind).toBe("foreign-await");
    expect(o.failure?.message).toContain("thread impatient awaited a promise");
    expect(o.failure?.message).toContain("after WRITE_ONCE flag");
    // explore stops at it too, on the first execution.
    const r = await explore(program, { strategy: new RandomStrategy(2), executions: 5, shrink: false });
    expect(r.firstFailureAt).toBe(1);
    expect(r.failures).toBe(1);
  });

  it("awaiting an already-resolved promise stays inside the atomic section and is fine", async () => {
    const o = await runOnce(async (ex) => {
      const c = new SharedCell(ex, "c", 0);
      const w = ex.spawn("w", async () => {
        await c.store(1);
        await Promise.resolve(42);
        await c.store(2);
      });
      await w.join();
    });
    expect(o.failure).toBeNull();
  });
});

describe("livelock", () => {
  it("a thread looping on cond_resched for ever exceeds the step bound", async () => {
    const program: Program = async (ex) => {
      const w = ex.spawn("spinner", async () => {
        for (;;) await ex.condResched();
      });
      await w.join();
    };
    const o = await runOnce(program, { maxSteps: 200 });
    expect(o.failure?.kind).toBe("livelock");
    expect(o.failure?.message).toBe("step bound 200 exceeded (thread spinner at cond_resched)");
    expect(o.failure?.step).toBe(201);
    expect(o.steps).toBe(201);
    const r = await explore(program, { strategy: new RandomStrategy(1), maxSteps: 300, executions: 3 });
    expect(r.failure?.kind).toBe("livelock");
    expect(r.failure?.message).toContain("step bound 300 exceeded");
  });

  it("a program that finishes within the bound is not a livelock", async () => {
    const o = await runOnce(
      async (ex) => {
        const w = ex.spawn("bounded", async () => {
          for (let i = 0; i < 150; i++) await ex.condResched();
        });
        await w.join();
      },
      { maxSteps: 200 },
    );
    expect(o.failure).toBeNull();
    expect(o.steps).toBeLessThanOrEqual(200);
  });
});

describe("deadlock", () => {
  /** Three philosophers, each taking its left fork then its right one. */
  const philosophers: Program = async (ex) => {
    const forks = [0, 1, 2].map((i) => new Mutex(ex, `fork${i}`));
    const hs = [0, 1, 2].map((i) =>
      ex.spawn(`P${i}`, async () => {
        await forks[i]!.lock();
        await forks[(i + 1) % 3]!.lock();
        await forks[(i + 1) % 3]!.unlock();
        await forks[i]!.unlock();
      }),
    );
    for (const h of hs) await h.join();
  };

  it("the report lists the wait-for cycle, closed, with each thread's blocking object", async () => {
    const r = await explore(philosophers, {
      strategy: new ExhaustiveStrategy(2),
      lockdep: false,
      executions: 10_000,
    });
    expect(r.failure?.kind).toBe("deadlock");
    const cycle = r.failure?.cycle ?? [];
    expect(cycle).toHaveLength(3);
    for (let i = 0; i < cycle.length; i++) {
      // Each owner is the next edge's waiter, and the last owner closes the cycle.
      expect(cycle[i]!.owner).toBe(cycle[(i + 1) % cycle.length]!.thread);
      const snap = r.failure?.threads.find((t) => t.name === cycle[i]!.thread);
      expect(snap?.blockedOn).toBe(cycle[i]!.object);
      expect(r.failure?.threads.find((t) => t.name === cycle[i]!.owner)?.holds).toContain(cycle[i]!.object);
    }
    expect(cycle.map((e) => e.thread).sort()).toEqual(["P0", "P1", "P2"]);
    for (const e of cycle) {
      expect(r.failure?.message).toContain(`${e.thread} waits for ${e.object} held by ${e.owner}`);
    }
  });

  it("with lockdep on, the inversion is reported before anything hangs", async () => {
    const r = await explore(philosophers, { strategy: new ExhaustiveStrategy(0), executions: 10 });
    expect(r.failure?.kind).toBe("potential-deadlock");
    expect(r.failure?.message).toContain("possible circular locking dependency");
  });
});

describe("scheduler errors", () => {
  const threeWriters: Program = async (ex) => {
    const c = new SharedCell(ex, "c", 0);
    const hs = [0, 1, 2].map((i) =>
      ex.spawn(`T${i}`, async () => {
        await c.store(i);
      }),
    );
    for (const h of hs) await h.join();
  };

  it("a chooser that picks a thread that cannot run is reported wherever it is asked", async () => {
    // The n-th choice made after a block or a thread exit (current -1) goes wrong; some of
    // these are made at a thread's exit, outside any thread body.
    for (let n = 0; n < 4; n++) {
      let k = 0;
      const chooser: Chooser = {
        pickThread: (enabled, current) => (current === -1 && k++ === n ? 99 : enabled[0]!),
        pickData: () => 0,
      };
      const ex = new Execution({ chooser, lockdep: new Lockdep(), maxSteps: 1000, record: true, seed: 0 });
      const o = await ex.run(threeWriters);
      expect(o.failure?.kind, `n=${n}`).toBe("exception");
      expect(o.failure?.message, `n=${n}`).toContain("sim: strategy picked thread 99");
    }
  });

  it("a program whose decisions differ between runs is caught by exhaustive search", async () => {
    let calls = 0;
    const drifting: Program = async (ex) => {
      calls++;
      const c = new SharedCell(ex, "c", 0);
      const n = calls % 2 === 0 ? 3 : 2;
      const hs = [];
      for (let i = 0; i < n; i++) hs.push(ex.spawn(`T${i}`, () => c.store(i)));
      for (const h of hs) await h.join();
    };
    const failures: string[] = [];
    await explore(drifting, {
      strategy: new ExhaustiveStrategy(1),
      executions: 20,
      shrink: false,
      onExecution: (o) => {
        if (o.failure !== null) failures.push(o.failure.message);
      },
    });
    expect(failures[0]).toContain("exhaustive: the program is not deterministic");
  });
});
