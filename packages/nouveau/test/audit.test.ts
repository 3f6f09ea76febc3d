// Divergences found by auditing the models against nouveau_svm.c (issue 12, section 3): each
// test fails on the behaviour the model had before it was fixed.
import {
  BASE,
  EBUSY,
  ENOENT,
  Hmm,
  isBuffer,
  migratePage,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  PAGE_SIZE,
  pageAddr,
  rangeInit,
  runScenario,
  type Scenario,
} from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { legacy, SVM_INIT_ARGS, setPfnmapAllocation, variants } from "../src/index.ts";

const P = PAGE_SIZE;
const once = { strategy: "exhaustive", preemptionBound: 0, executions: 1 } as const;

describe("nouveau audit (issue 12, section 3)", () => {
  it("item 1: 5.4's wait_until_valid timeout returns -EBUSY without hmm_range_unregister", async () => {
    // An invalidation of page 3 is held open, so hmm->notifiers > 0: the fault's range is
    // registered invalid, hmm_range_wait_until_valid times out after 1000 ms, and 5.4 returns
    // -EBUSY leaving the range on hmm->ranges with the mmget hmm_range_register took.
    const seen: { ret?: number; users?: number; ranges?: number; valid?: boolean } = {};
    const s: Scenario = {
      name: "item1-wait-until-valid-timeout",
      description: "a GPU fault while an unrelated invalidation stays open past the 1000 ms timeout",
      async run(c) {
        const buf = await c.ctx.register(BASE, 2 * P, { write: false });
        if (!isBuffer(buf)) return c.ex.fail("exception", "register failed");
        const r = rangeInit(c.mm, "CLEAR", pageAddr(3), pageAddr(4));
        await mmuNotifierInvalidateRangeStart(r);
        seen.ret = await c.ctx.populate(buf, BASE, BASE + P, false);
        const hmm = c.mm.notifierMm!.list.find((n) => n instanceof Hmm) as Hmm;
        seen.users = c.mm.mmUsers.peek();
        seen.ranges = hmm.ranges.length;
        // nouveau_svm_fault has returned: the leaked range is a dead stack frame, and
        // notifiers_decrement re-validating it is a use-after-free (issue 12 section 2).
        await mmuNotifierInvalidateRangeEnd(r);
        // notifiers_decrement re-validates every registered range, the leaked one included.
        seen.valid = hmm.ranges[0]?.valid;
        await c.ctx.unregister(buf);
      },
      expected: { legacy: { verdict: "use-after-free" } },
      exploration: once,
    };
    const res = await runScenario(legacy, s);
    expect(res.verdict, res.message ?? "").toBe("use-after-free");
    expect(res.message).toMatch(
      /^BUG: KASAN: use-after-free in notifiers_decrement: range->valid = true: struct hmm_range \[0x100000, 0x101000\) freed by return from nouveau_svm_fault/,
    );
    expect(seen.ret).toBe(EBUSY);
    expect(seen.ranges).toBe(1); // the old model unregistered: 0
    expect(seen.users).toBe(2); // the task's reference and the leaked range's mmget
  });

  it.each(variants)("item 9 on $info.id: the first PFNCLR runs to svmm->unmanaged.limit", async (v) => {
    // A GPU mapping inside the unmanaged window (the CPU maps the same page there so the
    // at-rest oracle has nothing to say), then an invalidation from one page below the window
    // to one page into it. The old model cleared only up to unmanaged.start and left the entry.
    // The entry is put there directly: it checks the range the first PFNCLR is given. In nvkm
    // no PFN mapping can be there (the next test) and PFNCLR leaves a BO's mapping alone.
    const U = SVM_INIT_ARGS.unmanagedAddr;
    const seen: { before?: boolean; after?: boolean } = {};
    const s: Scenario = {
      name: "item9-unmanaged-window-clear",
      description: "an invalidation of [unmanaged.start - 1 page, unmanaged.start + 1 page)",
      async run(c) {
        c.mm.addVma(U - P, U + 2 * P, { read: true, write: true, shared: false });
        const page = c.k.pages.allocPage(42);
        page.mapcount = 1;
        c.mm.pt.set(U, page, true);
        const vmm = c.ctx.mmus[0]!;
        await vmm.map([{ addr: U, page, write: true }]);
        seen.before = vmm.entry(U) !== undefined;
        const r = rangeInit(c.mm, "CLEAR", U - P, U + P);
        await mmuNotifierInvalidateRangeStart(r);
        await mmuNotifierInvalidateRangeEnd(r);
        seen.after = vmm.entry(U) !== undefined;
      },
      expected: { legacy: { verdict: "pass" }, interval: { verdict: "pass" } },
      exploration: once,
    };
    const res = await runScenario(v, s);
    expect(res.verdict, res.message ?? "").toBe("pass");
    expect(seen.before).toBe(true);
    expect(seen.after).toBe(false);
  });

  it.each(variants)(
    "$info.id: a fault inside the unmanaged window is let through the clip, and nvkm refuses its PFNMAP",
    async (v) => {
      // nouveau_svm_fault's clip: start < unmanaged.limit, so limit = unmanaged.start, below the
      // address; find_vma_intersection(addr, unmanaged.start) finds a VMA that starts below
      // unmanaged.start, and the window loop takes the first fault's page: one page is faulted.
      // nvkm_vmm_pfn_map then finds no PFN-mappable vma in the NVKM-managed area (-ENOENT) and
      // the fault is cancelled. Without that refusal the page would be mapped where no
      // invalidation's PFNCLR reaches it (for a range inside the window the callback clears
      // [unmanaged.limit, end): nothing), and the migration below left a use-after-free.
      const U = SVM_INIT_ARGS.unmanagedAddr;
      const L = U + SVM_INIT_ARGS.unmanagedSize;
      const seen: { ret?: number; mapped?: boolean } = {};
      const s: Scenario = {
        name: "fault-inside-unmanaged-window",
        description: "a GPU fault on the last page of the unmanaged window, a VMA from one page below it",
        async run(c) {
          setPfnmapAllocation(c.k, "plain");
          c.mm.addVma(U - P, L, { read: true, write: true, shared: false }).anonVma = true;
          const page = c.k.pages.allocPage(42);
          page.mapcount = 1;
          c.mm.pt.set(L - P, page, true);
          const buf = await c.ctx.register(L - P, P, { write: false });
          if (!isBuffer(buf)) return c.ex.fail("exception", "register failed");
          seen.ret = await c.ctx.populate(buf, L - P, L, false);
          seen.mapped = c.ctx.mmus[0]!.entry(L - P) !== undefined;
          await migratePage(c.mm, L - P);
          await c.ctx.unregister(buf);
        },
        expected: { legacy: { verdict: "pass" }, interval: { verdict: "pass" } },
        exploration: once,
      };
      const res = await runScenario(v, s);
      expect(res.verdict, res.message ?? "").toBe("pass");
      expect(seen.ret).toBe(ENOENT); // the PFNMAP method's error: the window's faults are cancelled
      expect(seen.mapped).toBe(false);
    },
  );
});
