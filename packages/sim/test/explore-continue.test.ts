// explore({stopOnFailure: false}): the exploration goes on after a violation and keeps the
// first execution of each distinct kind, each with its own counterexample. Lockdep reports
// once and then turns itself off, as the kernel's does, so the hang an inversion predicts is
// found too — with a token that replays with lockdep off.

import { describe, expect, it } from "vitest";
import { decodeToken, ExhaustiveStrategy, explore, Mutex, type Program, replay } from "../src/index.ts";

/** The classic ABBA: A then B in one thread, B then A in the other. */
const abba: Program = async (ex) => {
  const a = new Mutex(ex, "A");
  const b = new Mutex(ex, "B");
  const t1 = ex.spawn("T1", async () => {
    await a.lock();
    await b.lock();
    await b.unlock();
    await a.unlock();
  });
  const t2 = ex.spawn("T2", async () => {
    await b.lock();
    await a.lock();
    await a.unlock();
    await b.unlock();
  });
  await t1.join();
  await t2.join();
};

describe("exploration past the first violation", () => {
  it("stops at the first violation by default: lockdep's report hides the hang", async () => {
    const r = await explore(abba, { strategy: new ExhaustiveStrategy(2), executions: 500 });
    expect(r.violations.map((v) => v.kind)).toEqual(["potential-deadlock"]);
    expect(r.failure?.kind).toBe("potential-deadlock");
  });

  it("goes on, and finds the deadlock the report predicts", async () => {
    const r = await explore(abba, {
      strategy: new ExhaustiveStrategy(2),
      executions: 500,
      stopOnFailure: false,
    });
    expect(r.violations.map((v) => v.kind)).toEqual(["potential-deadlock", "deadlock"]);
    const [lockdep, hang] = r.violations as [(typeof r.violations)[0], (typeof r.violations)[0]];
    // the first is the result's failure; each kind's first execution is kept
    expect(r.failure?.kind).toBe("potential-deadlock");
    expect(r.firstFailureAt).toBe(lockdep.firstFailureAt);
    expect(hang.firstFailureAt).toBeGreaterThan(lockdep.firstFailureAt);
    expect(r.exhausted).toBe(true);
    // the lockdep report replays with lockdep on; the hang, found after lockdep turned off, without
    expect(decodeToken(lockdep.replay).lockdep).toBe(true);
    expect(decodeToken(hang.replay).lockdep).toBe(false);
    expect((await replay(abba, lockdep.replay)).failure?.kind).toBe("potential-deadlock");
    expect((await replay(abba, hang.replay)).failure?.kind).toBe("deadlock");
    expect(hang.failure.trace?.length).toBeGreaterThan(0);
  });

  it("is deterministic: the same exploration gives the same violations and tokens", async () => {
    const run = () =>
      explore(abba, { strategy: new ExhaustiveStrategy(2), executions: 500, stopOnFailure: false });
    const [a, b] = [await run(), await run()];
    expect(b.violations.map((v) => [v.kind, v.firstFailureAt, v.replay])).toEqual(
      a.violations.map((v) => [v.kind, v.firstFailureAt, v.replay]),
    );
  });
});
