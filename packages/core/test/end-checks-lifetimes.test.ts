// The end-of-run lifetime checks (issue 22): mm_users and mm_count back to what the
// process's own tasks hold once everything is closed (0 once the process is gone), every
// page reference a driver took put back, every heap struct freed. A small pinning driver —
// GUP at populate, put_page at unregister, mmgrab at open and mmdrop at close, an
// mmget_not_zero/mmput pair around the walk, a kmalloc'ed context struct — passes; dropping
// any one of its puts is caught, whether the process still runs at the end or has exited.
import { describe, expect, it } from "vitest";
import {
  BASE,
  type BufferHandle,
  DeviceMmu,
  type DriverModel,
  EFAULT,
  exitTask,
  type GupPage,
  getUserPages,
  type HasLifetime,
  isBuffer,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  mmdrop,
  mmgetNotZero,
  mmgrab,
  mmput,
  PAGE_SIZE,
  releaseUserPages,
  runScenario,
  type Scenario,
} from "../src/index.ts";

type Drop = "none" | "mmput" | "mmdrop" | "put_page" | "kfree";

interface PinBuffer extends BufferHandle {
  pages: GupPage[];
}

/** struct pin_ctx: the driver's file-private struct, kmalloc'ed at open and kfree'd at close. */
class PinCtx implements HasLifetime {
  readonly lifetime = new Lifetime("struct pin_ctx");
}

/** A pinning driver in the manner of hfi1/gntdev, with one put left out on request. */
function pinDriver(drop: Drop): DriverModel {
  return {
    info: {
      driver: "pin-test",
      id: drop === "none" ? "good" : `no-${drop.replace("_", "-")}`,
      kernel: "5.5",
      files: [],
      commits: [],
      source: import.meta.url,
      summary: `GUP driver${drop === "none" ? "" : ` without its ${drop}`}`,
    },
    async open(k: Kernel, mm: MmStruct) {
      const dev = new DeviceMmu(k, "pin.dev", mm);
      const priv = new PinCtx();
      await mmgrab(mm); // file->mm, held until close
      return {
        mmus: [dev],
        async register(start, len) {
          return { start, end: start + len, pages: [] } satisfies PinBuffer;
        },
        async populate(buf, start, end, write) {
          const b = buf as PinBuffer;
          if (!(await mmgetNotZero(mm))) return EFAULT;
          await mm.mmapSem.downRead();
          const r = await getUserPages(mm, start, (end - start) / PAGE_SIZE, { write });
          await mm.mmapSem.upRead();
          if (drop !== "mmput") await mmput(mm);
          if (r.ret < 0) return r.ret;
          b.pages.push(...r.pages);
          await dev.map(r.pages.map((p) => ({ addr: p.addr, page: p.page, write: p.write })));
          return 0;
        },
        access: (_buf, addr, write) => dev.access(addr, write),
        async unregister(buf) {
          const b = buf as PinBuffer;
          await dev.unmap(b.start, b.end);
          const pages = b.pages.splice(0);
          releaseUserPages(mm, drop === "put_page" ? pages.slice(1) : pages, false);
        },
        async close() {
          if (drop !== "kfree") kfree(k, priv);
          if (drop !== "mmdrop") await mmdrop(mm);
        },
      };
    },
  };
}

/** Register two pages, populate, read through the device, unregister; then exit if asked. */
function lifetimeScenario(exit: boolean): Scenario {
  return {
    name: exit ? "pin-then-exit" : "pin",
    description: "populate and unregister a two-page buffer, nothing racing",
    async run(s) {
      const b = await s.ctx.register(BASE, 2 * PAGE_SIZE, { write: true });
      if (!isBuffer(b)) return s.ex.fail("exception", `register returned ${b}`);
      expect(await s.ctx.populate(b, b.start, b.end, true)).toBe(0);
      await s.ctx.access(b, BASE, false);
      await s.ctx.unregister(b);
      await s.ctx.close();
      if (exit) await exitTask(s.mm);
    },
    expected: { default: { verdict: "pass" } },
    exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 10 },
  };
}

describe("end-of-run lifetime checks", () => {
  for (const exit of [false, true]) {
    const s = lifetimeScenario(exit);
    const when = exit ? "after the process exited" : "with the process still running";

    it(`the driver that puts everything passes ${when}`, async () => {
      const r = await runScenario(pinDriver("none"), s);
      expect(r.verdict, r.message ?? "").toBe("pass");
      expect(r.exhausted).toBe(true);
    });

    it(`a dropped mmput is a leak of mm_users ${when}`, async () => {
      const r = await runScenario(pinDriver("mmput"), s);
      expect(r.verdict).toBe("leak");
      expect(r.message).toMatch(exit ? /mm_users is 1 .*process is gone/ : /mm_users is 2 .*hold 1/);
    });

    it(`a dropped mmdrop is a leak of mm_count ${when}`, async () => {
      const r = await runScenario(pinDriver("mmdrop"), s);
      expect(r.verdict).toBe("leak");
      expect(r.message).toMatch(exit ? /mm_count is 1 .*mm_users 0/ : /mm_count is 2 .*mm_users 1/);
    });

    it(`a dropped put_page is a leak of the page's reference ${when}`, async () => {
      const r = await runScenario(pinDriver("put_page"), s);
      expect(r.verdict).toBe("leak");
      expect(r.message).toMatch(/pfn 0x[0-9a-f]+ has \d references for \d mappings/);
    });

    it(`a struct never kfree'd is a leak ${when}`, async () => {
      const r = await runScenario(pinDriver("kfree"), s);
      expect(r.verdict).toBe("leak");
      expect(r.message).toBe("never freed once everything is closed: struct pin_ctx");
    });
  }

  it("a stack or embedded lifetime is not tracked; heapAllocated tracks one", async () => {
    const { Kernel, heapAllocated } = await import("../src/index.ts");
    const { explore, makeStrategy } = await import("@mnlab/sim");
    let seen: string[] = [];
    await explore(
      async (ex) => {
        const k = new Kernel(ex);
        new Lifetime("struct on_stack", { heap: false });
        const kmalloced = new Lifetime("struct kmalloced_range", { heap: false });
        heapAllocated(kmalloced);
        heapAllocated(kmalloced);
        new Lifetime("struct heap");
        seen = k.allocations.map((l) => l.name);
      },
      { strategy: makeStrategy({ name: "exhaustive", preemptionBound: 0 }), executions: 1 },
    );
    expect(seen).toEqual(["struct kmalloced_range", "struct heap"]);
  });
});
