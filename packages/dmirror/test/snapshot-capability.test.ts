// The hmm.snapshot-* selftests issue HMM_DMIRROR_SNAPSHOT on a second file of the device, which
// a dmirror-style variant without that ioctl (the 2015-API mirrors in patches/) cannot give:
// the row then names the missing capability in one line, instead of a TypeError.
import { type DeviceContext, type DriverModel, runScenario } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { dmirrorVariant, driverPackage } from "../src/index.ts";

/** dmirror with its device context stripped of openFile, as a mirror without SNAPSHOT has it. */
const noSnapshot: DriverModel = {
  ...dmirrorVariant,
  info: { ...dmirrorVariant.info, id: "no-snapshot" },
  async open(k, mm) {
    const ctx = await dmirrorVariant.open(k, mm);
    if (typeof ctx === "number") return ctx;
    const { openFile: _none, ...generic } = ctx as DeviceContext & { openFile?: unknown };
    return generic;
  },
};

describe("hmm.snapshot selftests on a variant without the SNAPSHOT ioctl", () => {
  for (const name of ["hmm.snapshot-vs-munmap", "hmm.snapshot-vs-migrate"]) {
    it(`${name}: one line naming the missing ioctl; dmirror itself passes`, async () => {
      const s = driverPackage.scenarios.find((x) => x.name === name)!;
      const budget = { executions: 5 };
      const r = await runScenario(noSnapshot, s, budget);
      expect(r.verdict).toBe("exception");
      expect(r.message).toMatch(/offers no HMM_DMIRROR_SNAPSHOT ioctl \(its context has no openFile\)/);
      expect(r.message).not.toMatch(/is not a function/);
      expect((await runScenario(dmirrorVariant, s, budget)).verdict).toBe("pass");
    });
  }
});
