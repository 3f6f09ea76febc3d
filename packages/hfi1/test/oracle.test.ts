// The RcvArray oracle: an entry may reference a page the CPU no longer maps only while its TID
// is revoked (queued for PSM, or given up by PSM/the file's release); a freed page and a
// writable entry over a write-protected page are never exempt.
import { BASE, type Kernel, mprotect, munmap, PAGE_SIZE, setupProcess } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { RcvArray } from "../src/rcvarray.ts";
import { sequential } from "./support.ts";

const P = PAGE_SIZE;

function judge(body: (k: Kernel, rcv: RcvArray, revoked: { v: boolean }) => Promise<void>) {
  return sequential(async (k) => body(k, new RcvArray(k, 0, 8), { v: false }));
}

describe("RcvArrayEntry.classify", () => {
  it("an unrevoked entry over an unmapped page is stale-access; revoked it is allowed", async () => {
    const out = await judge(async (k, rcv, revoked) => {
      const mm = setupProcess(k, 2);
      const page = mm.pt.get(BASE)!.page;
      k.pages.pinPage(page);
      await rcv.putTidExpected(0, mm, BASE, [page], { name: "TID 0", revoked: () => revoked.v });
      await munmap(mm, BASE, P);
      const e = rcv.mmus[0]!.entry(BASE)!;
      expect(rcv.mmus[0]!.classify(e, true)?.kind).toBe("stale-access");
      revoked.v = true;
      expect(rcv.mmus[0]!.classify(e, true)).toBeNull();
      expect((await rcv.receive(0, mm, BASE, true)).ok).toBe(true);
    });
    expect(out.failure, out.failure?.message).toBeNull();
  });

  it("write-after-protect is not exempt, revoked or not", async () => {
    const out = await judge(async (k, rcv) => {
      const mm = setupProcess(k, 2);
      const page = mm.pt.get(BASE)!.page;
      await rcv.putTidExpected(0, mm, BASE, [page], { name: "TID 0", revoked: () => true });
      const e = rcv.mmus[0]!.entry(BASE)!;
      mm.pt.wrprotect(BASE);
      expect(rcv.mmus[0]!.classify(e, true)?.kind).toBe("write-after-protect");
    });
    expect(out.failure, out.failure?.message).toBeNull();
  });

  it("a freed page is a use-after-free even when revoked", async () => {
    const out = await judge(async (k, rcv) => {
      const mm = setupProcess(k, 2);
      const page = mm.pt.get(BASE)!.page;
      await rcv.putTidExpected(0, mm, BASE, [page], { name: "TID 0", revoked: () => true });
      const e = rcv.mmus[0]!.entry(BASE)!;
      page.freed = true;
      expect(rcv.mmus[0]!.classify(e, false)?.kind).toBe("use-after-free");
    });
    expect(out.failure, out.failure?.message).toBeNull();
  });

  it("the at-rest check flags an unrevoked stale entry (core's installDeviceOracles calls the override)", async () => {
    const { installDeviceOracles } = await import("@mnlab/core");
    const out = await judge(async (k, rcv) => {
      installDeviceOracles(k);
      const mm = setupProcess(k, 2);
      const page = mm.pt.get(BASE)!.page;
      k.pages.pinPage(page);
      await rcv.putTidExpected(0, mm, BASE, [page], { name: "TID 0", revoked: () => false });
      await mprotect(mm, P, P, { read: true, write: true }); // a step elsewhere
      await munmap(mm, BASE, P);
    });
    expect(out.failure?.kind).toBe("stale-access");
    expect(out.failure?.message).toMatch(/TID 0 is not in invalid_tids/);
  });
});
