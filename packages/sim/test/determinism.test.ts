// The determinism check: run one token twice and name the first event where the traces
// differ. A model that consults state outside the decision list is caught here.
import { describe, expect, it } from "vitest";
import {
  checkDeterminism,
  encodeToken,
  explore,
  type Program,
  RandomStrategy,
  recorded,
  replay,
  SharedCell,
} from "../src/index.ts";
import { runOnce } from "./helpers.ts";

/** Two writers; when `leak` is set, the value B writes comes from a module-level counter. */
function program(leak: { calls: number } | null): Program {
  return async (ex) => {
    if (leak !== null) leak.calls++;
    const x = new SharedCell(ex, "x", 0);
    const a = ex.spawn("A", async () => {
      await x.store(1);
      await ex.condResched();
      await x.store(2);
    });
    const b = ex.spawn("B", async () => {
      await ex.condResched();
      await x.store(leak === null ? 10 : 10 + leak.calls);
    });
    await a.join();
    await b.join();
  };
}

async function tokenOf(p: Program, seed: number): Promise<string> {
  const strategy = new RandomStrategy(seed);
  const o = await runOnce(p, { strategy, record: false });
  return encodeToken({ lockdep: true, executions: [recorded(strategy.seed, o)] });
}

describe("checkDeterminism", () => {
  it("a normal program replays identically", async () => {
    const p = program(null);
    for (const seed of [1, 2, 3, 4]) {
      const report = await checkDeterminism(p, await tokenOf(p, seed));
      expect(report.identical).toBe(true);
      expect(report.divergence).toBeUndefined();
      expect(report.events).toBeGreaterThan(8);
    }
  });

  it("a program reading a module-level counter is reported at its first divergent event", async () => {
    const leak = { calls: 0 };
    const p = program(leak);
    const token = await tokenOf(p, 5);
    // Where the store of B sits in this schedule's trace (any run: only its value changes).
    const trace = (await replay(p, token)).trace ?? [];
    const at = trace.findIndex((e) => e.op === "WRITE_ONCE" && e.threadName === "B");
    expect(at).toBeGreaterThan(0);

    leak.calls = 0;
    const report = await checkDeterminism(p, token);
    expect(report.identical).toBe(false);
    expect(report.divergence?.index).toBe(at);
    expect(report.divergence?.first).toMatch(/\[2:B\] op WRITE_ONCE x 11$/);
    expect(report.divergence?.second).toMatch(/\[2:B\] op WRITE_ONCE x 12$/);
  });

  it("a divergence that changes the schedule's length names where one trace ends", async () => {
    let calls = 0;
    const p: Program = async (ex) => {
      calls++;
      const x = new SharedCell(ex, "x", 0);
      await x.store(1);
      if (calls % 2 === 0) await x.store(2);
    };
    const report = await checkDeterminism(p, "v1.0.");
    expect(report.identical).toBe(false);
    // First run: store 1, exit; second run: store 1, store 2, exit.
    expect(report.divergence).toEqual({
      index: 1,
      first: "#1 t=0 [0:main] exit exit",
      second: "#2 t=0 [0:main] op WRITE_ONCE x 2",
    });
    expect(report.events).toBe(3);
  });

  it("checks the token of an explored failure as the CLI would", async () => {
    const racy: Program = async (ex) => {
      const x = new SharedCell(ex, "x", 0);
      const inc = async () => {
        const v = await x.load();
        await x.store(v + 1);
      };
      const hs = [ex.spawn("A", inc), ex.spawn("B", inc)];
      for (const h of hs) await h.join();
      if (x.peek() !== 2) ex.fail("lost-update", `x=${x.peek()}`);
    };
    const r = await explore(racy, { strategy: new RandomStrategy(11), executions: 200 });
    expect(r.failure?.kind).toBe("lost-update");
    const report = await checkDeterminism(racy, r.replay!);
    expect(report).toMatchObject({ identical: true });
  });
});
