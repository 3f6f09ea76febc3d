// Reference core.md 6.2 (with the device-mapping oracles of 6.3): the collision-retry read
// side. The ideal user never programs a stale SPTE whatever the interleaving; users that
// break one rule of the protocol (no read_retry, mapping outside the user lock, a callback
// without set_seq) are caught by the oracles, and the replay token reproduces the failure.
import { type Execution, explore, PctStrategy, type Program, replay } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  cpuAccess,
  EBUSY,
  EFAULT,
  EPERM,
  fork,
  HmmRange55,
  hmmRangeFault,
  type Kernel,
  type MmStruct,
  type MmuIntervalNotifier,
  type MmuNotifierRange,
  migratePage,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mprotect,
  munmap,
  uniformRequest,
} from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { BASE, describeFailure, exhaustClean, exhaustFinds, P, runOne, setupKernel } from "./support.ts";

const setup = (ex: Execution, pages = 2) => setupKernel(ex, pages);

/** Maps what hmm_range_fault returned without mmu_interval_read_retry. */
class NoRetryUser extends IdealUser {
  /** Tell the item-16 oracle which read section the mapping comes from. */
  declareSection = false;

  override async populate(start = this.start, end = this.end, write = false, tries = 8): Promise<number> {
    const range = new HmmRange55(this.sub, start, end, uniformRequest(true, write));
    for (let i = 0; i < tries; i++) {
      range.notifierSeq = await mmuIntervalReadBegin(this.sub);
      await this.mm.mmapSem.downRead();
      const ret = await hmmRangeFault(range);
      await this.mm.mmapSem.upRead();
      if (ret === EBUSY) continue;
      if (ret < 0) return ret;
      await this.lock.lock();
      // BUG: no mmu_interval_read_retry(sub, seq) here.
      await this.dev.map(
        range.pfns,
        this.declareSection ? { via: { notifier: this.sub, seq: range.notifierSeq, lock: this.lock } } : {},
      );
      await this.lock.unlock();
      return 0;
    }
    return EBUSY;
  }
}

/** Checks read_retry under the lock, but programs the device after dropping it. */
class UnlockedMapUser extends IdealUser {
  override async populate(start = this.start, end = this.end, write = false): Promise<number> {
    const range = new HmmRange55(this.sub, start, end, uniformRequest(true, write));
    for (;;) {
      range.notifierSeq = await mmuIntervalReadBegin(this.sub);
      await this.mm.mmapSem.downRead();
      const ret = await hmmRangeFault(range);
      await this.mm.mmapSem.upRead();
      if (ret === EBUSY) continue;
      if (ret < 0) return ret;
      await this.lock.lock();
      const retry = mmuIntervalReadRetry(this.sub, range.notifierSeq);
      await this.lock.unlock();
      if (retry) continue;
      // BUG: an invalidation can run its callback right here, before the mapping exists.
      await this.dev.map(range.pfns, {
        via: { notifier: this.sub, seq: range.notifierSeq, lock: this.lock },
      });
      return 0;
    }
  }
}

/** The populate side is right; the callback tears down but never calls set_seq. */
class NoSetSeqUser extends IdealUser {
  protected override async invalidate(
    _sub: MmuIntervalNotifier,
    range: MmuNotifierRange,
    _curSeq: number,
  ): Promise<boolean> {
    this.callbacks++;
    if (range.blockable) await this.lock.lock();
    else if (!(await this.lock.trylock())) return false;
    // BUG: no mmu_interval_set_seq(sub, cur_seq).
    await this.dev.unmap(Math.max(range.start, this.start), Math.min(range.end, this.end));
    await this.lock.unlock();
    return true;
  }
}

type UserClass = new (k: Kernel, mm: MmStruct, start: number, end: number) => IdealUser;

/**
 * The zero-page race: the device read-faults untouched private memory (the shared zero page
 * is mapped read-only), while the CPU writes the page, breaking COW with a CLEAR invalidation
 * onto a new page. The zero page is never freed, so a stale SPTE shows as stale-access (not
 * use-after-free). The device then reads through what it mapped.
 */
function zeroPageRace(User: UserClass, tweak?: (u: IdealUser) => void, stats?: { retried: number }): Program {
  return async (ex) => {
    const { k, mm } = setup(ex, 1);
    const u = new User(k, mm, BASE, BASE + P);
    tweak?.(u);
    expect(await u.insert()).toBe(0);
    const a = ex.spawn("device fault", async () => {
      expect(await u.populate()).toBe(0);
      const r = await u.dev.access(BASE, false);
      if (r.ok) expect([0, 42]).toContain(r.data);
    });
    const b = ex.spawn("cpu write", async () => {
      expect(await cpuAccess(mm, BASE, true, 42)).toBe(42);
    });
    await a.join();
    await b.join();
    if (stats !== undefined && u.retries > 0) stats.retried++;
    await u.dev.unmap(BASE, BASE + P);
    await u.remove();
  };
}

describe("6.2 read-side soundness of the ideal user (exhaustive, preemption bound 2)", () => {
  it("read fault of the zero page vs a CPU write (COW break, CLEAR)", async () => {
    const stats = { retried: 0 };
    const r = await exhaustClean(zeroPageRace(IdealUser, undefined, stats), 2);
    // The collision happened: some schedules had read_retry (or check_retry) send it round again.
    expect(stats.retried).toBeGreaterThan(0);
    console.log(
      `6.2 ideal zero-page race: bound 2 exhausted, ${r.executions} executions, ${stats.retried} retried`,
    );
  });

  it("write populate vs mprotect(PROT_READ) (PROTECTION_VMA), then a device write", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      const a = ex.spawn("device fault", async () => {
        // -EPERM: 5.5's hmm_vma_walk_hole_ answers a write fault on a now read-only VMA so.
        expect([0, EPERM]).toContain(await u.populate(BASE, BASE + 2 * P, true));
        await u.dev.access(BASE, true, 5);
      });
      const b = ex.spawn("mprotect", async () => {
        await mprotect(mm, BASE, 2 * P, { read: true, write: false });
      });
      await a.join();
      await b.join();
      await u.remove();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.2 ideal vs mprotect: bound 2 exhausted, ${r.executions} executions`);
  });

  it("populate vs page migration (CLEAR, no mmap_sem), then a device read", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      await cpuAccess(mm, BASE, true, 9);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      const a = ex.spawn("device fault", async () => {
        expect(await u.populate()).toBe(0);
        const r = await u.dev.access(BASE, false);
        if (r.ok) expect(r.data).toBe(9);
      });
      const b = ex.spawn("migrate", async () => {
        await migratePage(mm, BASE);
      });
      await a.join();
      await b.join();
      await u.dev.unmap(BASE, BASE + 2 * P);
      await u.remove();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.2 ideal vs migrate: bound 2 exhausted, ${r.executions} executions`);
  });

  it("write populate vs fork's COW write-protect (PROTECTION_PAGE)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      await cpuAccess(mm, BASE, true, 3);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      const a = ex.spawn("device fault", async () => {
        expect(await u.populate(BASE, BASE + 2 * P, true)).toBe(0);
        await u.dev.access(BASE, true, 4);
      });
      const b = ex.spawn("fork", async () => {
        await fork(mm);
      });
      await a.join();
      await b.join();
      await u.dev.unmap(BASE, BASE + 2 * P);
      await u.remove();
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.2 ideal vs fork: bound 2 exhausted, ${r.executions} executions`);
  });

  it("two users, munmap, migration and mprotect at once (PCT depth 3, 300 executions: too big to exhaust)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex, 4);
      await cpuAccess(mm, BASE + P, true, 1);
      const u = new IdealUser(k, mm, BASE, BASE + 3 * P, "u");
      const w = new IdealUser(k, mm, BASE + P, BASE + 4 * P, "w");
      expect(await u.insert()).toBe(0);
      expect(await w.insert()).toBe(0);
      const ts = [
        ex.spawn("fault u", async () => {
          // -EFAULT past the munmap, -EPERM on the page mprotect made read-only.
          expect([0, EFAULT, EPERM]).toContain(await u.populate(BASE, BASE + 3 * P, true));
          await u.dev.access(BASE + P, true);
        }),
        ex.spawn("fault w", async () => {
          expect([0, EFAULT]).toContain(await w.populate());
          await w.dev.access(BASE + 2 * P, false);
        }),
        ex.spawn("munmap", () => munmap(mm, BASE + 3 * P, P).then(() => {})),
        ex.spawn("migrate", () => migratePage(mm, BASE + P).then(() => {})),
        ex.spawn("mprotect", () => mprotect(mm, BASE, 2 * P, { read: true, write: false }).then(() => {})),
      ];
      for (const t of ts) await t.join();
      await u.dev.unmap(BASE, BASE + 4 * P);
      await w.dev.unmap(BASE, BASE + 4 * P);
      await u.remove();
      await w.remove();
    };
    const r = await explore(program, { strategy: new PctStrategy(0x5eed, 3), executions: 300 });
    if (r.failure !== null) throw new Error(describeFailure(r));
    expect(r.executions).toBe(300);
    console.log(`6.2 PCT d=3: 300 executions, bound ${JSON.stringify(r.strategy.pctBound)}`);
  });
});

describe("6.2 buggy users are caught", () => {
  it("skipping mmu_interval_read_retry lets a stale SPTE through: stale-access, replayable", async () => {
    // Exhaustive, bound 2: the first (non-preemptive) execution passes; a preempting schedule
    // that runs the whole COW break between hmm_range_fault and the mapping fails.
    const program = zeroPageRace(NoRetryUser);
    const r = await exhaustFinds(program, 2);
    expect(r.failure!.kind).toBe("stale-access");
    expect(r.firstFailureAt).toBeGreaterThan(1);
    console.log(`6.2 no read_retry: found at execution ${r.firstFailureAt}: ${r.failure!.message}`);
    const again = await replay(program, r.replay!);
    expect(again.failure?.kind).toBe("stale-access");
    expect(again.failure?.message).toBe(r.failure!.message);
  });

  it("the same user, declaring its read section to the oracle, is unsafe-map without any race", async () => {
    const o = await runOne(
      zeroPageRace(NoRetryUser, (u) => {
        (u as NoRetryUser).declareSection = true;
      }),
    );
    expect(o.failure?.kind).toBe("unsafe-map");
    expect(o.failure?.message).toMatch(/without a false mmu_interval_read_retry/);
  });

  it("mapping after dropping the user lock is unsafe-map", async () => {
    const o = await runOne(zeroPageRace(UnlockedMapUser));
    expect(o.failure?.kind).toBe("unsafe-map");
    expect(o.failure?.message).toBe("user.dev: mapping under user.mni without holding user->lock");
  });

  it("a callback without set_seq lets a stale SPTE through: stale-access, replayable", async () => {
    const program = zeroPageRace(NoSetSeqUser);
    const r = await exhaustFinds(program, 2);
    // read_retry said "no collision" and the mapping was made under the lock, so the
    // section check (unsafe-map) is satisfied: only the end-to-end oracle sees it.
    expect(r.failure!.kind).toBe("stale-access");
    expect(r.firstFailureAt).toBeGreaterThan(1);
    const again = await replay(program, r.replay!);
    expect(again.failure?.kind).toBe("stale-access");
    console.log(`6.2 no set_seq: found at execution ${r.firstFailureAt}: ${r.failure!.message}`);
  });
});
