// Kernel errors stay kernel errors: what gntdev refuses, per version and guest kind, and what
// the hypervisor answers a bad unmap.
import { BASE, EINVAL, ENOENT, fork, munmap, PAGE_SIZE, pageAddr } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { gntdevOf, interval, intervalHvm, legacy, legacyHvm } from "../src/index.ts";
import { adHoc, exploreCounters } from "./support.ts";

const P = PAGE_SIZE;

describe("gntdev_mmap refusals (drivers/xen/gntdev.c @5.4/@5.5)", () => {
  for (const v of [legacy, interval, legacyHvm, intervalHvm]) {
    it(`${v.info.id}: a writable MAP_PRIVATE mapping is -EINVAL; an unknown index is -EINVAL; the unmap ioctl of an unknown index is -ENOENT`, async () => {
      const got: number[] = [];
      const { r } = await exploreCounters(
        v,
        adHoc("refusals", async (s) => {
          const g = gntdevOf(s.k);
          const index = await g.mapGrantRef(2);
          got.push(await g.mmapGrants(index, BASE, 2 * P, { write: true, shared: false }));
          got.push(await g.mmapGrants(index + 8 * P, BASE, 2 * P, { write: false, shared: true }));
          got.push(await g.unmapGrantRef(index + 8 * P, 2));
          got.push(await g.unmapGrantRef(index, 2));
        }),
        0,
      );
      expect(r.failure, r.failure?.message).toBeNull();
      expect(got).toEqual([EINVAL, EINVAL, ENOENT, 0]);
    });

    it(`${v.info.id}: a second mmap of a mapped map is refused in PV only`, async () => {
      const got: number[] = [];
      const { r } = await exploreCounters(
        v,
        adHoc("second mmap", async (s) => {
          const g = gntdevOf(s.k);
          const index = await g.mapGrantRef(1);
          got.push(await g.mmapGrants(index, BASE, P, { write: true, shared: true }));
          got.push(await g.mmapGrants(index, pageAddr(2), P, { write: true, shared: true }));
          await s.ctx.unregister({ start: BASE, end: BASE + P, index, count: 1 } as never);
          await s.ctx.unregister({ start: pageAddr(2), end: pageAddr(3), index, count: 1 } as never);
        }),
        0,
      );
      expect(r.failure, r.failure?.message).toBeNull();
      expect(got).toEqual(g2(v.info.id));
    });
  }
  function g2(id: string): number[] {
    return id.endsWith("-hvm") ? [0, 0] : [0, EINVAL];
  }

  it("PV: a forked child's mmap of the parent's gntdev file: 5.4 refuses another mm ('Huh? Other mm?'), 5.5 inserts the notifier on the child's mm", async () => {
    for (const [v, want] of [
      [legacy, EINVAL],
      [interval, 0],
    ] as const) {
      let got = 1;
      const { r } = await exploreCounters(
        v,
        adHoc("other mm", async (s) => {
          const g = gntdevOf(s.k);
          const index = await g.mapGrantRef(1);
          const child = await fork(s.mm);
          // The child maps the file it inherited.
          got = await g.mmapGrants(index, pageAddr(1), P, { write: true, shared: true }, child);
          if (got === 0) await munmap(child, pageAddr(1), P);
          await g.unmapGrantRef(index, 1);
        }),
        0,
      );
      expect(r.failure, r.failure?.message).toBeNull();
      expect(got).toBe(want);
    }
  });
});

describe("the hypervisor's answers (xen/common/grant_table.c)", () => {
  it("an unknown handle is GNTST_bad_handle; a grant PTE Linux clears behind Xen's back is reported as an implicit unmap", async () => {
    const statuses: number[] = [];
    const { r } = await exploreCounters(
      legacy,
      adHoc("bad unmaps", async (s) => {
        statuses.length = 0; // the explorer re-runs a failing execution while shrinking it
        const g = gntdevOf(s.k);
        const op = { host: null, handle: 99, status: 0 };
        await g.xen.unmapGrantRef([op], "test");
        statuses.push(op.status);
        const buf = await s.ctx.register(BASE, P, { write: true });
        void buf;
        // Linux clears the grant PTE itself (as a zap of an unnotified range would).
        s.mm.pt.clear(BASE);
        await s.ex.point("after the clear");
      }),
      0,
    );
    expect(statuses).toEqual([-4]);
    expect(r.failure?.kind).toBe("stale-access");
    // Outside an invalidation core's at-rest device oracle sees the hypervisor's record first;
    // inside one (a zap) the hypervisor's own check names the implicit unmap (counterexamples test).
    expect(r.failure?.message).toMatch(/0x100000/);
  });
});
