// Device jobs read their mappings when they execute, not when they are submitted; and mmap
// over an existing mapping invalidates it first (MAP_FIXED).
import { ExhaustiveStrategy, explore, type Program } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  type DmaFence,
  installCoreInvariants,
  installDeviceOracles,
  Kernel,
  type MmStruct,
  type MmuIntervalNotifier,
  type MmuNotifierRange,
  mmap,
  mmuIntervalSetSeq,
  munmap,
  PAGE_SIZE,
  submitJob,
} from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { anonVma, BASE } from "./support.ts";

type Callback = "tear-down" | "wait-fence-then-tear-down" | "nothing";

/** A user whose invalidate callback tears down, waits for its jobs first, or does nothing. */
class JobUser extends IdealUser {
  constructor(
    k: Kernel,
    mm: MmStruct,
    start: number,
    end: number,
    private readonly callback: Callback,
    private readonly fences: DmaFence[],
  ) {
    super(k, mm, start, end);
  }

  protected override async invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number) {
    this.callbacks++;
    await this.lock.lock();
    await mmuIntervalSetSeq(sub, curSeq);
    if (this.callback === "wait-fence-then-tear-down") for (const f of this.fences) await f.wait();
    if (this.callback !== "nothing") await this.dev.unmap(range.start, range.end);
    await this.lock.unlock();
    return true;
  }
}

/** A populated user submits a GPU job reading page 0 while the process munmaps it. */
function jobVsMunmap(callback: Callback): Program {
  return async (ex) => {
    const k = new Kernel(ex);
    installCoreInvariants(k);
    installDeviceOracles(k);
    const mm = k.createMm();
    anonVma(mm, BASE, 2);
    const fences: DmaFence[] = [];
    const u = new JobUser(k, mm, BASE, BASE + 2 * PAGE_SIZE, callback, fences);
    expect(await u.insert()).toBe(0);
    expect(await u.populate()).toBe(0);
    const cpu = ex.spawn("munmap", async () => void (await munmap(mm, BASE, PAGE_SIZE)));
    const gpu = ex.spawn("submit", async () => {
      await u.lock.lock();
      fences.push(submitJob(u.dev, "job0", [{ addr: BASE, write: false }]));
      await u.lock.unlock();
    });
    await cpu.join();
    await gpu.join();
    await fences[0]?.wait();
    await u.lock.lock();
    await u.dev.unmap(BASE, BASE + 2 * PAGE_SIZE);
    await u.lock.unlock();
    await u.remove();
  };
}

describe("device jobs", () => {
  it("a job runs later than its submission: a callback that neither waits nor tears down lets it read a freed page", async () => {
    const r = await explore(jobVsMunmap("nothing"), {
      strategy: new ExhaustiveStrategy(2),
      executions: 20_000,
    });
    expect(["stale-access", "use-after-free"]).toContain(r.failure?.kind);
  });

  it("tearing down in the callback is enough (the job faults instead): bound 2 exhausted clean", async () => {
    const r = await explore(jobVsMunmap("tear-down"), {
      strategy: new ExhaustiveStrategy(2),
      executions: 50_000,
    });
    expect(r.failure).toBeNull();
    expect(r.exhausted).toBe(true);
  });

  it("waiting for the fence in the callback, then tearing down, is clean: bound 2 exhausted", async () => {
    const r = await explore(jobVsMunmap("wait-fence-then-tear-down"), {
      strategy: new ExhaustiveStrategy(2),
      executions: 50_000,
    });
    expect(r.failure).toBeNull();
    expect(r.exhausted).toBe(true);
  });

  it("a fence signals after the job's accesses and reports what they returned", async () => {
    const r = await explore(
      async (ex) => {
        const k = new Kernel(ex);
        const mm = k.createMm();
        anonVma(mm, BASE, 1);
        const u = new IdealUser(k, mm, BASE, BASE + PAGE_SIZE);
        await u.insert();
        await u.populate();
        const f = submitJob(u.dev, "job", [
          { addr: BASE, write: false },
          { addr: BASE + PAGE_SIZE, write: false },
        ]);
        expect(f.signaled).toBe(false);
        expect(await f.waitTimeout(10)).toBe(true);
        expect(f.signaled).toBe(true);
        // Untouched private memory read-faults to the zero page: the job reads 0.
        expect(f.results).toEqual([
          { ok: true, data: 0 },
          { ok: false, fault: "not-mapped" },
        ]);
        await u.dev.unmap(BASE, BASE + PAGE_SIZE);
        await u.remove();
      },
      { strategy: new ExhaustiveStrategy(2), executions: 1000 },
    );
    expect(r.failure).toBeNull();
  });
});

describe("mmap", () => {
  it("MAP_FIXED over a populated mapping issues one UNMAP invalidation; a fresh range issues none", async () => {
    const r = await explore(
      async (ex) => {
        const k = new Kernel(ex);
        installDeviceOracles(k);
        const mm = k.createMm();
        anonVma(mm, BASE, 2);
        const u = new IdealUser(k, mm, BASE, BASE + 4 * PAGE_SIZE);
        await u.insert();
        await u.populate(BASE, BASE + 2 * PAGE_SIZE);
        expect(u.dev.size).toBe(2);
        await mmap(mm, BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, { read: true, write: true });
        expect(u.callbacks).toBe(0);
        await mmap(mm, BASE, PAGE_SIZE, { read: true, write: false });
        expect(u.callbacks).toBe(1);
        expect(u.dev.size).toBe(1);
        expect(mm.pt.get(BASE)).toBeUndefined();
        expect(mm.vmaAt(BASE)?.flags.write).toBe(false);
        await u.dev.unmap(BASE, BASE + 4 * PAGE_SIZE);
        await u.remove();
      },
      { strategy: new ExhaustiveStrategy(0), executions: 1 },
    );
    expect(r.failure).toBeNull();
  });
});
