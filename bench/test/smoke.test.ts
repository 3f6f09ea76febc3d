// Every benchmark program runs once with tiny sizes, so none can rot. Nothing about speed
// is asserted: only that each runs, and that the collected file has the expected shape.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

describe("benchmarks (smoke)", () => {
  it("run.ts --smoke runs every program and writes bench.json", () => {
    const out = join(mkdtempSync(join(tmpdir(), "mnlab-bench-")), "bench.json");
    const r = spawnSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "bench/run.ts", "--smoke", "--out", out],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(out, "utf8"));
    expect(doc.smoke).toBe(true);
    expect(doc.node).toBe(process.version);
    expect(doc.invalidate.interval.rows.length).toBeGreaterThan(0);
    expect(doc.invalidate.hmm54.rows.length).toBeGreaterThan(0);
    expect(doc.invalidateRatios.length).toBeGreaterThan(0);
    expect(doc.populate.interval.p50).toBeGreaterThan(0);
    expect(doc.traffic.rows.length).toBeGreaterThan(0);
    expect(doc.sim).toBeDefined();
    expect(doc.peer.rows.some((r: { side: string }) => r.side === "fast-check")).toBe(true);
    expect(doc.explorer.legacy.executions).toBeGreaterThan(0);
    expect(doc.explorer.interval.executions).toBeGreaterThan(0);
  });

  it("a bad option is a one-line error and exit 2", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "bench/invalidate.mitata.ts", "--impl", "nope"],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--impl must be one of/);
  });
});
