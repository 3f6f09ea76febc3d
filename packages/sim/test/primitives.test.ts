// Kernel-style primitives: the semantics the models rely on, checked over every schedule
// of small programs (exhaustive search with the bounded space walked completely).
import { describe, expect, it } from "vitest";
import {
  Atomic,
  Completion,
  ExhaustiveStrategy,
  explore,
  Mutex,
  type Program,
  RandomStrategy,
  Refcount,
  RwSemaphore,
  SharedCell,
  SpinLock,
  Srcu,
} from "../src/index.ts";
import { runOnce, runUnder } from "./helpers.ts";

/** Explore every schedule within `bound` preemptions; the space must be exhausted. */
async function everySchedule(program: Program, bound = 3, lockdep = true) {
  const r = await explore(program, {
    strategy: new ExhaustiveStrategy(bound),
    executions: 200_000,
    lockdep,
  });
  expect(r.exhausted).toBe(true);
  return r;
}

describe("writer-preferring rw_semaphore", () => {
  /** R takes the read lock twice; W wants it for write in between. */
  const recursiveRead: Program = async (ex) => {
    const sem = new RwSemaphore(ex, "mmap_lock");
    const r = ex.spawn("R", async () => {
      await sem.downRead();
      await ex.condResched();
      await sem.downRead();
      await sem.upRead();
      await sem.upRead();
    });
    const w = ex.spawn("W", async () => {
      await sem.downWrite();
      await sem.upWrite();
    });
    await r.join();
    await w.join();
  };

  it("a reader that reads again behind a queued writer deadlocks: R -> W -> R", async () => {
    const r = await explore(recursiveRead, {
      strategy: new ExhaustiveStrategy(2),
      lockdep: false,
      executions: 10_000,
    });
    expect(r.failure?.kind).toBe("deadlock");
    const cycle = r.failure?.cycle ?? [];
    expect(cycle).toEqual([
      { thread: "R", object: "mmap_lock", owner: "W" },
      { thread: "W", object: "mmap_lock", owner: "R" },
    ]);
    const snaps = r.failure?.threads ?? [];
    expect(snaps.find((t) => t.name === "R")).toMatchObject({ state: "blocked", holds: ["mmap_lock"] });
    expect(snaps.find((t) => t.name === "W")).toMatchObject({ state: "blocked", holds: [] });
    // The shrunk schedule needs exactly one preemption: R is switched out holding the lock.
    expect(r.shrink?.toPreemptions).toBe(1);
  });

  it("without a writer in between, reading recursively is fine", async () => {
    const noWriter: Program = async (ex) => {
      const sem = new RwSemaphore(ex, "mmap_lock");
      const hs = ["R1", "R2"].map((n) =>
        ex.spawn(n, async () => {
          await sem.downRead();
          await sem.downRead();
          await sem.upRead();
          await sem.upRead();
        }),
      );
      for (const h of hs) await h.join();
      if (sem.readerCount !== 0) ex.fail("bad-count", `readerCount ${sem.readerCount}`);
    };
    const r = await everySchedule(noWriter, 4);
    expect(r.failure).toBeNull();
  });

  /**
   * R1 holds the lock for read for a while; W asks for write; R2 asks for read. When R2
   * finds a writer queued (and none holding), it must get the lock only after W did.
   */
  function starvation(useTrylock: boolean) {
    let sawQueuedWriter = 0;
    const program: Program = async (ex) => {
      const sem = new RwSemaphore(ex, "mmap_lock");
      const log: string[] = [];
      const r1 = ex.spawn("R1", async () => {
        await sem.downRead();
        log.push("R1+");
        await ex.condResched();
        await ex.condResched();
        await sem.upRead();
      });
      const w = ex.spawn("W", async () => {
        await sem.downWrite();
        log.push("W+");
        await sem.upWrite();
      });
      const r2 = ex.spawn("R2", async () => {
        await ex.condResched();
        const writerQueued = sem.hasWaiters && !sem.isWriteLocked;
        if (writerQueued) sawQueuedWriter++;
        if (useTrylock) {
          const got = await sem.downReadTrylock();
          if (got && writerQueued && !log.includes("W+"))
            ex.fail("starved", "down_read_trylock succeeded past a queued writer");
          if (got) await sem.upRead();
          return;
        }
        await sem.downRead();
        if (writerQueued && !log.includes("W+"))
          ex.fail("starved", `R2 read before the queued writer: ${log}`);
        log.push("R2+");
        await sem.upRead();
      });
      for (const h of [r1, w, r2]) await h.join();
    };
    return { program, seen: () => sawQueuedWriter };
  }

  it("a reader arriving behind a queued writer waits for it (no writer starvation)", async () => {
    const s = starvation(false);
    const r = await everySchedule(s.program, 3);
    expect(r.failure).toBeNull();
    expect(s.seen()).toBeGreaterThan(0);
  });

  it("down_read_trylock fails while a writer is queued", async () => {
    const s = starvation(true);
    const r = await everySchedule(s.program, 3);
    expect(r.failure).toBeNull();
    expect(s.seen()).toBeGreaterThan(0);
  });

  it("readers share, writers exclude: never a writer with anyone else inside", async () => {
    const program: Program = async (ex) => {
      const sem = new RwSemaphore(ex, "sem");
      let readers = 0;
      let writers = 0;
      let maxReaders = 0;
      ex.addCheck("exclusion", () =>
        writers > 1 || (writers === 1 && readers > 0) ? `readers=${readers} writers=${writers}` : null,
      );
      const reader = async () => {
        await sem.downRead();
        readers++;
        maxReaders = Math.max(maxReaders, readers);
        await ex.condResched();
        readers--;
        await sem.upRead();
      };
      const writer = async () => {
        await sem.downWrite();
        writers++;
        await ex.condResched();
        writers--;
        await sem.upWrite();
      };
      const hs = [ex.spawn("r1", reader), ex.spawn("r2", reader), ex.spawn("w", writer)];
      for (const h of hs) await h.join();
      ex.count("maxReaders", maxReaders);
    };
    const r = await everySchedule(program, 2);
    expect(r.failure).toBeNull();
    // Two readers were inside together in some schedule.
    expect(r.counters.maxReaders).toBeGreaterThan(r.executions);
  });

  it("downgrade_write lets queued readers in while keeping the read side", async () => {
    const o = await runOnce(async (ex) => {
      const sem = new RwSemaphore(ex, "sem");
      await sem.downWrite();
      const rd = ex.spawn("reader", async () => {
        await sem.downRead();
        await sem.upRead();
      });
      await ex.condResched(); // the reader may queue here
      await sem.downgradeWrite();
      if (sem.isWriteLocked) ex.fail("still-write-locked", "downgrade kept the write lock");
      await rd.join();
      await sem.upRead();
      if (sem.readerCount !== 0 || sem.hasWaiters) ex.fail("not-released", "lock not free at the end");
    });
    expect(o.failure).toBeNull();
  });

  it("up_read without holding it is a kernel WARN", async () => {
    const o = await runOnce(async (ex) => {
      const sem = new RwSemaphore(ex, "sem");
      await sem.upRead();
    });
    expect(o.failure?.kind).toBe("kernel-warn");
    expect(o.failure?.message).toContain("up_read(sem) without holding it for read");
  });
});

describe("SRCU", () => {
  it("synchronize_srcu waits for read sections that began before it, not later ones", async () => {
    const program: Program = async (ex) => {
      const srcu = new Srcu(ex, "notifier_srcu");
      const r1In = new Completion(ex, "r1_in");
      const events: string[] = [];
      const r1 = ex.spawn("R1", async () => {
        const idx = await srcu.readLock();
        await r1In.completeAll();
        await ex.sleep(100);
        events.push(`R1 unlock @${ex.now}`);
        await srcu.readUnlock(idx);
      });
      const syncer = ex.spawn("syncer", async () => {
        await r1In.wait();
        await srcu.synchronize();
        events.push(`synchronized @${ex.now}`);
      });
      const r2 = ex.spawn("R2", async () => {
        await r1In.wait();
        await ex.sleep(10); // by now the syncer is waiting: nothing advanced time before
        const idx = await srcu.readLock();
        events.push(`R2 lock @${ex.now}`);
        await ex.sleep(1000);
        events.push(`R2 unlock @${ex.now}`);
        await srcu.readUnlock(idx);
      });
      for (const h of [r1, syncer, r2]) await h.join();
      const expected = ["R2 lock @10", "R1 unlock @100", "synchronized @100", "R2 unlock @1010"];
      if (events.join(", ") !== expected.join(", ")) ex.fail("srcu-order", events.join(", "));
    };
    for (const o of await runUnder(program, 30)) expect(o.failure).toBeNull();
    const r = await everySchedule(program, 2);
    expect(r.failure).toBeNull();
  });

  it("synchronize with no reader inside returns at once", async () => {
    const o = await runOnce(async (ex) => {
      const srcu = new Srcu(ex, "s");
      const idx = await srcu.readLock();
      await srcu.readUnlock(idx);
      await srcu.synchronize();
      if (ex.now !== 0) ex.fail("waited", `now=${ex.now}`);
    });
    expect(o.failure).toBeNull();
  });

  it("synchronize inside one's own read section deadlocks on itself", async () => {
    const o = await runOnce(async (ex) => {
      const srcu = new Srcu(ex, "s");
      const w = ex.spawn("self-sync", async () => {
        await srcu.readLock();
        await srcu.synchronize();
      });
      await w.join();
    });
    expect(o.failure?.kind).toBe("deadlock");
    expect(o.failure?.cycle).toEqual([{ thread: "self-sync", object: "s", owner: "self-sync" }]);
  });

  it("unlocking a section not held is a kernel WARN", async () => {
    const o = await runOnce(async (ex) => {
      await new Srcu(ex, "s").readUnlock(7);
    });
    expect(o.failure?.kind).toBe("kernel-warn");
  });
});

describe("refcount_t", () => {
  it("WARNs on increment from zero", async () => {
    const o = await runOnce(async (ex) => {
      const ref = new Refcount(ex, "mm->mm_users", 0);
      await ref.inc();
    });
    expect(o.failure?.kind).toBe("kernel-warn");
    expect(o.failure?.message).toBe("refcount_t: addition on 0; use-after-free (mm->mm_users)");
  });

  it("WARNs on underflow", async () => {
    const o = await runOnce(async (ex) => {
      const ref = new Refcount(ex, "page->_refcount", 1);
      if (!(await ref.decAndTest())) ex.fail("test", "dropping the last reference must return true");
      await ref.decAndTest();
    });
    expect(o.failure?.kind).toBe("kernel-warn");
    expect(o.failure?.message).toBe("refcount_t: underflow; use-after-free (page->_refcount)");
  });

  it("inc_not_zero refuses a zero count without a WARN; balanced use is clean", async () => {
    const o = await runOnce(async (ex) => {
      const zero = new Refcount(ex, "zero", 0);
      if (await zero.incNotZero()) ex.fail("test", "inc_not_zero on 0 succeeded");
      const ref = new Refcount(ex, "ref", 1);
      await ref.inc();
      if (!(await ref.incNotZero())) ex.fail("test", "inc_not_zero on 2 failed");
      const last = [await ref.decAndTest(), await ref.decAndTest(), await ref.decAndTest()];
      if (last.join() !== "false,false,true") ex.fail("test", `dec_and_test gave ${last}`);
    });
    expect(o.failure).toBeNull();
  });

  it("concurrent get/put pairs never drop the last reference early", async () => {
    const program: Program = async (ex) => {
      const ref = new Refcount(ex, "ref", 1);
      const hs = ["A", "B"].map((n) =>
        ex.spawn(n, async () => {
          if (!(await ref.incNotZero())) return;
          if (await ref.decAndTest()) ex.fail("early-free", `${n} dropped the last reference`);
        }),
      );
      for (const h of hs) await h.join();
      if (!(await ref.decAndTest())) ex.fail("leak", `final count ${ref.peek()}`);
    };
    const r = await everySchedule(program, 3);
    expect(r.failure).toBeNull();
  });

  it("atomic_cmpxchg and add return what the kernel's do", async () => {
    const o = await runOnce(async (ex) => {
      const a = new Atomic(ex, "a", 5);
      const got = [await a.cmpxchg(4, 9), await a.cmpxchg(5, 9), await a.add(-2), await a.read()];
      if (got.join() !== "5,5,7,7") ex.fail("atomic", got.join());
    });
    expect(o.failure).toBeNull();
  });
});

describe("completion", () => {
  /** `waiters` threads wait on one completion; a completer thread signals it with `signal`. */
  function completionProgram(waiters: number, signal: (c: Completion) => Promise<void>): Program {
    return async (ex) => {
      const c = new Completion(ex, "done");
      let passed = 0;
      const hs = Array.from({ length: waiters }, (_, i) =>
        ex.spawn(`W${i}`, async () => {
          await c.wait();
          passed++;
        }),
      );
      const k = ex.spawn("completer", () => signal(c));
      await k.join();
      for (const h of hs) await h.join();
      ex.count("passed", passed);
    };
  }

  it("complete() releases exactly one waiter: with two waiters the other sleeps for ever", async () => {
    const r = await explore(
      completionProgram(2, (c) => c.complete()),
      { strategy: new RandomStrategy(4), executions: 30, stopOnFailure: false, shrink: false },
    );
    expect(r.failures).toBe(30);
    expect(r.failure?.kind).toBe("deadlock");
    expect(r.failure?.threads.filter((t) => t.blockedOn === "done")).toHaveLength(1);
  });

  it("complete() twice releases both; complete_all() releases every waiter", async () => {
    const twice = await everySchedule(
      completionProgram(2, async (c) => {
        await c.complete();
        await c.complete();
      }),
    );
    expect(twice.failure).toBeNull();
    expect(twice.counters.passed).toBe(2 * twice.executions);
    const all = await everySchedule(
      completionProgram(3, (c) => c.completeAll()),
      1,
    );
    expect(all.failure).toBeNull();
    expect(all.counters.passed).toBe(3 * all.executions);
  });

  it("a complete() before the wait is not lost; complete_all() also covers later waiters", async () => {
    const o = await runOnce(async (ex) => {
      const c = new Completion(ex, "c");
      await c.complete();
      await c.wait();
      if (c.isDone) ex.fail("test", "one complete() was consumed twice");
      await c.completeAll();
      await c.wait();
      await c.wait();
      if (!c.isDone) ex.fail("test", "complete_all() did not stay done");
      await c.reinit();
      if (c.isDone) ex.fail("test", "reinit_completion() left it done");
    });
    expect(o.failure).toBeNull();
  });
});

describe("locks misused", () => {
  it("unlocking a mutex held by another thread is a kernel WARN", async () => {
    const o = await runOnce(async (ex) => {
      const m = new Mutex(ex, "m");
      await m.lock();
      const a = ex.spawn("A", () => m.unlock());
      await a.join();
      await m.unlock();
    });
    expect(o.failure?.kind).toBe("kernel-warn");
    expect(o.failure?.message).toBe("A unlocks m held by main");
  });

  it("spin_unlock of a free spinlock is a kernel WARN", async () => {
    const o = await runOnce(async (ex) => {
      await new SpinLock(ex, "s").unlock();
    });
    expect(o.failure?.kind).toBe("kernel-warn");
    expect(o.failure?.message).toContain("unlocks s held by nobody");
  });

  it("a mutex gives mutual exclusion over every schedule", async () => {
    const program: Program = async (ex) => {
      const m = new Mutex(ex, "m");
      const c = new SharedCell(ex, "c", 0);
      const inside = new Set<string>();
      const hs = ["A", "B", "C"].map((n) =>
        ex.spawn(n, async () => {
          await m.lock();
          inside.add(n);
          if (inside.size > 1) ex.fail("exclusion", [...inside].join(","));
          await c.store(await c.load());
          inside.delete(n);
          await m.unlock();
        }),
      );
      for (const h of hs) await h.join();
    };
    const r = await everySchedule(program, 2);
    expect(r.failure).toBeNull();
  });
});

describe("SharedCell.rmw (set_bit / clear_bit)", () => {
  // Two threads each set their own bit: an atomic read-modify-write never loses the other's,
  // while a READ_ONCE then WRITE_ONCE of the same word does in some schedule.
  const bits =
    (atomic: boolean): Program =>
    async (ex) => {
      const word = new SharedCell(ex, "word", 0);
      const hs = [1, 2].map((bit) =>
        ex.spawn(`t${bit}`, async () => {
          if (atomic) await word.rmw("set_bit", (v) => v | bit);
          else await word.store((await word.load()) | bit);
        }),
      );
      for (const h of hs) await h.join();
      if (word.peek() !== 3) ex.fail("stale-access", `word is ${word.peek()}`);
    };

  it("never loses a concurrent bit; load then store does", async () => {
    const rmw = await explore(bits(true), { strategy: new ExhaustiveStrategy(2), executions: 10_000 });
    expect(rmw.exhausted).toBe(true);
    expect(rmw.failure).toBeNull();
    const plain = await explore(bits(false), { strategy: new ExhaustiveStrategy(2), executions: 10_000 });
    expect(plain.failure?.message).toMatch(/word is [12]/);
  });
});
