// The scheduling benchmark must keep running: spawn it with --smoke (each benchmark once,
// tiny sizes). Nothing about speed is asserted.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..", "..");

describe("bench/sim.mitata.ts (smoke)", () => {
  it("runs every benchmark once and exits 0", () => {
    const r = spawnSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "bench/sim.mitata.ts", "--smoke"],
      { cwd: root, encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ratio runtime\/floor \(random, cond_resched, per step\): [0-9.]+×/);
    const json = r.stdout.trim().split("\n").pop()!;
    const doc = JSON.parse(json);
    expect(doc).toMatchObject({ program: "sim", smoke: true, threads: 3 });
    expect(doc.rows).toHaveLength(4);
  });
});
