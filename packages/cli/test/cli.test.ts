// The `mnlab` command end to end: real processes, exit codes, stdout holding only the
// result, one-line errors, the --json contract checked against the published schema.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixture, mnlab, validate } from "./support.ts";

const schema = JSON.parse(readFileSync(new URL("../schema/results.schema.json", import.meta.url), "utf8"));
const RACE = "invalidate-between-lookup-and-program";
const CALM = "populate-then-access";

function oneLineError(r: { status: number | null; stdout: string; stderr: string }): string {
  expect(r.status).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(lines[0]).toMatch(/^mnlab: /);
  return lines[0]!;
}

describe("mnlab list", () => {
  it("lists drivers, variants and scenarios", () => {
    const r = mnlab(["list"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("reference — ");
    expect(r.stdout).toContain("packages/core/test/reference-driver.ts");
    expect(r.stdout).toContain(RACE);
  });

  it("--json prints one document", () => {
    const r = mnlab(["list", "--json"]);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe("mnlab-list/1");
    expect(doc.drivers[0].variants.map((v: { id: string }) => v.id)).toEqual(["legacy", "interval"]);
    expect(doc.drivers[0].scenarios.map((s: { name: string }) => s.name)).toEqual([CALM, RACE]);
  });
});

describe("mnlab test", () => {
  it("exits 0 when every verdict is as expected, with a table on stdout", () => {
    const r = mnlab(["test", "--scenario", CALM, "--jobs", "1"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| reference \| legacy +\| populate-then-access \| pass +\| pass/);
    expect(r.stdout).toContain("2 runs, every verdict as expected");
  });

  it("--json: only the document on stdout, valid against the schema", () => {
    const r = mnlab(["test", "--json", "--jobs", "1", "--executions", "30"]);
    const doc = JSON.parse(r.stdout);
    expect(validate(schema, doc)).toEqual([]);
    expect(doc.results).toHaveLength(4);
    for (const rec of doc.results) {
      for (const k of ["driver", "variant", "scenario", "verdict", "expected", "strategy", "executions"]) {
        expect(rec).toHaveProperty(k);
      }
      for (const k of ["firstFailureAt", "replay", "metrics"]) expect(rec).toHaveProperty(k);
      expect(rec.exploration.executions).toBe(30);
    }
    expect(r.status).toBe(doc.results.every((x: { asExpected: boolean }) => x.asExpected) ? 0 : 1);
  });

  it("--variant path.ts runs a user-written variant next to the built-ins; a missed read_retry exits 1", () => {
    const r = mnlab([
      "test",
      "--variant",
      fixture("my-patch.ts"),
      "--scenario",
      RACE,
      "--json",
      "--jobs",
      "1",
    ]);
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(validate(schema, doc)).toEqual([]);
    expect(doc.results.map((x: { variant: string }) => x.variant)).toEqual([
      "legacy",
      "interval",
      "my-patch",
    ]);
    const mine = doc.results[2];
    expect(mine.expected).toBe("pass");
    expect(mine.verdict).not.toBe("pass");
    expect(mine.replay).toMatch(new RegExp(`^reference:my-patch:${RACE}:v1`));
  });

  it("accepts a model exported as `variant`", () => {
    const r = mnlab([
      "test",
      "--variant",
      fixture("named-export.ts"),
      "--variant",
      "interval",
      "--scenario",
      CALM,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("named-patch");
    expect(r.stdout).not.toMatch(/\| legacy /);
  });

  it("--shard i/n splits the work; merge joins the pieces into the unsharded document", () => {
    const base = ["test", "--json", "--executions", "20", "--jobs", "1"];
    const whole = mnlab(base);
    const shards = [1, 2, 3].map((i) => mnlab([...base, "--shard", `${i}/3`]));
    const docs = shards.map((s) => JSON.parse(s.stdout));
    expect(docs.map((d) => d.results.length)).toEqual([2, 1, 1]);
    for (const d of docs) expect(validate(schema, d)).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "mnlab-shards-"));
    const files = shards.map((s, i) => {
      const f = join(dir, `shard${i + 1}.json`);
      writeFileSync(f, s.stdout);
      return f;
    });
    const merged = mnlab(["merge", "--json", files[2]!, files[0]!, files[1]!]);
    expect(merged.stdout).toBe(whole.stdout);
    expect(merged.status).toBe(whole.status);
    const missing = mnlab(["merge", files[0]!, files[1]!]);
    expect(oneLineError(missing)).toMatch(/1 of 4 runs missing .*a shard is absent/);
  });

  it("prints every option's default in --help", () => {
    const r = mnlab(["test", "--help"]);
    expect(r.status).toBe(0);
    for (const o of [
      "--variant",
      "--scenario",
      "--strategy",
      "--executions",
      "--seed",
      "--preemptions",
      "--budget",
      "--shard",
      "--jobs",
      "--json",
    ]) {
      const at = r.stdout.indexOf(o);
      expect(at, o).toBeGreaterThan(0);
      const next = r.stdout.indexOf("\n  -", at + 1);
      expect(r.stdout.slice(at, next), o).toMatch(/\(default: /);
    }
  });
});

describe("mnlab bench", () => {
  it("--help explains, and runs nothing", () => {
    const r = mnlab(["bench", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: mnlab bench/);
    expect(r.stderr).not.toContain("bench: ");
  });
});

describe("bad input: one line naming the problem, exit 2", () => {
  const cases: [string[], RegExp][] = [
    [["test", "--executions", "abc"], /--executions.*must be a positive integer/],
    [["test", "--strategy", "dfs"], /must be one of random, pct, exhaustive/],
    [["test", "--shard", "3/2"], /"i\/n" with 1 <= i <= n/],
    [["test", "--budget", "soon"], /duration such as/],
    [["test", "--seed", "1.5"], /must be an integer/],
    [["test", "nouveau"], /unknown driver "nouveau": valid drivers are reference/],
    [["test", "--scenario", "nope"], /unknown scenario "nope": valid scenarios are populate-then-access or/],
    [["test", "--variant", "nope"], /unknown variant "nope": valid variants are legacy or interval/],
    [
      ["test", "--variant", fixture("not-a-model.ts")],
      /is not a DriverModel: open\(k, mm\) is missing; info.kernel/,
    ],
    [
      ["test", "--variant", fixture("throws-on-load.ts")],
      /does not load: .*throws-on-load\.ts:2:\d+: Error: this patch does not build/,
    ],
    [["test", "--variant", fixture("no-such-file.ts")], /no such file/],
    [["test", "--frob"], /unknown option '--frob'/],
    [["frob"], /unknown command 'frob'/],
    [["replay", "garbage"], /replay token must look like driver:variant:scenario:v1/],
    [["replay", `reference:legacy:${CALM}:v1.zzz`], /cannot replay this token/],
    [["replay", `reference:my-patch:${RACE}:v1.0`], /not a reference variant .*needs --variant path.ts/],
    [["merge", "/no/such/file.json"], /no such file/],
  ];
  for (const [args, want] of cases) {
    it(args.join(" ").replace(/\/.*fixtures\//, ""), () => {
      expect(oneLineError(mnlab(args))).toMatch(want);
    });
  }
});

describe("mnlab replay", () => {
  const found = JSON.parse(
    mnlab(["test", "--variant", fixture("my-patch.ts"), "--variant", "legacy", "--scenario", RACE, "--json"])
      .stdout,
  ).results.find((r: { variant: string }) => r.variant === "my-patch");

  it("re-runs the execution and prints the CPU columns; exit 1 as the verdict is not the expected one", () => {
    const r = mnlab(["replay", found.replay, "--variant", fixture("my-patch.ts")]);
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n")[0]).toContain(`reference/my-patch ${RACE}: ${found.verdict}`);
    expect(r.stdout).toMatch(/^CPU 0 \(main\) +\| CPU 1 /m);
    expect(r.stdout).toContain(`*** ${found.verdict}`);
    expect(r.stdout).not.toContain("sequenceDiagram");
  });

  it("--mermaid adds the sequence diagram", () => {
    const r = mnlab(["replay", found.replay, "--variant", fixture("my-patch.ts"), "--mermaid"]);
    expect(r.stdout).toMatch(/^sequenceDiagram\n {2}participant T0 as CPU 0 \(main\)/m);
  });

  it("--json gives the same trace as the test run recorded", () => {
    const r = mnlab(["replay", found.replay, "--variant", fixture("my-patch.ts"), "--json"]);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      schema: "mnlab-replay/1",
      verdict: found.verdict,
      expected: "pass",
      asExpected: false,
    });
    expect(doc.trace).toEqual(found.trace);
  });
});
