// Reference core.md 1.6, 1.7, 1.13, 3.2 and 6.4 items 20-21: bad arguments and forbidden
// contexts get the kernel's answer — an error code, a WARN (k.warnings), an oops (kind
// kernel-bug) or a hang (deadlock) — never a TypeScript exception.
import type { Execution, Program } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  EINVAL,
  EOVERFLOW,
  exitTask,
  HmmMirror,
  HmmRange,
  hmmMirrorRegister,
  hmmRangeRegister,
  installCoreInvariants,
  Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  munmap,
  ULONG_MAX,
  uniformRequest,
} from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { anonVma, BASE, exhaustFinds, expectPass, P, runOne } from "./support.ts";

function setup(ex: Execution) {
  const k = new Kernel(ex);
  installCoreInvariants(k);
  const mm = k.createMm();
  anonVma(mm, BASE, 4);
  return { k, mm };
}

/** The interval core's state, for "no state change" comparisons. */
function coreState(mm: MmStruct) {
  const nmm = mm.notifierMm!;
  return {
    seq: nmm.invalidateSeq,
    active: nmm.activeInvalidateRanges,
    tree: [...nmm.itree.items()].map((s) => s.name).sort(),
    deferred: nmm.deferredList.map((s) => s.name),
    mmCount: mm.mmCount.peek(),
  };
}

const noop = { invalidate: async () => true };

describe("mmu_interval_notifier_insert argument checks", () => {
  it("length 0, and a range whose last byte wraps, give -EOVERFLOW (-75) and change nothing", async () => {
    expect(EOVERFLOW).toBe(-75);
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const anchor = new IdealUser(k, mm, BASE, BASE + P, "anchor");
      expect(await anchor.insert()).toBe(0);
      const before = coreState(mm);
      const a = new MmuIntervalNotifier("empty.mni");
      expect(await mmuIntervalNotifierInsert(a, mm, BASE, 0, noop)).toBe(EOVERFLOW);
      const b = new MmuIntervalNotifier("wrap.mni");
      expect(await mmuIntervalNotifierInsert(b, mm, ULONG_MAX - P, 2 * P, noop)).toBe(EOVERFLOW);
      expect(coreState(mm)).toEqual(before);
      expect(k.warnings).toEqual([]);
      // The largest range that fits ends right below the top of the address space.
      const c = new MmuIntervalNotifier("top.mni");
      expect(await mmuIntervalNotifierInsert(c, mm, ULONG_MAX - P, P, noop)).toBe(0);
      expect(c.last).toBe(ULONG_MAX - 1);
      await mmuIntervalNotifierRemove(c);
      await anchor.remove();
    });
    expectPass(o);
  });

  // Issue 12 item 3: 5.5's __mmu_interval_notifier_insert tests mm_count
  // (WARN_ON(atomic_read(&mm->mm_count) <= 0)), not mm_users; the old model tested mm_users
  // and returned -EINVAL here. An mm whose users are gone but that the anchor still grabs
  // takes the insert: 0, no WARN, the notifier in the tree (and never invalidated again).
  it("insert on an exited mm (mm_users 0, mm_count > 0) succeeds in 5.5: the test is on mm_count", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const anchor = new IdealUser(k, mm, BASE, BASE + P, "anchor");
      expect(await anchor.insert()).toBe(0); // the mm is registered (has_itree) while alive
      await exitTask(mm);
      expect(mm.mmUsers.peek()).toBe(0);
      expect(mm.mmCount.peek()).toBeGreaterThan(0);
      const before = coreState(mm);
      const u = new MmuIntervalNotifier("late.mni");
      expect(await mmuIntervalNotifierInsert(u, mm, BASE, P, noop)).toBe(0);
      expect(k.warnings).toEqual([]);
      expect(coreState(mm)).toEqual({
        ...before,
        tree: [...before.tree, "late.mni"].sort(),
        mmCount: before.mmCount + 1,
      });
      await mmuIntervalNotifierRemove(u);
      await anchor.remove();
    });
    expectPass(o);
  });

  it("the first insert on a dead mm hits the BUG_ON in __mmu_notifier_register: kernel-bug", async () => {
    const o = await runOne(async (ex) => {
      const { mm } = setup(ex);
      await exitTask(mm);
      await mmuIntervalNotifierInsert(new MmuIntervalNotifier("late.mni"), mm, BASE, P, noop);
    });
    expect(o.failure?.kind).toBe("kernel-bug");
    expect(o.failure?.message).toBe("BUG: __mmu_notifier_register on an mm with mm_users == 0");
  });
});

describe("mmu_interval_notifier_remove misuse", () => {
  it("remove of a notifier never inserted dereferences NULL: kernel-bug", async () => {
    const o = await runOne(async (ex) => {
      setup(ex);
      await mmuIntervalNotifierRemove(new MmuIntervalNotifier("never.mni"));
    });
    expect(o.failure?.kind).toBe("kernel-bug");
    expect(o.failure?.message).toBe(
      "thread main threw: BUG: kernel NULL pointer dereference: mmu_interval_notifier_remove(never.mni): mni->mm (never inserted)",
    );
  });

  it("a second remove of the same notifier corrupts the tree: kernel-bug", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const u = new IdealUser(k, mm, BASE, BASE + P);
      expect(await u.insert()).toBe(0);
      await u.remove();
      await u.remove();
    });
    expect(o.failure?.kind).toBe("kernel-bug");
    expect(o.failure?.message).toBe(
      "BUG: mmu_interval_notifier_remove(user.mni): interval_tree_remove of a node not in the tree",
    );
  });

  it("a callback that calls remove waits for its own invalidation to end: deadlock", async () => {
    class SelfRemover extends IdealUser {
      protected override async invalidate(_s: MmuIntervalNotifier, _r: MmuNotifierRange, _seq: number) {
        await this.remove();
        return true;
      }
    }
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const u = new SelfRemover(k, mm, BASE, BASE + P);
      expect(await u.insert()).toBe(0);
      await munmap(mm, BASE, P);
    });
    expect(o.failure?.kind).toBe("deadlock");
    expect(o.failure?.message).toBe("deadlock: main waits on mm0->mmu_notifier_mm->wq that nobody will wake");
  });

  it("remove (or read_begin) under the lock the callback takes is a lock-order inversion (exhaustive, bound 2)", async () => {
    for (const op of ["remove", "read_begin"] as const) {
      const program: Program = async (ex) => {
        const { k, mm } = setup(ex);
        const u = new IdealUser(k, mm, BASE, BASE + P);
        expect(await u.insert()).toBe(0);
        const a = ex.spawn(op, async () => {
          await u.lock.lock(); // BUG: may sleep until an invalidation ends, which needs this lock
          if (op === "remove") await u.remove();
          else await mmuIntervalReadBegin(u.sub);
          await u.lock.unlock();
        });
        const b = ex.spawn("munmap", () => munmap(mm, BASE, P).then(() => {}));
        await a.join();
        await b.join();
        if (op === "read_begin") await u.remove();
      };
      const r = await exhaustFinds(program, 2);
      expect(r.failure!.kind).toBe("potential-deadlock");
      expect(r.failure!.message).toMatch(
        /user->lock.*mmu_notifier_invalidate_range_start|mmu_notifier_invalidate_range_start.*user->lock/,
      );
    }
  });
});

describe("hmm_range_register argument checks (5.4)", () => {
  it("a misaligned, empty or inverted range gives -EINVAL and is not registered", async () => {
    const o = await runOne(async (ex) => {
      const { mm } = setup(ex);
      const mirror = new HmmMirror("mirror", {
        release: async () => {},
        syncCpuDevicePagetables: async () => 0,
      });
      await mm.mmapSem.downWrite();
      expect(await hmmMirrorRegister(mirror, mm)).toBe(0);
      await mm.mmapSem.upWrite();
      const hmm = mirror.hmm!;
      const users = mm.mmUsers.peek();
      for (const [start, end] of [
        [BASE + 1, BASE + P], // misaligned start
        [BASE, BASE + P + 8], // misaligned end
        [BASE, BASE], // empty
        [BASE + P, BASE], // inverted
      ] as const) {
        const range = new HmmRange(start, end, uniformRequest(true, false));
        expect(await hmmRangeRegister(range, mirror)).toBe(EINVAL);
        expect(range.valid).toBe(false);
        expect(range.hmm).toBeNull();
        expect(hmm.ranges).not.toContain(range);
      }
      expect(mm.mmUsers.peek()).toBe(users); // no mmget taken
    });
    expectPass(o);
  });
});

describe("invalidate callback misuse", () => {
  it("a blockable callback returning false is a WARN; the walk continues and the start succeeds", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = setup(ex);
      const bad = new MmuIntervalNotifier("bad.mni");
      expect(await mmuIntervalNotifierInsert(bad, mm, BASE, P, { invalidate: async () => false })).toBe(0);
      const good = new IdealUser(k, mm, BASE + P, BASE + 2 * P, "good");
      expect(await good.insert()).toBe(0);
      await munmap(mm, BASE, 2 * P);
      expect(k.warnings.map((w) => w.message)).toEqual([
        "bad.mni: invalidate returned false on a blockable range",
      ]);
      expect(good.calls.map((c) => [c.event, c.ok])).toEqual([["UNMAP", true]]); // after bad in the walk
      const nmm = mm.notifierMm!;
      expect(nmm.activeInvalidateRanges).toBe(0);
      expect(nmm.invalidateSeq).toBe(4);
      expect(mm.activeInvalidations).toBe(0);
      await good.remove();
      await mmuIntervalNotifierRemove(bad);
    });
    expectPass(o);
  });
});
