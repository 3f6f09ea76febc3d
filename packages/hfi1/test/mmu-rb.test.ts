// mmu_rb.c @5.4 on its own: the overlap refusal, the walk under the handler lock, the
// del_list/del_work path an invalidate returning non-zero takes (SDMA's use; TIDs never do),
// the teardown order, and the handler's lifetime.
import { BASE, EINVAL, munmap, PAGE_SIZE, setupProcess } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import {
  hfi1MmuRbInsert,
  hfi1MmuRbRegister,
  hfi1MmuRbRemove,
  hfi1MmuRbUnregister,
  MmuRbNode,
} from "../src/legacy/mmu-rb.ts";
import { sequential } from "./support.ts";

const P = PAGE_SIZE;

describe("mmu_rb handler (5.4)", () => {
  it("refuses an overlapping node, walks hits under its lock, and moves nodes whose invalidate says so to del_list for del_work", async () => {
    const log: string[] = [];
    const out = await sequential(async (k) => {
      const mm = setupProcess(k, 4);
      const h = await hfi1MmuRbRegister(k, "h", null, mm, {
        insert: (_a, n: MmuRbNode) => {
          log.push(`insert ${n.addr - BASE}`);
          return 0;
        },
        remove: async (_a, n: MmuRbNode) => void log.push(`remove ${n.addr - BASE}`),
        invalidate: async (_a, n: MmuRbNode) => {
          expect(h0.lock.isLocked).toBe(true);
          log.push(`invalidate ${n.addr - BASE}`);
          return n.addr === BASE ? 1 : 0; // the first asks to be removed
        },
      });
      if (typeof h === "number") throw new Error(`register: ${h}`);
      const h0 = h;
      const a = new MmuRbNode(BASE, P);
      const b = new MmuRbNode(BASE + P, P);
      expect(await hfi1MmuRbInsert(h, a)).toBe(0);
      expect(await hfi1MmuRbInsert(h, b)).toBe(0);
      expect(await hfi1MmuRbInsert(h, new MmuRbNode(BASE + P + 8, 16))).toBe(EINVAL);
      expect(h.lruList).toEqual([b, a]);
      await munmap(mm, BASE, 2 * P);
      await k.ex.sleep(1); // let the port workqueue run del_work
      expect(h.root.size).toBe(1);
      expect(h.delList).toHaveLength(0);
      await hfi1MmuRbRemove(h, b);
      await hfi1MmuRbUnregister(h);
      expect(h.lifetime.isFreed).toBe(true);
    });
    expect(out.failure, out.failure?.message).toBeNull();
    expect(log).toEqual([
      "insert 0",
      `insert ${P}`,
      "invalidate 0",
      `invalidate ${P}`,
      "remove 0",
      `remove ${P}`,
    ]);
  });

  it("hfi1_mmu_rb_unregister removes every node still in the tree after mmu_notifier_unregister", async () => {
    const removed: number[] = [];
    const out = await sequential(async (k) => {
      const mm = setupProcess(k, 4);
      const h = await hfi1MmuRbRegister(k, "h", null, mm, {
        insert: () => 0,
        remove: async (_a, n: MmuRbNode) => void removed.push(n.addr - BASE),
        invalidate: async () => 0,
      });
      if (typeof h === "number") throw new Error(`register: ${h}`);
      await hfi1MmuRbInsert(h, new MmuRbNode(BASE, P));
      await hfi1MmuRbInsert(h, new MmuRbNode(BASE + 2 * P, P));
      await hfi1MmuRbUnregister(h);
      expect(mm.notifierMm!.list).toHaveLength(0);
    });
    expect(out.failure, out.failure?.message).toBeNull();
    expect(removed.sort()).toEqual([0, 2 * P]);
  });

  it("a use of the handler after hfi1_mmu_rb_unregister is a use-after-free", async () => {
    const out = await sequential(async (k) => {
      const mm = setupProcess(k, 2);
      const h = await hfi1MmuRbRegister(k, "h", null, mm, {
        insert: () => 0,
        remove: async () => {},
        invalidate: async () => 0,
      });
      if (typeof h === "number") throw new Error(`register: ${h}`);
      await hfi1MmuRbUnregister(h);
      await hfi1MmuRbInsert(h, new MmuRbNode(BASE, P));
    });
    expect(out.failure?.kind).toBe("use-after-free");
    expect(out.failure?.message).toMatch(
      /hfi1_mmu_rb_insert: struct mmu_rb_handler h freed by hfi1_mmu_rb_unregister/,
    );
  });
});
