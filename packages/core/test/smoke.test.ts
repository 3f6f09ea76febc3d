import { ExhaustiveStrategy, explore, type Program } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { installCoreInvariants, installDeviceOracles, Kernel, munmap, PAGE_SIZE } from "../src/index.ts";
import { IdealUser } from "./ideal-user.ts";

const BASE = 0x10000;

const populateVsMunmap: Program = async (ex) => {
  const k = new Kernel(ex);
  installCoreInvariants(k);
  installDeviceOracles(k);
  const mm = k.createMm();
  mm.addVma(BASE, BASE + 4 * PAGE_SIZE, { read: true, write: true, shared: false });
  const u = new IdealUser(k, mm, BASE, BASE + 4 * PAGE_SIZE);
  expect(await u.insert()).toBe(0);
  const a = ex.spawn("populate", async () => {
    await u.populate();
    await u.dev.access(BASE, false);
  });
  const b = ex.spawn("munmap", async () => {
    await munmap(mm, BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE);
  });
  await a.join();
  await b.join();
  await u.remove();
};

describe("core smoke", () => {
  it("an ideal interval user survives populate vs munmap (exhaustive, bound 2)", async () => {
    const r = await explore(populateVsMunmap, { strategy: new ExhaustiveStrategy(2), executions: 200_000 });
    if (r.failure) console.log(r.failure.message);
    expect(r.failure).toBeNull();
    expect(r.exhausted).toBe(true);
    console.log(`explored ${r.executions} executions, steps ${JSON.stringify(r.steps)}`);
  });
});
