// Reference core.md 1.8 and 6.6: read_begin sleeps at most until the exclusion period it
// found ends — a period that every overlapping invalidation extends, including ones hitting
// other VA — and then returns; it never loops. The driver's retry loop, on the other hand,
// has no progress guarantee: continuous invalidations of its range can starve it, which is
// why drivers bound it (HMM_RANGE_DEFAULT_TIMEOUT, here a number of tries) and give -EBUSY.
import type { Execution, Program } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { EBUSY, madviseDontneed, mmuIntervalReadBegin, munmap } from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { BASE, exhaustClean, GateNotifier, P, setupKernel } from "./support.ts";

const setup = (ex: Execution, pages = 8) => setupKernel(ex, pages);

describe("6.6 liveness", () => {
  it("read_begin returns once the invalidations overlapping its period have ended, even ones on other VA (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const u = new IdealUser(k, mm, BASE, BASE + P, "u");
      const g1 = new GateNotifier(k, mm, BASE + P, BASE + 2 * P, "g1");
      const g2 = new GateNotifier(k, mm, BASE + 4 * P, BASE + 5 * P, "g2");
      for (const n of [u, g1, g2]) expect(await n.insert()).toBe(0);
      const nmm = mm.notifierMm!;
      // inv1 hits u (its callback sets u's seq to the period's S), then sleeps in g1.
      const inv1 = ex.spawn("munmap", () => munmap(mm, BASE, 2 * P).then(() => {}));
      await g1.entered.wait();
      const S = nmm.invalidateSeq;
      expect(u.sub.invalidateSeq).toBe(S);
      let returnedAt: number | null = null;
      const reader = ex.spawn("reader", async () => {
        expect(await mmuIntervalReadBegin(u.sub)).toBe(S);
        returnedAt = ex.now;
      });
      // inv2 touches VA nobody near u watches, but joins the same period.
      const inv2 = ex.spawn("madvise", () => madviseDontneed(mm, BASE + 4 * P, P).then(() => {}));
      await g2.entered.wait();
      await ex.sleep(100);
      await g1.release.complete();
      await inv1.join();
      await ex.sleep(100);
      expect(returnedAt).toBeNull(); // inv1 is over, the period is not
      await g2.release.complete();
      await inv2.join();
      await reader.join();
      expect(returnedAt).toBe(200);
      expect(nmm.invalidateSeq).toBe(S + 1);
      await u.remove();
      await g1.remove();
      await g2.remove();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.6 read_begin terminates: bound 2 exhausted, ${r.executions} executions`);
  });

  it("a populate loop under continuous invalidations of its range can starve: it gives -EBUSY after its tries, never a stale map (exhaustive, bound 2)", async () => {
    const TRIES = 2;
    const outcomes = new Map<number, number>();
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex, 2);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "u");
      expect(await u.insert()).toBe(0);
      const a = ex.spawn("populate", async () => {
        const ret = await u.populate(BASE, BASE + 2 * P, false, TRIES);
        outcomes.set(ret, (outcomes.get(ret) ?? 0) + 1);
        if (ret === EBUSY) {
          // Starved: every try collided, and nothing was programmed.
          expect(u.retries).toBe(TRIES);
          expect(u.dev.size).toBe(0);
        } else {
          expect(ret).toBe(0);
        }
      });
      // A finite schedule of invalidations hitting u, back to back.
      const b = ex.spawn("madvise x2", async () => {
        await madviseDontneed(mm, BASE, 2 * P);
        await madviseDontneed(mm, BASE, 2 * P);
      });
      await a.join();
      await b.join();
      await u.dev.unmap(BASE, BASE + 2 * P);
      await u.remove();
    };
    const r = await exhaustClean(program, 2);
    expect(outcomes.get(EBUSY) ?? 0).toBeGreaterThan(0);
    expect(outcomes.get(0) ?? 0).toBeGreaterThan(0);
    console.log(
      `6.6 starvation: bound 2 exhausted, ${r.executions} executions; -EBUSY in ${outcomes.get(EBUSY)}, 0 in ${outcomes.get(0)}`,
    );
  });
});
