// A retired device table (DeviceMmu.retire): its owner has quiesced it — a file release no
// ioctl or job can be inside any more — and only the teardown of the table is left. The at-rest
// oracle stops judging it (lib/test_hmm.c dmirror_fops_release @5.8: between
// mmu_interval_notifier_remove and xa_destroy the table may name pages a munmap freed, and
// nothing reads it); an access through it is still judged.
import { describe, expect, it } from "vitest";
import { cpuAccess, DeviceMmu, installDeviceOracles, munmap } from "../src/index.ts";
import { BASE, P, runOne, setupKernel } from "./support.ts";

describe("a retired device table", () => {
  for (const retired of [false, true]) {
    it(`${retired ? "is not" : "is"} judged at rest once the CPU frees a page it still names`, async () => {
      const out = await runOne(async (ex) => {
        const { k, mm } = setupKernel(ex, 2);
        installDeviceOracles(k);
        expect(await cpuAccess(mm, BASE, true, 7)).toBe(7);
        const d = new DeviceMmu(k, "dev", mm);
        await d.map([{ page: mm.pt.get(BASE)!.page, addr: BASE, write: true }]);
        if (retired) d.retire();
        expect(await munmap(mm, BASE, P)).toBe(0);
        await ex.point("after_munmap", "dev");
      });
      if (retired) expect(out.failure).toBeNull();
      else expect(out.failure?.kind).toBe("use-after-free");
    });
  }

  it("still has its accesses judged", async () => {
    const out = await runOne(async (ex) => {
      const { k, mm } = setupKernel(ex, 2);
      expect(await cpuAccess(mm, BASE, true, 7)).toBe(7);
      const d = new DeviceMmu(k, "dev", mm);
      await d.map([{ page: mm.pt.get(BASE)!.page, addr: BASE, write: true }]);
      d.retire();
      expect(await munmap(mm, BASE, P)).toBe(0);
      await d.access(BASE, false);
    });
    expect(out.failure?.kind).toBe("use-after-free");
    expect(out.failure?.message).toContain("device read");
  });
});
