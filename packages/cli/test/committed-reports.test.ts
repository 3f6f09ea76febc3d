// The committed reports/ must say what the code does. Two halves, so no scenario runs twice
// under `npm test`:
//   - the rows: every registered driver's scenario suite (@mnlab/core/testing scenarioSuite
//     with `committed: <driver>`) runs each scenario at its default budget and, with
//     MNLAB_COMMITTED_RESULTS set as `npm test` sets it, compares its record with the
//     committed reports/data/results.json row, field by field;
//   - the pages: here, every file of reports/ re-rendered from those committed rows
//     (mnlab report --check --results) must match byte for byte.
// A change to a model that moves a verdict, a trace or a metric fails the first half, a change
// to a renderer the second, until `npm start` regenerates reports/ and it is committed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { mnlab } from "./support.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const builtIn = { MNLAB_DRIVERS: "" };

describe("committed reports", () => {
  it("re-render byte for byte from the committed results (mnlab report --check --results)", () => {
    const r = mnlab(["report", "--check", "--results", join(root, "reports/data/results.json")], builtIn);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/\d+ files match a fresh run/);
  });

  it("have each registered driver's rows checked by that driver's scenario suite", () => {
    const list = mnlab(["list", "--json"], builtIn);
    expect(list.status, list.stderr).toBe(0);
    const names = (JSON.parse(list.stdout) as { drivers: { name: string }[] }).drivers.map((d) => d.name);
    expect(names.length).toBeGreaterThan(0);
    const suites = new Set<string>();
    for (const pkg of readdirSync(join(root, "packages"))) {
      let files: string[];
      try {
        files = readdirSync(join(root, "packages", pkg, "test"));
      } catch {
        continue;
      }
      for (const f of files.filter((n) => n.endsWith(".test.ts"))) {
        const text = readFileSync(join(root, "packages", pkg, "test", f), "utf8");
        for (const m of text.matchAll(/scenarioSuite\([^;]*\{\s*committed:\s*"([^"]+)"/g)) suites.add(m[1]!);
      }
    }
    expect(names.filter((n) => !suites.has(n))).toEqual([]);
  });

  it("refuse results that are not the registered drivers' rows, in one line", () => {
    const r = mnlab(["report", "--check", "--results", join(root, "packages/cli/package.json")], builtIn);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/not an mnlab-results\/1 document/);
    // The committed rows under another registry (the fixture driver): refused, not half-rendered.
    const other = mnlab(["report", "--check", "--results", join(root, "reports/data/results.json")]);
    expect(other.status).toBe(2);
    expect(other.stderr.trim().split("\n")).toHaveLength(1);
    expect(other.stderr).toMatch(/not the registered drivers' scenarios \(expected reference\//);
  });
});
