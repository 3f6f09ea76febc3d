// __split_vma keeps the original vm_area_struct for one part (a driver may hold a pointer to
// it), ->open runs on the new part, and remove_vma calls ->close after the zap.
import { describe, expect, it } from "vitest";
import { fork, mmap, mprotect, munmap, type Vma } from "../src/index.ts";
import { BASE, P, runOne, setupKernel } from "./support.ts";

describe("VMA identity across splits (mm/mmap.c __split_vma @5.5)", () => {
  async function withDeviceVma(
    body: (
      ctx: { original: () => Vma; log: string[] },
      mm: import("../src/index.ts").MmStruct,
    ) => Promise<void>,
  ) {
    const out = await runOne(async (ex) => {
      const { mm } = setupKernel(ex, 4);
      const log: string[] = [];
      let original: Vma | null = null;
      const file = {
        name: "dev",
        async mmap(vma: Vma) {
          original = vma;
          vma.vmOps = {
            open: (v) => void log.push(`open [${v.start - BASE}, ${v.end - BASE})`),
            close: async (v) => {
              log.push(`close [${v.start - BASE}, ${v.end - BASE})${v === original ? " original" : ""}`);
            },
          };
          return 0;
        },
      };
      expect(await mmap(mm, BASE, 4 * P, { read: true, write: true, shared: true, file })).toBe(0);
      await body({ original: () => original!, log }, mm);
    });
    expect(out.failure).toBeNull();
  }

  it("munmap of the tail: the original keeps the head, the new tail is closed", () =>
    withDeviceVma(async ({ original, log }, mm) => {
      await munmap(mm, BASE + 2 * P, 2 * P);
      expect([original().start, original().end]).toEqual([BASE, BASE + 2 * P]);
      expect(mm.vmas).toContain(original());
      expect(log).toEqual([`open [${2 * P}, ${4 * P})`, `close [${2 * P}, ${4 * P})`]);
    }));

  it("munmap of the head: the original keeps the tail, with vm_pgoff advanced", () =>
    withDeviceVma(async ({ original, log }, mm) => {
      await munmap(mm, BASE, P);
      expect([original().start, original().end, original().vmPgoff]).toEqual([BASE + P, BASE + 4 * P, 1]);
      expect(log).toEqual([`open [0, ${P})`, `close [0, ${P})`]);
    }));

  it("munmap of the middle: the original keeps the head; closing the whole original says so", () =>
    withDeviceVma(async ({ original, log }, mm) => {
      await munmap(mm, BASE + P, P);
      expect([original().start, original().end]).toEqual([BASE, BASE + P]);
      await munmap(mm, BASE, P);
      expect(log.at(-1)).toBe(`close [0, ${P}) original`);
      expect(mm.vmas.map((v) => [v.start - BASE, v.end - BASE])).toEqual([[2 * P, 4 * P]]);
    }));

  it("mprotect of the tail: the original keeps the part whose protection changed", () =>
    withDeviceVma(async ({ original }, mm) => {
      await mprotect(mm, BASE + 2 * P, 2 * P, { read: true, write: false });
      expect([original().start, original().end, original().flags.write]).toEqual([
        BASE + 2 * P,
        BASE + 4 * P,
        false,
      ]);
      expect(mm.vmas.find((v) => v.start === BASE)?.flags.write).toBe(true);
    }));

  it("MAP_FIXED over the mapping closes it; fork skips VM_DONTCOPY and opens the copies", () =>
    withDeviceVma(async ({ original, log }, mm) => {
      original().flags.dontcopy = false;
      const child = await fork(mm);
      expect(child.vmas.filter((v) => v.vmOps !== null)).toHaveLength(1);
      expect(log).toEqual([`open [0, ${4 * P})`]);
      original().flags.dontcopy = true;
      const child2 = await fork(mm);
      expect(child2.vmas.filter((v) => v.vmOps !== null)).toHaveLength(0);
      await mmap(mm, BASE, 4 * P, { read: true, write: true });
      expect(log.at(-1)).toBe(`close [0, ${4 * P}) original`);
      expect(mm.vmas.every((v) => v.isAnonymous)).toBe(true);
    }));
});
