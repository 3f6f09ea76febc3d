// `mnlab report` on the fixture driver: the whole directory twice, byte for byte (once with
// worker processes, once without — the bytes may not depend on that either), and --check.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { mnlab } from "./support.ts";

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

describe("mnlab report", () => {
  it("gives identical bytes twice, and --check agrees until a file changes", () => {
    const a = mkdtempSync(join(tmpdir(), "mnlab-report-a-"));
    const b = mkdtempSync(join(tmpdir(), "mnlab-report-b-"));
    const ra = mnlab(["report", "--out", a, "--jobs", "2"]);
    const rb = mnlab(["report", "--out", b, "--jobs", "1"]);
    expect([0, 1]).toContain(ra.status);
    expect(rb.status).toBe(ra.status);
    const ta = tree(a);
    expect([...ta.keys()]).toEqual([
      "README.md",
      "data/results.json",
      "findings.md",
      "img/reference-metrics.svg",
      "reference.md",
      "viewer/data.js",
      "viewer/index.html",
    ]);
    expect(tree(b)).toEqual(ta);
    expect(ta.get("README.md")).toContain("| [reference](reference.md) | populate-then-access");
    expect(ta.get("reference.md")).toContain("```mermaid\nsequenceDiagram");
    expect(ta.get("reference.md")).toContain("npm run mnlab -- replay reference:legacy:");
    expect(ta.get("reference.md")).toContain(
      "(viewer/index.html#reference/legacy/invalidate-between-lookup-and-program/use-after-free)",
    );
    expect(ta.get("viewer/data.js")).toContain(
      '"id":"reference/legacy/invalidate-between-lookup-and-program/use-after-free"',
    );

    const check = mnlab(["report", "--out", a, "--check", "--jobs", "1"]);
    expect(check.stdout).toContain(`${ta.size} files match a fresh run`);
    appendFileSync(join(a, "reference.md"), "edited by hand\n");
    const stale = mnlab(["report", "--out", a, "--check", "--jobs", "1"]);
    expect(stale.status).toBe(1);
    expect(stale.stdout).toContain("reference.md: differs from line");
  });
});
