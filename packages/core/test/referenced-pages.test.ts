// Pages somebody holds a reference to (GUP, pin) across migration and reclaim, as 5.4/5.5 do
// them: mm/migrate.c migrate_page_move_mapping() refuses the move (-EAGAIN) and
// remove_migration_ptes() maps the same page back; mm/vmscan.c __remove_mapping()'s
// page_ref_freeze() fails and the page stays in the swap cache, where do_swap_page's
// lookup_swap_cache() finds it again. And the at-rest device oracle, which counts a
// migration entry (or a swap entry whose page the swap cache keeps) as still mapping its page.
import type { Execution } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  cpuAccess,
  DeviceMmu,
  EAGAIN,
  type GupPage,
  getUserPages,
  handleMmFault,
  installEndChecks,
  type Kernel,
  type MmStruct,
  madviseDontneed,
  migratePage,
  munmap,
  reclaimPage,
  releaseUserPages,
} from "../src/index.ts";
import { BASE, describeFailure, exhaustClean, expectPass, P, runOne, setupKernel } from "./support.ts";

async function gup(mm: MmStruct, addr: number, pin = false): Promise<GupPage[]> {
  await mm.mmapSem.downRead();
  const r = await getUserPages(mm, addr, 1, { write: true, pin });
  await mm.mmapSem.upRead();
  expect(r.ret).toBe(1);
  return r.pages;
}

/** One page at BASE written by the CPU (data 42): refcount 1, mapcount 1. */
async function touched(ex: Execution): Promise<{ k: Kernel; mm: MmStruct }> {
  const s = setupKernel(ex, 2);
  installEndChecks(s.k, () => []);
  expect(await cpuAccess(s.mm, BASE, true, 42)).toBe(42);
  return s;
}

describe("migration of a referenced page (mm/migrate.c __unmap_and_move @5.4/@5.5)", () => {
  for (const pin of [false, true]) {
    it(`a ${pin ? "pinned" : "GUP-referenced"} page is refused and mapped back; released, it moves`, async () => {
      const out = await runOne(async (ex) => {
        const { mm } = await touched(ex);
        const [g] = await gup(mm, BASE, pin);
        const page = g!.page;
        expect(await migratePage(mm, BASE)).toBe(EAGAIN);
        // remove_migration_ptes(page, page, false): the same page, writable as before.
        expect(mm.pt.get(BASE)?.page).toBe(page);
        expect(mm.pt.get(BASE)?.write).toBe(true);
        expect(mm.pt.swapEntry(BASE)).toBeUndefined();
        expect([page.refcount, page.mapcount, page.freed]).toEqual([2, 1, false]);
        expect(await cpuAccess(mm, BASE, false)).toBe(42);
        releaseUserPages(mm, [g!], pin);
        expect(await migratePage(mm, BASE)).toBe(1);
        expect(mm.pt.get(BASE)?.page).not.toBe(page);
        expect(page.freed).toBe(true);
        expect(await cpuAccess(mm, BASE, false)).toBe(42);
      });
      expectPass(out);
      // The refused move still went through try_to_unmap's CLEAR bracket and its point.
      const ops = (out.trace ?? []).map((e) => e.op);
      expect(ops).toContain("migrate_page_move_mapping");
      expect(ops.indexOf("ptep_clear_flush")).toBeLessThan(ops.indexOf("migrate_page_move_mapping"));
    });
  }

  it("a fault that meets the migration entry of a refused move waits, then writes the same page", async () => {
    let sawEntry = 0;
    await exhaustClean(async (ex) => {
      const { mm } = await touched(ex);
      const [g] = await gup(mm, BASE);
      const t = ex.spawn("migrate", async () => void expect(await migratePage(mm, BASE)).toBe(EAGAIN));
      const c = ex.spawn("cpu", async () => {
        await mm.mmapSem.downRead();
        if (mm.pt.swapEntry(BASE)?.kind === "migration") sawEntry++;
        const r = await handleMmFault(mm, BASE, true);
        await mm.mmapSem.upRead();
        expect(r).toBe("ok");
        expect(await cpuAccess(mm, BASE, true, 7)).toBe(7);
      });
      await t.join();
      await c.join();
      expect(mm.pt.get(BASE)?.page).toBe(g!.page);
      expect(g!.page.data).toBe(7);
      releaseUserPages(mm, [g!], false);
    }, 2);
    expect(sawEntry).toBeGreaterThan(0);
  });
});

describe("reclaim of a referenced page (mm/vmscan.c shrink_page_list @5.4/@5.5)", () => {
  it("kept in the swap cache; the next fault maps the same page back (lookup_swap_cache)", async () => {
    const out = await runOne(async (ex) => {
      const { mm } = await touched(ex);
      const [g] = await gup(mm, BASE);
      const page = g!.page;
      expect(await reclaimPage(mm, BASE)).toBe(EAGAIN);
      expect(mm.pt.get(BASE)).toBeUndefined();
      expect(mm.pt.swapEntry(BASE)?.page).toBe(page);
      // GUP's reference and the swap cache's (the mapping's, handed over); no mapping.
      expect([page.refcount, page.mapcount, page.freed]).toEqual([2, 0, false]);
      page.data = 99; // the device writes through its reference meanwhile
      expect(await cpuAccess(mm, BASE, false)).toBe(99);
      expect(mm.pt.get(BASE)?.page).toBe(page);
      expect([page.refcount, page.mapcount]).toEqual([2, 1]);
      releaseUserPages(mm, [g!], false);
    });
    expectPass(out);
  });

  it("a page without extra references is freed and a new one swapped in (unchanged)", async () => {
    const out = await runOne(async (ex) => {
      const { mm } = await touched(ex);
      const page = mm.pt.get(BASE)!.page;
      expect(await reclaimPage(mm, BASE)).toBe(1);
      expect(page.freed).toBe(true);
      expect(mm.pt.swapEntry(BASE)?.page).toBeUndefined();
      expect(await cpuAccess(mm, BASE, false)).toBe(42);
      expect(mm.pt.get(BASE)?.page).not.toBe(page);
    });
    expectPass(out);
  });

  for (const how of ["munmap", "MADV_DONTNEED"] as const) {
    it(`${how} of the swap entry drops the swap cache's reference (free_swap_and_cache)`, async () => {
      const out = await runOne(async (ex) => {
        const { mm } = await touched(ex);
        const [g] = await gup(mm, BASE);
        const page = g!.page;
        expect(await reclaimPage(mm, BASE)).toBe(EAGAIN);
        if (how === "munmap") expect(await munmap(mm, BASE, P)).toBe(0);
        else expect(await madviseDontneed(mm, BASE, P)).toBe(0);
        expect(mm.pt.swapEntry(BASE)).toBeUndefined();
        expect([page.refcount, page.freed]).toEqual([1, false]);
        releaseUserPages(mm, [g!], false);
        expect(page.freed).toBe(true);
      });
      expectPass(out); // the end-of-run leak check included
    });
  }

  it("a page left in the swap cache at the end is no leak; a reference never put still is", async () => {
    const clean = await runOne(async (ex) => {
      const { mm } = await touched(ex);
      const [g] = await gup(mm, BASE);
      expect(await reclaimPage(mm, BASE)).toBe(EAGAIN);
      releaseUserPages(mm, [g!], false); // refcount 1: the swap cache's
    });
    expectPass(clean);
    const leaky = await runOne(async (ex) => {
      const { mm } = await touched(ex);
      await gup(mm, BASE);
      expect(await reclaimPage(mm, BASE)).toBe(EAGAIN);
    });
    expect(leaky.failure?.kind, describeFailure(leaky)).toBe("leak");
    expect(leaky.failure?.message).toMatch(/2 references for 0 mappings and 1 swap-cache entry/);
  });

  it("a fault during the reclaim window waits for the page lock, then maps the kept page", async () => {
    let waited = 0;
    await exhaustClean(async (ex) => {
      const { mm } = await touched(ex);
      const [g] = await gup(mm, BASE);
      const t = ex.spawn("kswapd", async () => void expect(await reclaimPage(mm, BASE)).toBe(EAGAIN));
      const c = ex.spawn("cpu", async () => {
        if (mm.pt.swapEntry(BASE)?.locked === true) waited++;
        expect(await cpuAccess(mm, BASE, false)).toBe(42);
      });
      await t.join();
      await c.join();
      // Whichever ran first, the CPU ends up mapping the referenced page again (if it faulted
      // before the reclaim, the reclaim found it mapped and unmapped it afterwards: touch again).
      expect(await cpuAccess(mm, BASE, false)).toBe(42);
      expect(mm.pt.get(BASE)?.page).toBe(g!.page);
      expect([g!.page.refcount, g!.page.mapcount]).toEqual([2, 1]);
      releaseUserPages(mm, [g!], false);
    }, 2);
    expect(waited).toBeGreaterThan(0);
  });
});

describe("the at-rest device oracle over migration and swap entries (device-mmu.ts)", () => {
  /** A device entry for the page at BASE, made from a GUP reference (or none). */
  async function deviceOn(k: Kernel, mm: MmStruct, withRef: boolean) {
    const d = new DeviceMmu(k, "dev", mm);
    const pages = withRef
      ? await gup(mm, BASE)
      : [{ page: mm.pt.get(BASE)!.page, addr: BASE, write: true, gen: 0 }];
    await d.map(pages);
    return { d, pages };
  }

  it("a device holding a GUP reference stays coherent across a refused migration", async () => {
    const out = await runOne(async (ex) => {
      const { k, mm } = await touched(ex);
      const { d, pages } = await deviceOn(k, mm, true);
      expect(await migratePage(mm, BASE)).toBe(EAGAIN);
      expect((await d.access(BASE, false)).ok).toBe(true);
      await d.unmap(BASE, BASE + P);
      releaseUserPages(mm, pages, false);
    });
    expectPass(out);
  });

  it("a migration entry still maps its page: a mapping without a reference goes bad only at remove_migration_ptes", async () => {
    const out = await runOne(async (ex) => {
      const { k, mm } = await touched(ex);
      await deviceOn(k, mm, false);
      expect(await migratePage(mm, BASE)).toBe(1);
    });
    // Not while the entry was in place (after the CLEAR bracket, through the move point), but
    // once the new page is mapped and the old one freed (in the same step: use-after-free).
    expect(out.failure?.kind, describeFailure(out)).toBe("use-after-free");
    expect(out.failure?.message).toMatch(/at rest/);
    const points = (out.trace ?? []).filter((e) => e.kind === "op").map((e) => e.op);
    expect(points.slice(-2)).toEqual(["migrate_page_move_mapping", "remove_migration_ptes"]);
  });

  it("a migration entry in place maps its page, at rest and for a device access; a new page does not", async () => {
    const inFlight = await runOne(async (ex) => {
      const { k, mm } = await touched(ex);
      const { d } = await deviceOn(k, mm, false);
      const page = mm.pt.get(BASE)!.page;
      // The state try_to_unmap_one(TTU_MIGRATION) leaves, held across scheduling points.
      mm.pt.setSwapEntry(BASE, { kind: "migration", data: page.data, write: true, page });
      await ex.point("migration in flight");
      expect(await d.access(BASE, true, 5)).toEqual({ ok: true, data: 5 });
      mm.pt.set(BASE, page, true); // remove_migration_ptes(page, page): back
    });
    expectPass(inFlight);
    const moved = await runOne(async (ex) => {
      const { k, mm } = await touched(ex);
      const { d } = await deviceOn(k, mm, false);
      const page = mm.pt.get(BASE)!.page;
      k.pages.getPage(page); // kept alive: the verdict is about the mapping, not the free
      mm.pt.setSwapEntry(BASE, { kind: "migration", data: page.data, write: true, page });
      const other = k.pages.allocPage(page.data);
      other.mapcount = 1;
      mm.pt.set(BASE, other, true); // remove_migration_ptes(page, newpage)
      await d.access(BASE, false);
    });
    expect(moved.failure?.kind, describeFailure(moved)).toBe("stale-access");
  });

  it("a swap entry whose page the swap cache keeps maps that page; one whose page was freed maps none", async () => {
    const kept = await runOne(async (ex) => {
      const { k, mm } = await touched(ex);
      const { d, pages } = await deviceOn(k, mm, true);
      expect(await reclaimPage(mm, BASE)).toBe(EAGAIN);
      await ex.point("after reclaim");
      await d.unmap(BASE, BASE + P);
      releaseUserPages(mm, pages, false);
    });
    expectPass(kept);
    const freed = await runOne(async (ex) => {
      const { k, mm } = await touched(ex);
      const d = new DeviceMmu(k, "dev", mm);
      const page = mm.pt.get(BASE)!.page;
      // The reclaim of a referenced page, then a swap entry that no longer holds it.
      mm.pt.setSwapEntry(BASE, { kind: "swap", data: page.data, write: true, page });
      page.mapcount = 0;
      k.pages.getPage(page); // the device's own reference
      await d.map([{ page, addr: BASE, write: true }]);
      await ex.point("kept");
      mm.pt.setSwapEntry(BASE, { kind: "swap", data: page.data, write: true });
      await ex.point("dropped");
    });
    expect(freed.failure?.kind, describeFailure(freed)).toBe("stale-access");
    expect(freed.failure?.message).toMatch(/at rest.*the CPU now maps nothing/);
  });
});
