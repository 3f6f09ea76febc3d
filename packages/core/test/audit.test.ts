// Divergences found by auditing the core model against the v5.4/v5.5 sources (issue 12,
// section 3). Each test fails on the behaviour the model had before the fix.
import { describe, expect, it } from "vitest";
import {
  cpuAccess,
  EPERM,
  fork,
  HmmMirror,
  HmmRange,
  hmmMirrorRegister,
  hmmRangeFault54,
  hmmRangeRegister,
  hmmRangeUnregister,
  MmuNotifier,
  mmuNotifierRegister,
  uniformRequest,
} from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";
import { BASE, expectPass, P, runOne, setupKernel } from "./support.ts";

describe("item 5: a write fault on a read-only VMA is -EPERM (hmm_vma_walk_hole_ @5.4/5.5)", () => {
  it("5.5 hmm_range_fault", async () => {
    let ret = 0;
    const o = await runOne(async (ex) => {
      const { k, mm } = setupKernel(ex, 0);
      mm.addVma(BASE, BASE + 2 * P, { read: true, write: false, shared: false });
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      ret = await u.populate(BASE, BASE + 2 * P, true);
      await u.remove();
    });
    expectPass(o);
    expect(ret).toBe(EPERM); // the old default was -EFAULT
  });

  it("5.4 hmm_range_fault", async () => {
    let ret = 0;
    const o = await runOne(async (ex) => {
      const { mm } = setupKernel(ex, 0);
      mm.addVma(BASE, BASE + 2 * P, { read: true, write: false, shared: false });
      const mirror = new HmmMirror("mirror", {
        release: async () => {},
        syncCpuDevicePagetables: async () => 0,
      });
      await mm.mmapSem.downWrite();
      expect(await hmmMirrorRegister(mirror, mm)).toBe(0);
      await mm.mmapSem.upWrite();
      const range = new HmmRange(BASE, BASE + 2 * P, uniformRequest(true, true));
      expect(await hmmRangeRegister(range, mirror)).toBe(0);
      await mm.mmapSem.downRead();
      ret = await hmmRangeFault54(range);
      await mm.mmapSem.upRead();
      await hmmRangeUnregister(range);
    });
    expectPass(o);
    expect(ret).toBe(EPERM); // the old model passed -EFAULT for 5.4
  });
});

describe("item 6: wp_page_copy re-checks pte_same after its invalidate_range_start", () => {
  it("a PTE zapped while the COW break waits installs nothing; the retried write faults a fresh page", async () => {
    const seen: { data?: number | "sigsegv"; child?: number; copies?: number } = {};
    const o = await runOne(async (ex) => {
      const { k, mm } = setupKernel(ex, 0);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      expect(await cpuAccess(mm, BASE, true, 5)).toBe(5);
      const child = await fork(mm); // the page is now mapped twice, read-only: COW
      let zapped = false;
      const before = [...k.pages.all()].length;
      // Stands for another CPU's zap (madvise(MADV_DONTNEED) holds mmap_sem for read too)
      // landing while this fault sits in wp_page_copy's invalidate_range_start.
      const other = new MmuNotifier("other-cpu", {
        invalidateRangeStart: async (_mn, r) => {
          if (r.event !== "CLEAR" || zapped) return 0;
          zapped = true;
          const old = mm.pt.clear(BASE)!;
          old.page.mapcount--;
          k.pages.putPage(old.page);
          return 0;
        },
      });
      expect(await mmuNotifierRegister(other, mm)).toBe(0);
      seen.data = await cpuAccess(mm, BASE, true); // a store of data + 1
      seen.child = await cpuAccess(child, BASE, false);
      // Pages allocated by the write: the copy (released) and the retried fault's fresh page.
      seen.copies = [...k.pages.all()].slice(before).filter((p) => !p.freed).length;
    });
    expectPass(o);
    expect(seen.data).toBe(1); // fresh zeroed page + 1; the old model resurrected the copy: 6
    expect(seen.child).toBe(5);
    expect(seen.copies).toBe(1);
  });
});
