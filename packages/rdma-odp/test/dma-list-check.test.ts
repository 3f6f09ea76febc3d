// The dma_list check (src/dma-list-check.ts) in both variants: a populated MR whose page 1 is
// munmapped passes; the same run with a dma_list entry stored behind the munmap's callback
// (what a fault that DMA-maps without umem_mutex does, drop-lock-pair in
// ib_umem_odp_map_dma_pages) is reported at rest, by the kind of the page it names.
import {
  BASE,
  type DriverModel,
  munmap,
  mustRegister,
  PAGE_SIZE,
  type Page,
  pageAddr,
  runScenario,
  type Scenario,
} from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { interval, legacy } from "../src/index.ts";

const P = PAGE_SIZE;

/** The umem behind an ODP buffer handle, as both variants have it (buffer.mr.umem). */
interface UmemState {
  pageList: (Page | null)[];
  dmaList: number[];
  npages: number;
}

type Inject = "none" | "freed-page" | "other-page";

function scenario(inject: Inject): Scenario {
  return {
    name: `dma-list-entry-behind-callback-${inject}`,
    description:
      "An ODP MR over pages 0-1 is faulted in; munmap of page 1 runs its callback (MTT zap, DMA unmap); " +
      "then, unless `none`, a dma_list entry for page 1 is stored as an unlocked fault would store it.",
    pages: 2,
    exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 10, lockdep: false },
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      expect(await s.ctx.populate(buf, BASE, BASE + 2 * P, true)).toBe(0);
      const umem = (buf as unknown as { mr: { umem: UmemState } }).mr.umem;
      const [page0, page1] = umem.pageList;
      expect(page0).toBeTruthy();
      expect(page1).toBeTruthy();
      await munmap(s.mm, pageAddr(1), P);
      expect(umem.dmaList[1]).toBe(0);
      if (inject !== "none") {
        // ib_umem_odp_map_dma_single_page()'s store, after the callback returned.
        umem.dmaList[1] = 3; // ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT
        umem.pageList[1] = inject === "freed-page" ? page1! : page0!;
        umem.npages++;
      }
      await s.ctx.unregister(buf);
    },
    expected: { default: { verdict: "pass" } },
  };
}

describe.each([
  ["legacy", legacy],
  ["interval", interval],
] as [string, DriverModel][])("dma_list check, %s", (_, v) => {
  it("passes a correct run", async () => {
    const r = await runScenario(v, scenario("none"));
    expect(r.message).toBeNull();
    expect(r.verdict).toBe("pass");
  });

  it("reports an entry of a freed page stored behind the callback as use-after-free", async () => {
    const r = await runScenario(v, scenario("freed-page"));
    expect(r.verdict).toBe("use-after-free");
    expect(r.message).toMatch(/umem_odp0: at rest, dma_list\[1\] .*the page was freed/);
  });

  it("reports an entry of a page the CPU maps elsewhere as stale-access", async () => {
    const r = await runScenario(v, scenario("other-page"));
    expect(r.verdict).toBe("stale-access");
    expect(r.message).toMatch(/umem_odp0: at rest, dma_list\[1\] .*the CPU now maps nothing there/);
  });
});
