// Reference core.md 3.4 and 6.7: the documented behaviours of the Linux 5.4 hmm_mirror API,
// reproduced on the model and contrasted with the 5.5 interval notifier. These are kernel
// bugs the legacy model must keep (a22dd506400d removed the API for them):
//  (a) the lazy-valid ABA: `valid` is a level, reset to true by the last end of any
//      invalidation, so PTEs read before a complete start/end pair are programmed as valid;
//  (b) the global gate: a range can become valid only when no invalidation at all is running
//      in the mm, so unrelated invalidations delay every fault;
//  (c) the pre-5.3 error flow of hmm_invalidate_range_start: a failed mirrors_sem trylock
//      returned -EAGAIN with `notifiers` still raised, so no range ever became valid again.
import { Completion, type Execution, Mutex, type Program, replay } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  cpuAccess,
  DeviceMmu,
  EAGAIN,
  EBUSY,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmMirror,
  HmmRange,
  type HmmStartVariant,
  hmmMirrorRegister,
  hmmMirrorUnregister,
  hmmRangeFault54,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
  installCoreInvariants,
  installDeviceOracles,
  Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuNotifierRange,
  madviseDontneed,
  migratePage,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
  oomReapTaskMm,
  uniformRequest,
} from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { anonVma, BASE, exhaustClean, exhaustFinds, P } from "./support.ts";

/**
 * A 5.4 hmm_mirror user in the nouveau/amdgpu style: hmm_range_register,
 * hmm_range_wait_until_valid, hmm_range_fault under mmap_sem, then the driver lock and
 * hmm_range_valid before programming the device. Its sync_cpu_device_pagetables tears down
 * under the same lock (trylock when the update is non-blockable).
 */
class LegacyUser {
  readonly lock: Mutex;
  readonly mirror: HmmMirror;
  readonly dev: DeviceMmu;
  /** Called at the start of each sync, before taking the lock (tests hook delays here). */
  onSync: ((update: MmuNotifierRange) => Promise<void>) | null = null;

  constructor(
    readonly k: Kernel,
    readonly mm: MmStruct,
    readonly name = "legacy",
  ) {
    this.lock = new Mutex(k.ex, `${name}->lock`, "legacy->lock");
    this.dev = new DeviceMmu(k, `${name}.dev`, mm);
    this.mirror = new HmmMirror(`${name}.mirror`, {
      release: async () => {},
      syncCpuDevicePagetables: async (_m, update) => {
        if (this.onSync !== null) await this.onSync(update);
        if (update.blockable) await this.lock.lock();
        else if (!(await this.lock.trylock())) return EAGAIN;
        await this.dev.unmap(update.start, update.end);
        await this.lock.unlock();
        return 0;
      },
    });
  }

  /** hmm_mirror_register() under mmap_sem for write. */
  async register(variant: HmmStartVariant = "5.4"): Promise<number> {
    await this.mm.mmapSem.downWrite();
    const ret = await hmmMirrorRegister(this.mirror, this.mm, variant);
    await this.mm.mmapSem.upWrite();
    return ret;
  }

  async fault(start: number, end: number, tries = 8): Promise<number> {
    const range = new HmmRange(start, end, uniformRequest(true, false));
    const reg = await hmmRangeRegister(range, this.mirror);
    if (reg !== 0) return reg;
    try {
      for (let i = 0; i < tries; i++) {
        if (!(await hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT))) return EBUSY;
        await this.mm.mmapSem.downRead();
        const ret = await hmmRangeFault54(range);
        await this.mm.mmapSem.upRead();
        if (ret === EBUSY) continue;
        if (ret < 0) return ret;
        await this.lock.lock();
        if (!hmmRangeValid(range)) {
          await this.lock.unlock();
          continue;
        }
        await this.dev.map(range.pfns);
        await this.lock.unlock();
        return 0;
      }
      return EBUSY;
    } finally {
      await hmmRangeUnregister(range);
    }
  }
}

function setup(ex: Execution) {
  const k = new Kernel(ex);
  installCoreInvariants(k);
  installDeviceOracles(k);
  const mm = k.createMm();
  anonVma(mm, BASE, 2);
  mm.addVma(BASE + 8 * P, BASE + 9 * P, { read: true, write: true, shared: false });
  return { k, mm };
}

describe("6.7 (a) the lazy-valid ABA of hmm_mirror", () => {
  /** The device faults a page in while the page is migrated; then the device reads it. */
  function migrateRace(kind: "5.4" | "5.5"): Program {
    return async (ex) => {
      const { k, mm } = setup(ex);
      await cpuAccess(mm, BASE, true, 7);
      let fault: () => Promise<number>;
      let dev: DeviceMmu;
      let cleanup: () => Promise<void>;
      if (kind === "5.4") {
        const u = new LegacyUser(k, mm);
        expect(await u.register()).toBe(0);
        fault = () => u.fault(BASE, BASE + P);
        dev = u.dev;
        cleanup = () => hmmMirrorUnregister(u.mirror);
      } else {
        const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
        expect(await u.insert()).toBe(0);
        fault = () => u.populate(BASE, BASE + P);
        dev = u.dev;
        cleanup = () => u.remove();
      }
      const a = ex.spawn("device fault", async () => {
        expect(await fault()).toBe(0);
        const r = await dev.access(BASE, false);
        if (r.ok) expect(r.data).toBe(7);
      });
      const b = ex.spawn("migrate", async () => {
        expect(await migratePage(mm, BASE)).toBe(1);
      });
      await a.join();
      await b.join();
      await dev.unmap(BASE, BASE + 2 * P);
      await cleanup();
    };
  }

  it("5.4: a fault racing migrate_pages programs the old pfn as valid; the device oracle flags it (exhaustive, bound 2), and the token replays it", async () => {
    const program = migrateRace("5.4");
    const r = await exhaustFinds(program, 2);
    // The old page is freed once the migration ends: the stale SPTE points at a freed pfn.
    expect(["use-after-free", "stale-access"]).toContain(r.failure!.kind);
    expect(r.firstFailureAt).toBeGreaterThan(1);
    // The schedule is the ABA: hmm_range_fault read the PTE, the migration's start and end
    // both ran (valid false, then true again), then the driver saw hmm_range_valid() true.
    const trace = r.failure!.trace!;
    const walk = trace.findIndex((e) => e.op === "walk_page_range");
    const end = trace.findIndex((e) => e.kind === "call" && e.op === "mmu_notifier_invalidate_range_end");
    const map = trace.findIndex((e) => e.op === "device_map");
    expect(walk).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(walk);
    expect(map).toBeGreaterThan(end);
    console.log(
      `6.7a 5.4 ABA found at execution ${r.firstFailureAt}: ${r.failure!.kind}: ${r.failure!.message}`,
    );
    const again = await replay(program, r.replay!);
    expect(again.failure?.kind).toBe(r.failure!.kind);
    expect(again.failure?.message).toBe(r.failure!.message);
  });

  it("5.5: the same race with the interval notifier is clean (exhaustive, bound 2)", async () => {
    const r = await exhaustClean(migrateRace("5.5"), 2);
    console.log(`6.7a 5.5 contrast: bound 2 exhausted, ${r.executions} executions`);
  });
});

describe("6.7 (b) the global gate", () => {
  const SLOW = 300;

  it("5.4: a range overlapping nothing stays invalid while an unrelated invalidation runs — the fault waits 300 ticks (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const user = new LegacyUser(k, mm, "user");
      // A second mirror whose sync is slow for the far VMA (e.g. it waits for a GPU fence).
      const other = new LegacyUser(k, mm, "other");
      const entered = new Completion(ex, "other sync entered");
      other.onSync = async (update) => {
        if (update.start >= BASE + 8 * P) {
          await entered.complete();
          await ex.sleep(SLOW);
        }
      };
      expect(await user.register()).toBe(0);
      expect(await other.register()).toBe(0);
      const inv = ex.spawn("madvise far", () => madviseDontneed(mm, BASE + 8 * P, P).then(() => {}));
      await entered.wait();
      const t0 = ex.now;
      expect(await user.fault(BASE, BASE + 2 * P)).toBe(0); // nothing invalidates [BASE, BASE+2P)
      expect(ex.now - t0).toBe(SLOW);
      await inv.join();
      await user.dev.unmap(BASE, BASE + 2 * P);
      await hmmMirrorUnregister(user.mirror);
      await hmmMirrorUnregister(other.mirror);
    };
    const r = await exhaustClean(program, 2);
    console.log(
      `6.7b 5.4 global gate: bound 2 exhausted, ${r.executions} executions, each waited ${SLOW} ticks`,
    );
  });

  it("5.5: the interval user's fault does not wait for the unrelated invalidation (exhaustive, bound 2)", async () => {
    const program: Program = async (ex) => {
      const { k, mm } = setup(ex);
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P, "user");
      const entered = new Completion(ex, "other callback entered");
      const other = new MmuIntervalNotifier("other.mni");
      expect(await u.insert()).toBe(0);
      expect(
        await mmuIntervalNotifierInsert(other, mm, BASE + 8 * P, P, {
          invalidate: async (sub, _range, curSeq) => {
            await mmuIntervalSetSeq(sub, curSeq);
            await entered.complete();
            await ex.sleep(SLOW);
            return true;
          },
        }),
      ).toBe(0);
      const inv = ex.spawn("madvise far", () => madviseDontneed(mm, BASE + 8 * P, P).then(() => {}));
      await entered.wait();
      const t0 = ex.now;
      expect(await u.populate()).toBe(0);
      expect(ex.now - t0).toBe(0);
      expect(mm.notifierMm!.activeInvalidateRanges).toBe(1); // still open, and odd
      expect(mm.notifierMm!.invalidateSeq & 1).toBe(1);
      await inv.join();
      await u.dev.unmap(BASE, BASE + 2 * P);
      await u.remove();
      await mmuIntervalNotifierRemove(other);
    };
    const r = await exhaustClean(program, 2);
    console.log(`6.7b 5.5 contrast: bound 2 exhausted, ${r.executions} executions, no wait`);
  });
});

describe("6.7 (c) the pre-5.3 error flow of hmm_invalidate_range_start", () => {
  interface Outcome {
    valid: boolean;
    waited: number;
    notifiers: number;
  }

  /**
   * The OOM reaper's non-blockable start races hmm_mirror_unregister of another mirror,
   * which holds mirrors_sem for write; afterwards a range is registered and waited for.
   */
  function leakProgram(variant: HmmStartVariant, outcomes: Outcome[]): Program {
    return async (ex) => {
      const { k, mm } = setup(ex);
      await cpuAccess(mm, BASE, true, 1);
      const user = new LegacyUser(k, mm, "user");
      const leaving = new LegacyUser(k, mm, "leaving");
      expect(await user.register(variant)).toBe(0);
      expect(await leaving.register(variant)).toBe(0);
      const a = ex.spawn("unregister", () => hmmMirrorUnregister(leaving.mirror));
      const b = ex.spawn("oom_reaper", () => oomReapTaskMm(mm).then(() => {}));
      await a.join();
      await b.join();
      const hmm = user.mirror.hmm!;
      const range = new HmmRange(BASE, BASE + P, uniformRequest(true, false));
      expect(await hmmRangeRegister(range, user.mirror)).toBe(0);
      const t0 = ex.now;
      const valid = await hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT);
      outcomes.push({ valid, waited: ex.now - t0, notifiers: hmm.notifiers });
      await hmmRangeUnregister(range);
      await hmmMirrorUnregister(user.mirror);
    };
  }

  it("pre-5.3: a failed mirrors_sem trylock leaks notifiers > 0 for ever, reported at run time as invariant 28 (exhaustive, bound 2)", async () => {
    // Since the core oracle asserts invariant 28 (hmm->notifiers == open invalidations outside
    // invalidate_range_start/end), the leak ends the execution the step it happens, before the
    // 1000 ms wait it causes; 5.4 below runs the same race clean.
    const outcomes: Outcome[] = [];
    const r = await exhaustFinds(leakProgram("pre-5.3", outcomes), 2);
    expect(r.failure?.kind).toBe("core-invariant");
    // One leaked count per VMA the reaper skipped.
    expect(r.failure?.message).toMatch(/->notifiers is [12] but 0 invalidations are open \(invariant 28\)/);
    for (const o of outcomes) expect(o).toEqual({ valid: true, waited: 0, notifiers: 0 });
    expect(HMM_RANGE_DEFAULT_TIMEOUT).toBe(1000);
    console.log(`6.7c pre-5.3: leak found at execution ${r.firstFailureAt}`);
  });

  it("5.4: the same race never leaks; every wait is immediate (exhaustive, bound 2)", async () => {
    const outcomes: Outcome[] = [];
    const r = await exhaustClean(leakProgram("5.4", outcomes), 2);
    expect(outcomes).toHaveLength(r.executions);
    for (const o of outcomes) expect(o).toEqual({ valid: true, waited: 0, notifiers: 0 });
    console.log(`6.7c 5.4: bound 2 exhausted, ${r.executions} executions, none leaked`);
  });
});
