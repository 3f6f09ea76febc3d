// Reference core.md 1.4, 1.11 and 6.5: the non-blockable start of the OOM reaper (a callback
// that cannot take its lock fails the start with -EAGAIN, the core undoes its own count and
// the caller issues no end and leaves the PTEs alone), release at exit_mmap (one blockable
// whole-address-space RELEASE invalidation per notifier; notifiers stay registered), and
// sleeping inside a non-blockable callback.
import { Completion, type Execution, Mutex, type Program, SpinLock } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  cpuAccess,
  EFAULT,
  exitTask,
  type MmStruct,
  type MmuIntervalNotifier,
  MmuNotifier,
  type MmuNotifierRange,
  mmgetNotZero,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
  munmap,
  oomReapTaskMm,
  ULONG_MAX,
} from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { BASE, exhaustClean, GateNotifier, P, runOne, setupKernel } from "./support.ts";

const setup = (ex: Execution, pages = 2) => setupKernel(ex, pages);

/** The present PTEs of an mm as comparable data. */
function ptes(mm: MmStruct): [number, number, boolean, number][] {
  return [...mm.pt.entries()].map(([a, p]) => [a, p.page.pfn, p.write, p.gen]);
}

/** A classic subscriber that only counts: the hlist must see neither start nor end. */
function counter(mm: MmStruct) {
  const c = { starts: 0, ends: 0, sub: null as MmuNotifier | null };
  c.sub = new MmuNotifier("counter", {
    invalidateRangeStart: async () => {
      c.starts++;
      return 0;
    },
    invalidateRangeEnd: async () => {
      c.ends++;
    },
  });
  return { c, register: () => mmuNotifierRegister(c.sub!, mm) };
}

describe("6.5 non-blocking start (OOM reaper)", () => {
  it("a failed trylock gives -EAGAIN: count restored, seq bumped and waiters woken (last range), no end, PTEs unchanged (exhaustive, bound 2)", async () => {
    let sawWaiter = 0;
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const { c, register } = counter(mm);
      expect(await register()).toBe(0);
      await cpuAccess(mm, BASE, true, 1);
      await cpuAccess(mm, BASE + P, true, 2);
      const vCalled = new Completion(ex, "v called");
      let waitersAtFailure = -1;
      // v comes first in the walk (lower start) and succeeds, announcing that its seq is set;
      // u cannot take its lock.
      class V extends IdealUser {
        protected override async invalidate(s: MmuIntervalNotifier, r: MmuNotifierRange, seq: number) {
          if (!(await this.lock.trylock())) return false;
          await mmuIntervalSetSeq(s, seq);
          await vCalled.complete();
          await this.dev.unmap(r.start, r.end);
          await this.lock.unlock();
          return true;
        }
      }
      class U extends IdealUser {
        protected override async invalidate(s: MmuIntervalNotifier, r: MmuNotifierRange, seq: number) {
          const ok = await super.invalidate(s, r, seq);
          waitersAtFailure = mm.notifierMm!.wq.waiterCount;
          return ok;
        }
      }
      const v = new V(k, mm, BASE, BASE + P, "v");
      const u = new U(k, mm, BASE + P, BASE + 2 * P, "u");
      expect(await v.insert()).toBe(0);
      expect(await u.insert()).toBe(0);
      expect(await v.populate()).toBe(0);
      expect(await u.populate()).toBe(0);
      const nmm = mm.notifierMm!;
      const before = ptes(mm);
      const holding = new Completion(ex, "holding");
      const done = new Completion(ex, "done");
      const holder = ex.spawn("holder", async () => {
        await u.lock.lock();
        await holding.complete();
        await done.wait();
        await u.lock.unlock();
      });
      await holding.wait();
      // A reader of v that may fall asleep in read_begin once v's callback has set seq 3.
      const reader = ex.spawn("reader", async () => {
        await vCalled.wait();
        const seq = await mmuIntervalReadBegin(v.sub);
        await v.lock.lock();
        expect(seq).toBe(3);
        expect(mmuIntervalReadRetry(v.sub, seq)).toBe(false);
        await v.lock.unlock();
      });
      expect(await oomReapTaskMm(mm)).toBe(false);
      expect(u.calls).toEqual([
        { event: "UNMAP", start: BASE, end: BASE + 2 * P, blockable: false, curSeq: 3, ok: false },
      ]);
      expect(nmm.activeInvalidateRanges).toBe(0);
      expect(mm.activeInvalidations).toBe(0);
      expect(nmm.invalidateSeq).toBe(4); // the core's own inv_end closed the period
      expect(v.sub.invalidateSeq).toBe(3); // harmless over-invalidation: v's callback ran
      expect(v.dev.size).toBe(0);
      expect(u.dev.size).toBe(1); // u's mapping is untouched, and still right: PTEs unchanged
      expect(ptes(mm)).toEqual(before);
      expect(c).toMatchObject({ starts: 0, ends: 0 }); // hlist skipped; no end issued
      await reader.join();
      if (waitersAtFailure === 1) sawWaiter++;
      await done.complete();
      await holder.join();
      await u.dev.unmap(BASE, BASE + 2 * P);
      await u.remove();
      await v.remove();
    };
    const r = await exhaustClean(program, 2);
    // In some schedules the reader was asleep in read_begin when u failed: the core's inv_end woke it.
    expect(sawWaiter).toBeGreaterThan(0);
    console.log(
      `6.5 OOM -EAGAIN: bound 2 exhausted, ${r.executions} executions, ${sawWaiter} with a sleeper woken`,
    );
  });

  it("not the last range: -EAGAIN restores the count to the other range's, the seq stays odd", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      // A shared VMA the reaper skips, watched by a gate that keeps its munmap open.
      mm.addVma(BASE + 8 * P, BASE + 9 * P, { read: true, write: true, shared: true });
      const g = new GateNotifier(k, mm, BASE + 8 * P, BASE + 9 * P);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "u");
      expect(await g.insert()).toBe(0);
      expect(await u.insert()).toBe(0);
      const inv = ex.spawn("munmap", () => munmap(mm, BASE + 8 * P, P).then(() => {}));
      await g.entered.wait();
      const nmm = mm.notifierMm!;
      const S = nmm.invalidateSeq;
      await u.lock.lock(); // the reaper's trylock in u's callback fails
      expect(await oomReapTaskMm(mm)).toBe(false);
      await u.lock.unlock();
      expect(u.calls.map((c) => [c.blockable, c.curSeq, c.ok])).toEqual([[false, S, false]]);
      expect(nmm.activeInvalidateRanges).toBe(1);
      expect(mm.activeInvalidations).toBe(1);
      expect(nmm.invalidateSeq).toBe(S);
      await g.release.complete();
      await inv.join();
      expect(nmm.invalidateSeq).toBe(S + 1);
      await u.remove();
      await g.remove();
    });
    if (o.failure !== null) throw new Error(`${o.failure.kind}: ${o.failure.message}`);
  });

  // Issue 12 item 4: 5.5's mn_itree_invalidate calls mni->ops->invalidate with no
  // non_block_start() around it (only mn_hlist_invalidate_range_start has one), so a sleeping
  // interval callback in the OOM reaper's non-blockable range trips no 5.5 check. The old
  // model wrapped it in a non-blocking region and reported sleep-in-atomic.
  class Sleeper extends IdealUser {
    readonly blockable: boolean[] = [];
    protected override async invalidate(s: MmuIntervalNotifier, r: MmuNotifierRange, seq: number) {
      this.blockable.push(r.blockable);
      await this.lock.lock(); // BUG: should trylock when !mmu_notifier_range_blockable(range)
      await mmuIntervalSetSeq(s, seq);
      await this.lock.unlock();
      return true;
    }
  }

  it("an interval callback that sleeps (mutex_lock) in a non-blockable range trips no 5.5 check", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const u = new Sleeper(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      expect(await oomReapTaskMm(mm)).toBe(true);
      expect(u.blockable).toEqual([false]);
      await u.remove();
    });
    expect(o.failure).toBeNull();
  });

  it("an interval callback that sleeps under its own spinlock is still sleep-in-atomic (might_sleep)", async () => {
    class SpinSleeper extends IdealUser {
      protected override async invalidate(s: MmuIntervalNotifier, _r: MmuNotifierRange, seq: number) {
        const spin = new SpinLock(this.k.ex, "user->spin");
        await spin.lock();
        await this.lock.lock(); // BUG: mutex_lock under a spinlock
        await mmuIntervalSetSeq(s, seq);
        await this.lock.unlock();
        await spin.unlock();
        return true;
      }
    }
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const u = new SpinSleeper(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      await oomReapTaskMm(mm);
    });
    expect(o.failure?.kind).toBe("sleep-in-atomic");
    expect(o.failure?.message).toBe(
      "BUG: sleeping function called from invalid context: mutex_lock(user->lock) by main holding user->spin",
    );
  });

  it("an hlist callback that sleeps in a non-blockable range is sleep-in-atomic (non_block_start)", async () => {
    const o = await runOne(async (ex) => {
      const { mm } = setup(ex);
      const m = new Mutex(ex, "drv->mutex");
      const sub = new MmuNotifier("sleepy", {
        invalidateRangeStart: async () => {
          await m.lock(); // BUG: may sleep in a non-blockable range
          await m.unlock();
          return 0;
        },
      });
      expect(await mmuNotifierRegister(sub, mm)).toBe(0);
      await oomReapTaskMm(mm);
    });
    expect(o.failure?.kind).toBe("sleep-in-atomic");
    expect(o.failure?.message).toBe(
      "BUG: sleeping function called from invalid context: mutex_lock(drv->mutex) by main inside non-blocking invalidate_range_start_nonblock",
    );
  });
});

describe("6.5 release (exit_mmap)", () => {
  it("every notifier gets exactly one blockable RELEASE over [0, ULONG_MAX) and stays in the tree; exit races a fault (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex, 4);
      const u1 = new IdealUser(k, mm, BASE, BASE + 2 * P, "u1");
      const u2 = new IdealUser(k, mm, BASE + P, BASE + 4 * P, "u2");
      expect(await u1.insert()).toBe(0);
      expect(await u2.insert()).toBe(0);
      expect(await u2.populate()).toBe(0);
      const f = ex.spawn("fault", async () => {
        expect([0, EFAULT]).toContain(await u1.fault());
      });
      const e = ex.spawn("exit", () => exitTask(mm));
      await f.join();
      await e.join();
      const nmm = mm.notifierMm!;
      for (const u of [u1, u2]) {
        const releases = u.calls.filter((c) => c.event === "RELEASE");
        expect(releases).toEqual([
          {
            event: "RELEASE",
            start: 0,
            end: ULONG_MAX,
            blockable: true,
            curSeq: releases[0]!.curSeq,
            ok: true,
          },
        ]);
        expect(nmm.itree.has(u.sub)).toBe(true); // still registered until remove
        expect(u.dev.size).toBe(0); // nothing survives release
      }
      expect(u1.calls.find((c) => c.event === "RELEASE")!.curSeq).toBe(
        u2.calls.find((c) => c.event === "RELEASE")!.curSeq,
      );
      expect(nmm.activeInvalidateRanges).toBe(0);
      expect(nmm.invalidateSeq & 1).toBe(0);
      expect(mm.exited).toBe(true);
      // Populate attempts fail early: mmget_not_zero no longer succeeds.
      expect(await mmgetNotZero(mm)).toBe(false);
      expect(await u1.fault()).toBe(EFAULT);
      await u1.remove();
      await u2.remove();
      expect(nmm.itree.size).toBe(0);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.5 release vs fault: bound 2 exhausted, ${r.executions} executions`);
  });
  it("remove racing exit: when remove returns the notifier is out of the tree and no callback follows (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      let removed = false;
      class Watched extends IdealUser {
        protected override invalidate(s: MmuIntervalNotifier, r: MmuNotifierRange, seq: number) {
          if (removed) throw new Error("invalidate callback after mmu_interval_notifier_remove returned");
          return super.invalidate(s, r, seq);
        }
      }
      const u = new Watched(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      expect(await u.populate()).toBe(0);
      const a = ex.spawn("close", async () => {
        await u.dev.unmap(BASE, BASE + 2 * P); // the device stops first
        await u.remove();
        removed = true;
        expect(mm.notifierMm!.itree.has(u.sub)).toBe(false);
        expect(mm.notifierMm!.invalidateSeq & 1).toBe(0);
      });
      const b = ex.spawn("exit", () => exitTask(mm));
      await a.join();
      await b.join();
      expect(u.calls.filter((c) => c.event === "RELEASE").length).toBeLessThanOrEqual(1);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.5 remove vs exit: bound 2 exhausted, ${r.executions} executions`);
  });
});
