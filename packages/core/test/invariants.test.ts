// Reference core.md 6.1: the core-state invariants (parity, monotonic seq, balanced counting,
// tree stability, deferred semantics) are checked by installCoreInvariants() after every
// scheduling step of every execution below. Racing programs are explored exhaustively at a
// stated preemption bound; each must walk its whole bounded space without a failure. Then a
// test-only driver corrupts core state on purpose, and the check must name it.
import type { Execution, Program } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  cpuAccess,
  installCoreInvariants,
  Kernel,
  MmuIntervalNotifier,
  type MmuNotifierRange,
  madviseDontneed,
  migratePage,
  mmuIntervalNotifierInsert,
  munmap,
  oomReapTaskMm,
} from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { anonVma, BASE, exhaustClean, GateNotifier, P, runOne, setupKernel } from "./support.ts";

const setup = (ex: Execution, pages = 4) => setupKernel(ex, pages);

describe("6.1 core invariants hold in racing programs (checked after every step)", () => {
  it("populate vs munmap of half the range (exhaustive, preemption bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const u = new IdealUser(k, mm, BASE, BASE + 4 * P);
      expect(await u.insert()).toBe(0);
      const a = ex.spawn("populate", async () => {
        expect([0, -14]).toContain(await u.populate());
      });
      const b = ex.spawn("munmap", async () => {
        await munmap(mm, BASE + 2 * P, 2 * P);
      });
      await a.join();
      await b.join();
      await u.remove();
      expect(mm.notifierMm!.itree.size).toBe(0);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.1 populate vs munmap: bound 2 exhausted, ${r.executions} executions`);
  });

  it("insert (first registration) vs page migration, then populate (exhaustive, bound 2)", async () => {
    // migratePage takes no mmap_sem: only mm_take_all_locks (the rmap lock for write) keeps
    // the registration from landing between its start and end, which would unbalance active.
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex, 2);
      await cpuAccess(mm, BASE, true, 7);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      const a = ex.spawn("insert+populate", async () => {
        expect(await u.insert()).toBe(0);
        expect(await u.populate()).toBe(0);
      });
      const b = ex.spawn("migrate", async () => {
        expect(await migratePage(mm, BASE)).toBe(1);
      });
      await a.join();
      await b.join();
      expect(mm.notifierMm!.activeInvalidateRanges).toBe(0);
      await u.remove();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.1 insert vs migrate: bound 2 exhausted, ${r.executions} executions`);
  });

  it("insert vs an invalidation already holding the tree (exhaustive, bound 2)", async () => {
    // The mm is already registered, so the insert lands in whichever state the madvise
    // bracket leaves the core in: idle, or fully excluded (deferred insert).
    let deferred = 0;
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const v = new IdealUser(k, mm, BASE, BASE + 2 * P, "v");
      expect(await v.insert()).toBe(0);
      const u = new IdealUser(k, mm, BASE + P, BASE + 4 * P, "u");
      const a = ex.spawn("insert+populate", async () => {
        expect(await u.insert()).toBe(0);
        if (u.sub.deferred) deferred++;
        expect(await u.populate()).toBe(0);
      });
      const b = ex.spawn("madvise", async () => {
        await madviseDontneed(mm, BASE, 4 * P);
      });
      await a.join();
      await b.join();
      await u.remove();
      await v.remove();
      expect(mm.notifierMm!.itree.size).toBe(0);
    };
    const r = await exhaustClean(program, 2);
    expect(deferred).toBeGreaterThan(0); // the deferred-insert path was among them
    console.log(`6.1 insert vs madvise: bound 2 exhausted, ${r.executions} executions, ${deferred} deferred`);
  });

  it("remove vs invalidation: no callback once remove has returned (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      let removed = false;
      class Watched extends IdealUser {
        protected override invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number) {
          // Reference 6.4 item 18: after remove returns no callback starts.
          if (removed) throw new Error("invalidate callback after mmu_interval_notifier_remove returned");
          return super.invalidate(sub, range, curSeq);
        }
      }
      const u = new Watched(k, mm, BASE, BASE + 4 * P);
      expect(await u.insert()).toBe(0);
      expect(await u.populate()).toBe(0);
      const a = ex.spawn("remove", async () => {
        // The driver stops using its device mappings first (nothing populates any more).
        await u.dev.unmap(BASE, BASE + 4 * P);
        await u.remove();
        removed = true;
        const nmm = mm.notifierMm!;
        expect(nmm.itree.has(u.sub)).toBe(false);
        expect(nmm.deferredList).not.toContain(u.sub);
      });
      const b = ex.spawn("munmap", async () => {
        await munmap(mm, BASE, 4 * P);
      });
      await a.join();
      await b.join();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.1 remove vs munmap: bound 2 exhausted, ${r.executions} executions`);
  });

  it("nested invalidations (THP split inside munmap) vs populate (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const u = new IdealUser(k, mm, BASE, BASE + 4 * P);
      expect(await u.insert()).toBe(0);
      const a = ex.spawn("populate", async () => {
        expect([0, -14]).toContain(await u.populate());
      });
      const b = ex.spawn("munmap+split", async () => {
        await munmap(mm, BASE + 2 * P, 2 * P, { thpSplit: { start: BASE, end: BASE + 4 * P } });
      });
      await a.join();
      await b.join();
      // Both brackets hit u inside one exclusion period: both callbacks got the same odd seq.
      const seqs = u.calls.map((c) => c.curSeq);
      expect(seqs).toHaveLength(2);
      expect(seqs[0]).toBe(seqs[1]);
      expect(seqs[0]! & 1).toBe(1);
      await u.remove();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.1 nested THP split: bound 2 exhausted, ${r.executions} executions`);
  });

  it("two notifiers over one invalidation, each populating (exhaustive, bound 1)", async () => {
    // Three threads: bound 2 is ~30 000 executions (9 s); bound 1 keeps this test at ~1 s.
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "u");
      const w = new IdealUser(k, mm, BASE + P, BASE + 4 * P, "w");
      expect(await u.insert()).toBe(0);
      expect(await w.insert()).toBe(0);
      const a = ex.spawn("populate u", async () => {
        expect(await u.populate()).toBe(0);
      });
      const c = ex.spawn("populate w", async () => {
        expect(await w.populate()).toBe(0);
      });
      const b = ex.spawn("madvise", async () => {
        await madviseDontneed(mm, BASE, 4 * P);
      });
      await a.join();
      await b.join();
      await c.join();
      // One start hit both: the same cur_seq reached both callbacks.
      expect(u.calls).toHaveLength(1);
      expect(w.calls).toHaveLength(1);
      expect(u.calls[0]!.curSeq).toBe(w.calls[0]!.curSeq);
      await u.remove();
      await w.remove();
    };
    const r = await exhaustClean(program, 1);
    console.log(`6.1 two notifiers: bound 1 exhausted, ${r.executions} executions`);
  });

  it("non-blockable OOM reap vs populate: -EAGAIN undoes the count (exhaustive, bound 2)", async () => {
    let skipped = 0;
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex, 2);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      const a = ex.spawn("populate", async () => {
        expect([0, -14]).toContain(await u.populate());
      });
      const b = ex.spawn("oom_reaper", async () => {
        if (!(await oomReapTaskMm(mm))) skipped++;
      });
      await a.join();
      await b.join();
      expect(mm.notifierMm!.activeInvalidateRanges).toBe(0);
      expect(mm.activeInvalidations).toBe(0);
      await u.remove();
    };
    const r = await exhaustClean(program, 2);
    // Some schedules had populate holding the user lock when the reaper's trylock ran.
    expect(skipped).toBeGreaterThan(0);
    console.log(`6.1 oom vs populate: bound 2 exhausted, ${r.executions} executions, ${skipped} hit -EAGAIN`);
  });
});

describe("6.1 a corrupted core state is reported as core-invariant", () => {
  /** A test-only driver whose callback does `corrupt` to the core, then returns true. */
  function corrupting(corrupt: (k: Kernel, sub: MmuIntervalNotifier, curSeq: number) => void): Program {
    return async (ex) => {
      const k = new Kernel(ex);
      installCoreInvariants(k);
      const mm = k.createMm();
      anonVma(mm, BASE, 2);
      const sub = new MmuIntervalNotifier("rogue.mni");
      const ret = await mmuIntervalNotifierInsert(sub, mm, BASE, 2 * P, {
        invalidate: async (s, _range, curSeq) => {
          corrupt(k, s, curSeq);
          await ex.condResched(); // any step: the check runs at the next one
          return true;
        },
      });
      expect(ret).toBe(0);
      await munmap(mm, BASE, 2 * P);
    };
  }

  it("a callback that writes nmm.invalidate_seq backwards", async () => {
    const o = await runOne(
      corrupting((k, _s, curSeq) => {
        k.mms[0]!.notifierMm!.invalidateSeq = curSeq - 1;
      }),
    );
    expect(o.failure?.kind).toBe("core-invariant");
    expect(o.failure?.message).toBe("mm0: invalidate_seq went back from 3 to 2 (invariant 2)");
  });

  it("a callback that inserts into nmm.itree directly while the seq is odd", async () => {
    const o = await runOne(
      corrupting((k) => {
        const intruder = new MmuIntervalNotifier("intruder.mni");
        intruder.invalidateSeq = 1;
        k.mms[0]!.notifierMm!.itree.insert(intruder, BASE + 16 * P, BASE + 17 * P);
      }),
    );
    expect(o.failure?.kind).toBe("core-invariant");
    expect(o.failure?.message).toBe("mm0: the tree changed size while invalidate_seq 3 is odd (invariant 4)");
  });

  it("a callback that writes an even notifier seq (skipping the odd cur_seq)", async () => {
    const o = await runOne(
      corrupting((_k, s, curSeq) => {
        s.invalidateSeq = curSeq + 1;
      }),
    );
    expect(o.failure?.kind).toBe("core-invariant");
    expect(o.failure?.message).toBe("mm0: rogue.mni seq 4 is even (invariant 1)");
  });

  it("a callback that bumps active_invalidate_ranges", async () => {
    const o = await runOne(
      corrupting((k) => {
        k.mms[0]!.notifierMm!.activeInvalidateRanges++;
      }),
    );
    expect(o.failure?.kind).toBe("core-invariant");
    expect(o.failure?.message).toBe(
      "mm0: active_invalidate_ranges 2 exceeds the 1 open invalidations (invariant 3)",
    );
  });

  it("a deferred insert that is already in the tree", async () => {
    // Holding the period open with a gate, then faking a pending insert for a linked node.
    const o = await runOne(async (ex) => {
      const k = new Kernel(ex);
      installCoreInvariants(k);
      const mm = k.createMm();
      anonVma(mm, BASE, 2);
      const g = new GateNotifier(k, mm, BASE, BASE + P);
      expect(await g.insert()).toBe(0);
      const t = ex.spawn("munmap", async () => {
        await munmap(mm, BASE, P);
      });
      await g.entered.wait();
      const nmm = mm.notifierMm!;
      g.sub.rbEmpty = true; // "not linked yet", yet it is
      nmm.deferredList.push(g.sub);
      await g.release.complete();
      await t.join();
    });
    expect(o.failure?.kind).toBe("core-invariant");
    expect(o.failure?.message).toBe(
      "mm0: deferred gate.mni: pending insert is already in the tree (invariant 5)",
    );
  });
});
