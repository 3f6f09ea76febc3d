// Reference core.md 1.6-1.8 and 6.4: insert and remove in each write-side state of the mm.
// Test-only gates (support.ts) hold an invalidation open so the insert or remove lands in the
// state named by the test: idle, partially excluded (a range is open but hit no notifier), or
// fully excluded (a range hit a notifier: seq odd). The programs are then explored
// exhaustively, so the assertions hold in every interleaving within the stated bound, not
// only in the schedule the gates suggest. Virtual time measures who waited for whom: the
// main thread sleeps 100 ticks before each release, and the clock only moves once every
// thread is blocked.
import type { Execution, Program } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { madviseDontneed, mmuIntervalReadBegin, mmuIntervalReadRetry, munmap } from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import {
  BASE,
  ClassicGate,
  exhaustClean,
  expectPass,
  GateNotifier,
  P,
  runOne,
  setupKernel,
} from "./support.ts";

const setup = (ex: Execution, pages = 8) => setupKernel(ex, pages);

/** read_begin, then read_retry under the user lock: the seq and whether it would retry. */
async function readSection(u: IdealUser): Promise<{ seq: number; retry: boolean }> {
  const seq = await mmuIntervalReadBegin(u.sub);
  await u.lock.lock();
  const retry = mmuIntervalReadRetry(u.sub, seq);
  await u.lock.unlock();
  return { seq, retry };
}

describe("6.4 insert", () => {
  it("idle insert: seq = mm seq - 1, in the tree at once, read_begin does not sleep", async () => {
    // One thread, nothing to explore: a read_begin that slept would never be woken (deadlock).
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const first = new IdealUser(k, mm, BASE, BASE + P, "first");
      expect(await first.insert()).toBe(0);
      const nmm = mm.notifierMm!;
      expect(nmm.invalidateSeq).toBe(2);
      expect(first.sub.invalidateSeq).toBe(1);
      // Move the mm seq on (2 -> 3 -> 4) with an invalidation that hits `first`.
      await munmap(mm, BASE, P);
      expect(nmm.invalidateSeq).toBe(4);
      const u = new IdealUser(k, mm, BASE + P, BASE + 2 * P, "u");
      expect(await u.insert()).toBe(0);
      expect(u.sub.invalidateSeq).toBe(3);
      expect(nmm.itree.has(u.sub)).toBe(true);
      expect(u.sub.deferred).toBe(false);
      expect(await readSection(u)).toEqual({ seq: 3, retry: false });
      expect(ex.now).toBe(0);
      await first.remove();
      await u.remove();
    });
    expectPass(o);
    const sleeps = o.trace!.filter((e) => e.kind === "block" && e.object?.endsWith("->wq"));
    expect(sleeps).toEqual([]);
  });

  it("insert during full exclusion: deferred, not in the tree yet when insert returns, seq == mm seq (odd); read_begin sleeps until the period ends (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const g = new GateNotifier(k, mm, BASE, BASE + P);
      expect(await g.insert()).toBe(0);
      const inv = ex.spawn("munmap", () => munmap(mm, BASE, P).then(() => {}));
      await g.entered.wait();
      const nmm = mm.notifierMm!;
      const S = nmm.invalidateSeq;
      expect(S & 1).toBe(1);
      // u covers the VA the open invalidation is changing.
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "u");
      expect(await u.insert()).toBe(0);
      expect(u.sub.invalidateSeq).toBe(S);
      expect(u.sub.deferred).toBe(true);
      expect(nmm.itree.has(u.sub)).toBe(false);
      expect(nmm.deferredList).toContain(u.sub);
      let released = false;
      const reader = ex.spawn("reader", async () => {
        const r = await readSection(u);
        expect(released).toBe(true);
        expect(ex.now).toBe(100);
        expect(r).toEqual({ seq: S, retry: false });
        expect(nmm.itree.has(u.sub)).toBe(true);
        expect(nmm.invalidateSeq).toBe(S + 1);
      });
      await ex.sleep(100);
      released = true;
      await g.release.complete();
      await inv.join();
      await reader.join();
      expect(u.callbacks).toBe(0);
      await u.remove();
      await mmuRemoveAll(g);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.4 insert during full exclusion: bound 2 exhausted, ${r.executions} executions`);
  });

  it("a deferred notifier misses the running period's callbacks, yet its populate cannot map stale PTEs (exhaustive, bound 2)", async () => {
    // While u waits on the deferred list a second invalidation over u's VA starts and ends
    // inside the same exclusion period: u's callback is not called (u is not in the tree),
    // but read_begin keeps u's reader asleep until the period ends, so it reads fresh PTEs.
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const g = new GateNotifier(k, mm, BASE, BASE + P);
      expect(await g.insert()).toBe(0);
      const inv1 = ex.spawn("munmap", () => munmap(mm, BASE, P).then(() => {}));
      await g.entered.wait();
      const u = new IdealUser(k, mm, BASE + P, BASE + 3 * P, "u");
      expect(await u.insert()).toBe(0);
      expect(u.sub.deferred).toBe(true);
      const reader = ex.spawn("populate", async () => {
        expect(await u.populate()).toBe(0);
        await u.dev.access(BASE + P, false);
      });
      const inv2 = ex.spawn("madvise", () => madviseDontneed(mm, BASE + P, 2 * P).then(() => {}));
      await inv2.join();
      expect(u.calls).toEqual([]);
      await g.release.complete();
      await inv1.join();
      await reader.join();
      await u.dev.unmap(BASE, BASE + 3 * P);
      await u.remove();
      await mmuRemoveAll(g);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.4 deferred insert misses callbacks: bound 2 exhausted, ${r.executions} executions`);
  });

  it("insert during partial exclusion forces the seq odd, links at once; read_begin sleeps until the range ends (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const c = new ClassicGate(k, mm);
      expect(await c.register()).toBe(0);
      // An interval notifier far from the invalidation: has_itree is set, nothing is hit.
      const anchor = new IdealUser(k, mm, BASE + 6 * P, BASE + 7 * P, "anchor");
      expect(await anchor.insert()).toBe(0);
      const inv = ex.spawn("madvise", () => madviseDontneed(mm, BASE, 2 * P).then(() => {}));
      await c.entered.wait();
      const nmm = mm.notifierMm!;
      expect(nmm.activeInvalidateRanges).toBe(1);
      expect(nmm.invalidateSeq).toBe(2); // partially excluded: active, but even
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "u");
      expect(await u.insert()).toBe(0);
      expect(nmm.invalidateSeq).toBe(3);
      expect(u.sub.invalidateSeq).toBe(3);
      expect(nmm.itree.has(u.sub)).toBe(true);
      expect(u.sub.deferred).toBe(false);
      let released = false;
      const reader = ex.spawn("reader", async () => {
        const r = await readSection(u);
        expect(released).toBe(true);
        expect(ex.now).toBe(100);
        expect(r).toEqual({ seq: 3, retry: false });
        expect(nmm.invalidateSeq).toBe(4);
      });
      await ex.sleep(100);
      released = true;
      await c.release.complete();
      await inv.join();
      await reader.join();
      expect(u.callbacks).toBe(0); // the range started before u existed
      await u.remove();
      await anchor.remove();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.4 insert during partial exclusion: bound 2 exhausted, ${r.executions} executions`);
  });
});

describe("6.4 remove", () => {
  it("remove during full exclusion waits for the whole period: past the end of a range that started after it (exhaustive, bound 2)", async () => {
    // u is hit by neither range: remove waits on the period, not on u's callback.
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const g1 = new GateNotifier(k, mm, BASE, BASE + P, "g1");
      const g2 = new GateNotifier(k, mm, BASE + 2 * P, BASE + 3 * P, "g2");
      const u = new IdealUser(k, mm, BASE + 4 * P, BASE + 5 * P, "u");
      expect(await g1.insert()).toBe(0);
      expect(await g2.insert()).toBe(0);
      expect(await u.insert()).toBe(0);
      const nmm = mm.notifierMm!;
      const inv1 = ex.spawn("munmap", () => munmap(mm, BASE, P).then(() => {}));
      await g1.entered.wait();
      const S = nmm.invalidateSeq;
      let removedAt: number | null = null;
      const remover = ex.spawn("remove", async () => {
        await u.remove();
        removedAt = ex.now;
        expect(nmm.activeInvalidateRanges).toBe(0);
        expect(nmm.invalidateSeq).toBe(S + 1);
        expect(nmm.itree.has(u.sub)).toBe(false);
        expect(nmm.deferredList).not.toContain(u.sub);
      });
      const inv2 = ex.spawn("madvise", () => madviseDontneed(mm, BASE + 2 * P, P).then(() => {}));
      await g2.entered.wait();
      expect(nmm.activeInvalidateRanges).toBe(2);
      expect(nmm.invalidateSeq).toBe(S); // one odd value for the whole period
      await ex.sleep(100);
      expect(removedAt).toBeNull();
      expect(nmm.deferredList).toContain(u.sub); // a pending remove: still linked
      expect(nmm.itree.has(u.sub)).toBe(true);
      // The range that was running when remove was called ends: not enough.
      await g1.release.complete();
      await inv1.join();
      await ex.sleep(100);
      expect(removedAt).toBeNull();
      expect(nmm.invalidateSeq).toBe(S);
      // The last range of the period ends: now remove returns.
      await g2.release.complete();
      await inv2.join();
      await remover.join();
      expect(removedAt).toBe(200);
      await mmuRemoveAll(g1, g2);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.4 remove waits for the period: bound 2 exhausted, ${r.executions} executions`);
  });

  it("remove returns only after the last invalidate_range_end (trace order)", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const g = new GateNotifier(k, mm, BASE, BASE + P);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "u");
      expect(await g.insert()).toBe(0);
      expect(await u.insert()).toBe(0);
      const inv = ex.spawn("munmap", () => munmap(mm, BASE, 2 * P).then(() => {}));
      await g.entered.wait();
      const remover = ex.spawn("remove", () => u.remove());
      await ex.sleep(10);
      await g.release.complete();
      await inv.join();
      await remover.join();
      await mmuRemoveAll(g);
    });
    expectPass(o);
    const t = o.trace!;
    const lastEnd = t.findLastIndex((e) => e.kind === "call" && e.op === "mmu_notifier_invalidate_range_end");
    const wake = t.findLastIndex((e) => e.op === "wake_up_all" && e.object?.endsWith("mmu_notifier_mm->wq"));
    const removed = t.findIndex(
      (e) => e.kind === "ret" && e.op === "mmu_interval_notifier_remove" && e.object === "u.mni",
    );
    expect(lastEnd).toBeGreaterThan(-1);
    expect(wake).toBeGreaterThan(lastEnd);
    expect(removed).toBeGreaterThan(wake);
  });

  it("remove of a still-deferred insert returns without waiting, and the insert never happens (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const g = new GateNotifier(k, mm, BASE, BASE + P);
      expect(await g.insert()).toBe(0);
      const mmCount = mm.mmCount.peek();
      const inv = ex.spawn("munmap", () => munmap(mm, BASE, P).then(() => {}));
      await g.entered.wait();
      const nmm = mm.notifierMm!;
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "u");
      expect(await u.insert()).toBe(0);
      expect(u.sub.deferred).toBe(true);
      // If this waited for the period it would never return: only this thread can open the gate.
      await u.remove();
      expect(ex.now).toBe(0);
      expect(nmm.deferredList).not.toContain(u.sub);
      expect(nmm.itree.has(u.sub)).toBe(false);
      expect(mm.mmCount.peek()).toBe(mmCount); // mmgrab in insert, mmdrop in remove
      await g.release.complete();
      await inv.join();
      expect(nmm.itree.has(u.sub)).toBe(false); // the final end had nothing to link
      expect(u.callbacks).toBe(0);
      await mmuRemoveAll(g);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.4 remove of a deferred insert: bound 2 exhausted, ${r.executions} executions`);
  });

  it("remove during partial exclusion unlinks at once without waiting", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const c = new ClassicGate(k, mm);
      expect(await c.register()).toBe(0);
      const u = new IdealUser(k, mm, BASE + 4 * P, BASE + 5 * P, "u");
      expect(await u.insert()).toBe(0);
      const inv = ex.spawn("madvise", () => madviseDontneed(mm, BASE, P).then(() => {}));
      await c.entered.wait();
      const nmm = mm.notifierMm!;
      expect(nmm.activeInvalidateRanges).toBe(1);
      expect(nmm.invalidateSeq & 1).toBe(0);
      await u.remove(); // would deadlock if it waited: only this thread releases the gate
      expect(nmm.itree.has(u.sub)).toBe(false);
      await c.release.complete();
      await inv.join();
    });
    expectPass(o);
  });
});

/** Remove gate notifiers at the end of a program (their callbacks are done by then). */
async function mmuRemoveAll(...gates: GateNotifier[]): Promise<void> {
  for (const g of gates) await g.remove();
}
