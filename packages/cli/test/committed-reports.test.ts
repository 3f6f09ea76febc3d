// The committed reports/ must say what the code does: a fresh run of every driver's
// scenarios at their default budgets gives the same deterministic files byte for byte.
// A change to a model or a renderer that moves a verdict, a trace or a metric fails here
// until `npm start` regenerates reports/ and the result is committed with the change.
import { describe, expect, it } from "vitest";
import { mnlab } from "./support.ts";

describe("committed reports", () => {
  // Every driver's default exploration (about 500,000 executions): two minutes on a quiet
  // 2-core machine, more while vitest's other worker runs beside it.
  it("match a fresh run (mnlab report --check, the built-in drivers)", { timeout: 480_000 }, () => {
    const r = mnlab(["report", "--check"], { MNLAB_DRIVERS: "" }, 470_000);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/\d+ files match a fresh run/);
  });
});
