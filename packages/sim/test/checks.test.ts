// Invariant checks (checks.ts) run at the end of every step: one that ends at a scheduling
// point, and one that ends by blocking (msleep here), so a state a step leaves behind it is
// judged before any other step runs — the partial-order reduction's visibility argument
// (footprint.ts) needs every step's end checked.
import { describe, expect, it } from "vitest";
import type { Program } from "../src/index.ts";
import { runOnce } from "./helpers.ts";

describe("invariant checks", () => {
  it("judge the state a step leaves when the step ends by blocking", async () => {
    const state = { x: 0 };
    const program: Program = async (ex) => {
      ex.addCheck("core-invariant", () => (state.x === 1 ? "x is 1" : null));
      const a = ex.spawn("a", async () => {
        state.x = 1;
        // msleep(): a block with no point before it; the clock then wakes the thread, which
        // undoes the state before its next point. Only the check at the block sees x == 1.
        await ex.sleep(1);
        state.x = 0;
        await ex.condResched();
      });
      await a.join();
    };
    const o = await runOnce(program);
    expect(o.failure?.kind).toBe("core-invariant");
    expect(o.failure?.message).toBe("x is 1");
    expect(o.failure?.thread).toBe(1);
  });

  it("skipUnchanged: a check runs only when its watch key moved since it last passed", async () => {
    const state = { version: 0 };
    let runs = 0;
    const program: Program = async (ex) => {
      ex.addCheck(
        "stale-access",
        () => {
          runs++;
          return null;
        },
        { watch: () => state.version, skipUnchanged: true },
      );
      const a = ex.spawn("a", async () => {
        for (let i = 0; i < 5; i++) await ex.condResched();
        state.version++;
        for (let i = 0; i < 5; i++) await ex.condResched();
      });
      await a.join();
    };
    const o = await runOnce(program);
    expect(o.failure).toBeNull();
    // Once at key 0, once at key 1: the other points see a key it passed at.
    expect(runs).toBe(2);
  });

  it("skipUnchanged without a watch is refused", async () => {
    const program: Program = async (ex) => {
      ex.addCheck("stale-access", () => null, { skipUnchanged: true });
    };
    const o = await runOnce(program);
    expect(o.failure?.kind).toBe("exception");
    expect(o.failure?.message).toMatch(/skipUnchanged needs a watch/);
  });
});
