// The liveness oracle of the conformance suite (issue 22): a populate nothing raced must map
// what it asked for. Checked on the textbook 5.5 user, and on two broken ones: a populate that
// gives up (an errno) and one that returns 0 having mapped nothing (a silent partial map).
import { describe, expect, it } from "vitest";
import {
  type BufferHandle,
  CONFORMANCE,
  type DeviceContext,
  type DriverModel,
  EBUSY,
  type Kernel,
  type MmStruct,
  runScenario,
  type Scenario,
} from "../src/index.ts";
import { referenceDriver } from "./reference-driver.ts";

/** The reference driver with its populate replaced. */
function withPopulate(
  id: string,
  populate: (
    inner: DeviceContext,
    buf: BufferHandle,
    start: number,
    end: number,
    write: boolean,
  ) => Promise<number>,
): DriverModel {
  const inner = referenceDriver(id);
  return {
    info: { ...inner.info, id },
    async open(k: Kernel, mm: MmStruct) {
      const ctx = await inner.open(k, mm);
      if (typeof ctx === "number") return ctx;
      return { ...ctx, mmus: ctx.mmus, populate: (b, s, e, w) => populate(ctx, b, s, e, w) };
    },
  };
}

const LIVENESS = CONFORMANCE.find((c) => c.name === "one-page-buffer-neighbour-invalidations");
if (LIVENESS === undefined) throw new Error("no liveness scenario");
const scenario: Scenario = {
  ...LIVENESS,
  expected: {},
  exploration: { strategy: "exhaustive", preemptionBound: 1, executions: 5_000 },
};

describe("populate-failed", () => {
  it("the canonical user maps its page whatever the neighbours do", async () => {
    const r = await runScenario(referenceDriver("interval"), scenario);
    expect(r.verdict, r.message ?? "").toBe("pass");
    expect(r.exhausted).toBe(true);
  });

  it("a populate that gives up with -EBUSY on an untouched range fails it", async () => {
    const r = await runScenario(
      withPopulate("gives-up", async () => EBUSY),
      scenario,
    );
    expect(r.verdict).toBe("populate-failed");
    expect(r.message).toMatch(/returned -EBUSY with no invalidation of that range/);
  });

  it("a populate that returns 0 without mapping fails it (silent partial map)", async () => {
    const r = await runScenario(
      withPopulate("maps-nothing", async () => 0),
      scenario,
    );
    expect(r.verdict).toBe("populate-failed");
    expect(r.message).toMatch(/returned 0 but the device read of 0x\w+ gave a device fault \(not-mapped\)/);
  });
});
