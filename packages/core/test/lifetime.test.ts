// Object lifetimes (issue 12, section 2): what the C code frees is marked freed, and every
// later access by the core is a use-after-free naming the object, the access and the free.
import type { Execution } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  frameReturned,
  HmmMirror,
  HmmRange,
  hmmMirrorRegister,
  hmmRangeRegister,
  installEndChecks,
  kfree,
  Lifetime,
  MmuIntervalNotifier,
  MmuNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuNotifierGetLocked,
  mmuNotifierPut,
  munmap,
  uniformRequest,
} from "../src/index.ts";
import { BASE, expectPass, P, runOne, setupKernel } from "./support.ts";

/** A driver struct embedding its interval notifier, as umem_odp or dmirror_interval do. */
class DriverStruct extends MmuIntervalNotifier {
  constructor(name: string) {
    super(name);
    this.lifetime = new Lifetime(`struct driver_obj ${name}`);
  }
}

const noop = { invalidate: async () => true };

describe("a freed struct embedding an mmu_interval_notifier", () => {
  it("is reported when the next invalidation's tree walk reaches it, naming the free and its step", async () => {
    let freedAt = -1;
    const o = await runOne(async (ex: Execution) => {
      const { k, mm } = setupKernel(ex, 2);
      const obj = new DriverStruct("obj");
      expect(await mmuIntervalNotifierInsert(obj, mm, BASE, 2 * P, noop)).toBe(0);
      kfree(k, obj); // BUG: freed without mmu_interval_notifier_remove()
      freedAt = obj.lifetime.freed!.step;
      await munmap(mm, BASE, P);
    });
    expect(o.failure?.kind).toBe("use-after-free");
    expect(o.failure?.message).toBe(
      `BUG: KASAN: use-after-free in mn_itree_inv_start_range: interval_tree_iter_first: struct driver_obj obj freed by kfree in main at step ${freedAt}`,
    );
    expect(o.failure?.detail).toMatchObject({
      object: "struct driver_obj obj",
      freedBy: { how: "kfree", step: freedAt, thread: "main" },
    });
  });

  it("is reported on read_begin after the free", async () => {
    const o = await runOne(async (ex: Execution) => {
      const { k, mm } = setupKernel(ex, 2);
      const obj = new DriverStruct("obj");
      expect(await mmuIntervalNotifierInsert(obj, mm, BASE, 2 * P, noop)).toBe(0);
      await mmuIntervalNotifierRemove(obj);
      kfree(k, obj);
      await mmuIntervalReadBegin(obj);
    });
    expect(o.failure?.kind).toBe("use-after-free");
    expect(o.failure?.message).toMatch(
      /^BUG: KASAN: use-after-free in mmu_interval_read_begin: struct driver_obj obj freed by kfree in main at step \d+$/,
    );
  });

  it("freed after remove returns: no access, no report", async () => {
    const o = await runOne(async (ex: Execution) => {
      const { k, mm } = setupKernel(ex, 2);
      installEndChecks(k, () => []);
      const obj = new DriverStruct("obj");
      expect(await mmuIntervalNotifierInsert(obj, mm, BASE, 2 * P, noop)).toBe(0);
      await mmuIntervalNotifierRemove(obj);
      kfree(k, obj);
      await munmap(mm, BASE, P);
    });
    expectPass(o);
  });

  it("freed and still in the tree when the run ends: a dangling node, reported at exit", async () => {
    const o = await runOne(async (ex: Execution) => {
      const { k, mm } = setupKernel(ex, 2);
      installEndChecks(k, () => []);
      const obj = new DriverStruct("obj");
      expect(await mmuIntervalNotifierInsert(obj, mm, BASE, 2 * P, noop)).toBe(0);
      kfree(k, obj);
    });
    expect(o.failure?.kind).toBe("use-after-free");
    expect(o.failure?.message).toMatch(
      /struct driver_obj obj freed by kfree in main at step \d+ but still on the interval tree$/,
    );
  });

  it("a second kfree is KASAN's double-free", async () => {
    const o = await runOne(async (ex: Execution) => {
      const { k } = setupKernel(ex, 1);
      const obj = new DriverStruct("obj");
      kfree(k, obj);
      kfree(k, obj);
    });
    expect(o.failure?.kind).toBe("use-after-free");
    expect(o.failure?.message).toMatch(
      /^BUG: KASAN: double-free in kfree: struct driver_obj obj already freed by kfree/,
    );
  });
});

describe("other core objects", () => {
  it("an hmm_range left on hmm->ranges after its stack frame returned: the next invalidation reports it", async () => {
    const o = await runOne(async (ex: Execution) => {
      const { k, mm } = setupKernel(ex, 2);
      const mirror = new HmmMirror("drv.mirror", {
        release: async () => {},
        syncCpuDevicePagetables: async () => 0,
      });
      await mm.mmapSem.downWrite();
      expect(await hmmMirrorRegister(mirror, mm)).toBe(0);
      await mm.mmapSem.upWrite();
      const range = new HmmRange(BASE, BASE + 2 * P, uniformRequest(true, false));
      expect(await hmmRangeRegister(range, mirror)).toBe(0);
      frameReturned(k, range, "drv_fault"); // BUG: returned without hmm_range_unregister()
      await munmap(mm, BASE, P);
    });
    expect(o.failure?.kind).toBe("use-after-free");
    expect(o.failure?.message).toMatch(
      /^BUG: KASAN: use-after-free in hmm_invalidate_range_start: list_for_each_entry\(range, &hmm->ranges\): struct hmm_range \[0x10000, 0x12000\) freed by return from drv_fault in main at step \d+$/,
    );
  });

  it("a classic mmu_notifier is freed by ->free_notifier after the SRCU grace period of its last put", async () => {
    const o = await runOne(async (ex: Execution) => {
      const { mm } = setupKernel(ex, 1);
      const ops = { allocNotifier: () => new MmuNotifier("drv.mn", ops) };
      await mm.mmapSem.downWrite();
      const mn = await mmuNotifierGetLocked(ops, mm);
      await mm.mmapSem.upWrite();
      if ("err" in mn) throw new Error("mmu_notifier_get failed");
      await mmuNotifierPut(mn);
      await ex.sleep(1); // let call_srcu's callback run
      expect(mn.lifetime.freed?.how).toBe("mmu_notifier_free_rcu: ->free_notifier");
      await mmuNotifierPut(mn); // BUG: a put after the last one
    });
    expect(o.failure?.kind).toBe("use-after-free");
    expect(o.failure?.message).toMatch(
      /^BUG: KASAN: use-after-free in mmu_notifier_put: struct mmu_notifier drv.mn freed by mmu_notifier_free_rcu: ->free_notifier in call_srcu\(mmu_notifier_free_rcu\) at step \d+$/,
    );
  });

  it("read_begin on a notifier never inserted is an oops (kernel-bug), not a JavaScript exception", async () => {
    const o = await runOne(async (ex: Execution) => {
      setupKernel(ex, 1);
      await mmuIntervalReadBegin(new MmuIntervalNotifier("never.mni"));
    });
    expect(o.failure?.kind).toBe("kernel-bug");
    expect(o.failure?.message).toBe(
      "thread main threw: BUG: kernel NULL pointer dereference: mmu_interval_read_begin(never.mni): mni->mm (never inserted)",
    );
  });
});
