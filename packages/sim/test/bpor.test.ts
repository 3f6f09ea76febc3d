// Soundness of the bounded partial-order reduction (strategy/bpor.ts), shown rather than
// assumed: on random small programs over the sim primitives, the reduced search and the
// unreduced exhaustive search at the same preemption bound reach the same set of terminal
// states and the same violation kinds; and the reduction never runs more executions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ANY_OBJECT,
  Atomic,
  BporStrategy,
  checkObject,
  type Execution,
  ExhaustiveStrategy,
  explore,
  Lockdep,
  Mutex,
  type Program,
  RwSemaphore,
  replay,
  runExecution,
  SharedCell,
  SpinLock,
  type Strategy,
  WaitQueue,
} from "../src/index.ts";
import { allRuns, tornRead, writers } from "./helpers.ts";

type Op =
  | { t: "load"; cell: number }
  | { t: "store"; cell: number; v: number }
  | { t: "add"; v: number }
  | { t: "locked"; lock: number; cell: number; v: number }
  | { t: "nested"; outer: number; inner: number; cell: number }
  | { t: "rwsem"; mode: "read" | "write" | "downgrade"; cell: number }
  | { t: "bugIf"; cell: number; v: number }
  | { t: "wake" }
  | { t: "waitFor"; cell: number; v: number }
  | { t: "relax" }
  | { t: "oops" };

const cellArb = fc.integer({ min: 0, max: 2 });
const lockArb = fc.integer({ min: 0, max: 2 });
const valueArb = fc.integer({ min: 1, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant("load" as const), cell: cellArb }),
  fc.record({ t: fc.constant("store" as const), cell: cellArb, v: valueArb }),
  fc.record({ t: fc.constant("add" as const), v: valueArb }),
  fc.record({ t: fc.constant("locked" as const), lock: lockArb, cell: cellArb, v: valueArb }),
  fc.record({ t: fc.constant("nested" as const), outer: lockArb, inner: lockArb, cell: cellArb }),
  fc.record({
    t: fc.constant("rwsem" as const),
    mode: fc.constantFrom("read" as const, "write" as const, "downgrade" as const),
    cell: cellArb,
  }),
  fc.record({ t: fc.constant("bugIf" as const), cell: cellArb, v: valueArb }),
  fc.record({ t: fc.constant("wake" as const) }),
  fc.record({ t: fc.constant("waitFor" as const), cell: cellArb, v: valueArb }),
  fc.record({ t: fc.constant("relax" as const) }),
);
/** With unconditional failures of a second kind and watched invariant checks (see build). */
const opWithOopsArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 9, arbitrary: opArb },
  { weight: 1, arbitrary: fc.constant({ t: "oops" as const }) },
);
const checkedProgramArb = fc.array(fc.array(opWithOopsArb, { minLength: 1, maxLength: 4 }), {
  minLength: 2,
  maxLength: 3,
});
const programArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 });

/** The program, and where it leaves its terminal state (cells, atomic, what each thread read). */
function build(threads: Op[][], out: { state: string }, checked = false): Program {
  return async (ex: Execution) => {
    const cells = [0, 1, 2].map((i) => new SharedCell(ex, `c${i}`, 0));
    // Locks 0 and 1 are spinlocks, lock 2 a mutex: different blocking paths.
    const locks = [new SpinLock(ex, "L0"), new SpinLock(ex, "L1"), new Mutex(ex, "M2")];
    // A writer-preferring rwsem: its releases hand it over to the queue's head.
    const sem = new RwSemaphore(ex, "S");
    const guarded = { n: 0 };
    if (checked) {
      // Invariant checks with watches (checks.ts): one on two cells, read after every step;
      // one on a cell while L0 is free (protectedBy), which 'locked' ops update in two stores.
      const [c0, c1, c2] = cells as [SharedCell<number>, SharedCell<number>, SharedCell<number>];
      ex.addCheck("stale-access", () => (c0.peek() === 2 && c1.peek() === 1 ? "c0 2 with c1 1" : null), {
        watch: () => `${c0.peek()},${c1.peek()}`,
      });
      ex.addCheck("core-invariant", () => (c2.peek() % 2 === 1 && c2.peek() > 1 ? "c2 odd" : null), {
        protectedBy: [locks[0]!],
        watch: () => c2.peek(),
      });
      // No watch: state only L1's critical sections write ('locked' on lock 1), seen while L1 is free.
      ex.addCheck("leak", () => (guarded.n === 4 ? "L1's sections ran 1 then 2" : null), {
        protectedBy: [locks[1]!],
      });
    }
    const atomic = new Atomic(ex, "a", 0);
    const wq = new WaitQueue(ex, "wq");
    const seen: number[][] = threads.map(() => []);
    const handles = threads.map((ops, ti) =>
      ex.spawn(`t${ti}`, async () => {
        for (const op of ops) {
          switch (op.t) {
            case "load":
              seen[ti]!.push(await cells[op.cell]!.load());
              break;
            case "store":
              await cells[op.cell]!.store(op.v);
              break;
            case "add":
              seen[ti]!.push(await atomic.add(op.v));
              break;
            case "locked": {
              const l = locks[op.lock]!;
              await l.lock();
              if (op.lock === 1) guarded.n = guarded.n * 2 + op.v;
              const v = await cells[op.cell]!.load();
              await cells[op.cell]!.store(v + op.v);
              await l.unlock();
              break;
            }
            case "nested": {
              if (op.outer === op.inner) break;
              await locks[op.outer]!.lock();
              await locks[op.inner]!.lock();
              seen[ti]!.push(await cells[op.cell]!.load());
              await locks[op.inner]!.unlock();
              await locks[op.outer]!.unlock();
              break;
            }
            case "rwsem": {
              const c = cells[op.cell]!;
              if (op.mode === "write") {
                await sem.downWrite();
                await c.store((await c.load()) + 1);
                await sem.upWrite();
              } else if (op.mode === "downgrade") {
                await sem.downWrite();
                await c.store((await c.load()) + 1);
                await sem.downgradeWrite();
                seen[ti]!.push(await c.load());
                await sem.upRead();
              } else {
                await sem.downRead();
                seen[ti]!.push(await c.load());
                await sem.upRead();
              }
              break;
            }
            case "bugIf":
              if ((await cells[op.cell]!.load()) === op.v) {
                throw Object.assign(new Error(`c${op.cell} is ${op.v}`), { failureKind: "kernel-bug" });
              }
              break;
            case "wake":
              await wq.wakeUpAll();
              break;
            case "waitFor": {
              // Bounded: wait_event_timeout, so a missed wake-up is a timeout, not a hang.
              const c = cells[op.cell]!;
              seen[ti]!.push(await wq.waitEventTimeout(() => c.peek() >= op.v, 5));
              break;
            }
            case "relax":
              await ex.condResched();
              break;
            case "oops":
              await ex.condResched();
              throw Object.assign(new Error(`t${ti} oopses`), { failureKind: "kernel-warn" });
          }
        }
      }),
    );
    for (const h of handles) await h.join();
    out.state = JSON.stringify([cells.map((c) => c.peek()), atomic.peek(), seen, ex.now]);
  };
}

interface Reached {
  terminal: string[];
  kinds: string[];
  executions: number;
}

async function search(
  threads: Op[][],
  strategy: Strategy,
  budget: number,
  checked = false,
): Promise<Reached> {
  const terminal = new Set<string>();
  const kinds = new Set<string>();
  let n = 0;
  for (; n < budget && strategy.beginExecution(n); n++) {
    const out = { state: "" };
    // Lockdep off: its graph spans executions, so what it reports depends on the order the
    // executions ran in, not on the schedules reached.
    const o = await runExecution(build(threads, out, checked), strategy, new Lockdep(false), 500, false);
    strategy.endExecution(o);
    if (o.failure !== null) kinds.add(o.failure.kind);
    else terminal.add(out.state);
  }
  if (n >= budget) throw new Error(`search did not finish within ${budget} executions`);
  return { terminal: [...terminal].sort(), kinds: [...kinds].sort(), executions: n };
}

describe("bounded partial-order reduction", () => {
  it("walks no backtrack for a step that enabled the racing thread: a spawn, a lock's hand-over, an exit to its joiner", async () => {
    // main spawns both and joins both; each takes spinlock L0 around a store of its own: the
    // second to ask blocks and is woken by the first's unlock (file comment: races with the
    // step that enables a thread). What the reduction reaches is still what exhaustive search does.
    const threads: Op[][] = [
      [{ t: "locked", lock: 0, cell: 0, v: 1 }],
      [{ t: "locked", lock: 0, cell: 1, v: 2 }],
      [{ t: "rwsem", mode: "write", cell: 2 }],
    ];
    for (const bound of [1, 2]) {
      const bpor = new BporStrategy(bound);
      const reduced = await search(threads, bpor, 20_000);
      const full = await search(threads, new ExhaustiveStrategy(bound), 20_000);
      expect(reduced.terminal).toEqual(full.terminal);
      expect(reduced.kinds).toEqual(full.kinds);
      expect(reduced.executions).toBeLessThan(full.executions);
      expect(Number(bpor.describe().params.enablingRaces)).toBeGreaterThan(0);
    }
  });

  it("reaches the terminal states and violation kinds exhaustive search reaches, at the same bound", async () => {
    await fc.assert(
      fc.asyncProperty(programArb, fc.integer({ min: 0, max: 2 }), async (threads, bound) => {
        const full = await search(threads, new ExhaustiveStrategy(bound), 20_000);
        const reduced = await search(threads, new BporStrategy(bound), 20_000);
        expect(reduced.terminal).toEqual(full.terminal);
        expect(reduced.kinds).toEqual(full.kinds);
        expect(reduced.executions).toBeLessThanOrEqual(full.executions);
      }),
      { numRuns: 60, seed: 18 },
    );
  }, 120_000);

  // Fails when the failing step is not made to conflict with the other threads' pending steps
  // (bpor.ts addRaces), or when runChecks stops touching the check's object: both were tried.
  it("with watched invariant checks and failures that end the execution, reaches the same kinds and states", async () => {
    await fc.assert(
      fc.asyncProperty(checkedProgramArb, fc.integer({ min: 0, max: 2 }), async (threads, bound) => {
        const full = await search(threads, new ExhaustiveStrategy(bound), 20_000, true);
        const reduced = await search(threads, new BporStrategy(bound), 20_000, true);
        expect(reduced.terminal).toEqual(full.terminal);
        expect(reduced.kinds).toEqual(full.kinds);
        expect(reduced.executions).toBeLessThanOrEqual(full.executions);
      }),
      { numRuns: 60, seed: 1818 },
    );
  }, 120_000);

  it("logs the visibility condition: the steps that change a watched check's state touch its object", async () => {
    const prog: Program = async (ex) => {
      const c0 = new SharedCell(ex, "c0", 0);
      const other = new SharedCell(ex, "other", 0);
      ex.addCheck("stale-access", () => (c0.peek() === 9 ? "c0 is 9" : null), { watch: () => c0.peek() });
      const a = ex.spawn("a", async () => {
        await other.store(1);
        await c0.store(1);
        await other.store(2);
        ex.touch("unlocked-test"); // a read with no point of its own, named
      });
      await a.join();
    };
    const s = new BporStrategy(0);
    s.beginExecution(0);
    const o = await runExecution(prog, s, new Lockdep(false), 100, false);
    const log = o.footprints!;
    const touched = log.object.filter((_, i) => log.also[i]?.includes(checkObject(0)) === true);
    // main's first step (it registers the check) and the store to c0 change the watch; the
    // stores to `other`, the thread's start and main's join do not.
    expect(touched).toEqual([ANY_OBJECT, "c0"]);
    expect(log.object.filter((x) => x === "other").length).toBe(2);
    // Execution.touch: the step running it (the one after the second store) names the object.
    const named = log.object.filter((_, i) => log.also[i]?.includes("unlocked-test") === true);
    expect(named).toEqual(["other"]);
  });

  it("a watched check makes only the steps that change its state dependent", async () => {
    const threads: Op[][] = [0, 1, 2].map((i) => [
      { t: "store", cell: i, v: 1 },
      { t: "load", cell: i },
      { t: "store", cell: i, v: 2 },
    ]);
    const full = await search(threads, new ExhaustiveStrategy(2), 20_000, true);
    const reduced = await search(threads, new BporStrategy(2), 20_000, true);
    expect(reduced.terminal).toEqual(full.terminal);
    expect(reduced.kinds).toEqual(full.kinds);
    // c2's stores are invisible to both checks (the L0 check reads c2 but only odd values
    // above 1 fail... its watch is c2 itself, so they are visible): still fewer than full.
    expect(reduced.executions).toBeLessThan(full.executions);
  });

  it("runs fewer executions when the threads touch different objects", async () => {
    const threads: Op[][] = [0, 1, 2].map((i) => [
      { t: "store", cell: i, v: 1 },
      { t: "load", cell: i },
      { t: "store", cell: i, v: 2 },
    ]);
    const full = await search(threads, new ExhaustiveStrategy(2), 20_000);
    const reduced = await search(threads, new BporStrategy(2), 20_000);
    expect(reduced.terminal).toEqual(full.terminal);
    // What is left is genuine: main's join of each thread against that thread's exit.
    expect(full.executions).toBe(1782);
    expect(reduced.executions).toBeLessThan(full.executions / 5);
  });

  it("keeps both orders of two stores to one cell", async () => {
    const threads: Op[][] = [[{ t: "store", cell: 0, v: 1 }], [{ t: "store", cell: 0, v: 2 }]];
    const reduced = await search(threads, new BporStrategy(1), 100);
    expect(reduced.terminal.length).toBe(2);
  });

  it("treats every step as dependent once an invariant check is registered", async () => {
    const threads: Op[][] = [0, 1].map((i) => [{ t: "store", cell: i, v: 1 }]);
    const withCheck: Program = async (ex) => {
      ex.addCheck("core-invariant", () => null);
      await build(threads, { state: "" })(ex);
    };
    const run = async (s: Strategy) => {
      let n = 0;
      for (; s.beginExecution(n); n++)
        s.endExecution(await runExecution(withCheck, s, new Lockdep(false), 500, false));
      return n;
    };
    expect(await run(new BporStrategy(2))).toBe(await run(new ExhaustiveStrategy(2)));
  });
});

// Bound by bound (bpor.ts, file comment): each level is the single walk at that bound, and
// the levels below are replayed from their records instead of run again.
describe("bounded partial-order reduction, bound by bound", () => {
  it("reaches what the single walk at the top bound reaches, in no more executions", async () => {
    await fc.assert(
      fc.asyncProperty(checkedProgramArb, fc.integer({ min: 1, max: 2 }), async (threads, bound) => {
        const single = await search(threads, new BporStrategy(bound, { order: "depth-first" }), 20_000, true);
        const levels = await search(threads, new BporStrategy(bound), 20_000, true);
        expect(levels.terminal).toEqual(single.terminal);
        expect(levels.kinds).toEqual(single.kinds);
        expect(levels.executions).toBeLessThanOrEqual(single.executions);
      }),
      { numRuns: 15, seed: 2121 },
    );
  }, 120_000);

  it("runs no schedule with more preemptions than its level, and the levels in order", async () => {
    const s = new BporStrategy(2);
    const levels: number[] = [];
    const runs: { preemptions: number }[] = [];
    await explore(writers(3), {
      strategy: {
        name: s.name,
        seed: 0,
        wantsFootprints: true,
        beginExecution: (i) => {
          const go = s.beginExecution(i);
          if (go) levels.push(s.currentBound);
          return go;
        },
        pickThread: (e, c) => s.pickThread(e, c),
        pickData: (n) => s.pickData(n),
        endExecution: (o) => s.endExecution(o),
        describe: () => s.describe(),
      } as Strategy,
      executions: 100_000,
      stopOnFailure: false,
      shrink: false,
      onExecution: (o) => runs.push(o),
    });
    expect(s.isExhausted).toBe(true);
    expect(new Set(levels)).toEqual(new Set([0, 1, 2]));
    for (let i = 1; i < levels.length; i++) expect(levels[i]!).toBeGreaterThanOrEqual(levels[i - 1]!);
    for (const [i, o] of runs.entries()) expect(o.preemptions).toBeLessThanOrEqual(levels[i]!);
    const params = s.describe().params;
    expect(params).toMatchObject({ order: "iterative", boundsCompleted: 2 });
    // Levels 0 and 1 were replayed at the levels above them, not run again.
    expect(Number(params.replayed)).toBeGreaterThan(0);
    expect(String(params.executionsPerBound).split(",").map(Number)).toEqual(
      [0, 1, 2].map((b) => levels.filter((l) => l === b).length),
    );
  });

  it("cut short inside bound b, it has run the whole reduced search at b-1 (boundsCompleted b-1)", async () => {
    const b1 = await allRuns(writers(3), new BporStrategy(1));
    const s = new BporStrategy(2);
    const cut = await allRuns(writers(3), s, b1.runs.length + 1);
    expect(cut.r.exhausted).toBe(false);
    expect(s.boundsCompleted).toBe(1);
    expect(s.currentBound).toBe(2);
    expect(cut.lists.slice(0, b1.lists.length)).toEqual(b1.lists);
  });

  // Measured here: execution 17 bound by bound; 15 for the reduced single walk at bound 3,
  // which dives to the bound at once and happens to meet this one-preemption read early; 29
  // for the unreduced depth-first walk. What is pinned is the smallest bound and the latter.
  it("finds the torn read at its smallest bound, sooner than the unreduced depth-first walk, and it replays", async () => {
    const dfs = await allRuns(tornRead, new ExhaustiveStrategy(3, { order: "depth-first" }));
    const least = Math.min(...dfs.runs.filter((o) => o.failure !== null).map((o) => o.preemptions));
    const r = await explore(tornRead, { strategy: new BporStrategy(3), executions: 100_000 });
    expect(r.failure?.kind).toBe("torn-read");
    const first = await allRuns(tornRead, new BporStrategy(3), r.firstFailureAt!);
    expect(first.runs.at(-1)!.preemptions).toBe(least);
    expect(r.firstFailureAt!).toBeLessThan(dfs.runs.findIndex((o) => o.failure !== null) + 1);
    expect((await replay(tornRead, r.replay!)).failure?.kind).toBe("torn-read");
  });
});
