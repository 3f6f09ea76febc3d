// Migration patches end to end, as the README tells a new user to work: new-variant writes a
// patch that runs as is, evaluate judges it against the merged 5.5 variant (an unchanged copy
// of interval: all same; a copy of legacy: regressions whose printed replay commands work when
// pasted; a fix of a known 5.5 finding: that row fixed), mutate scores the suite. The real
// drivers run here (new-variant copies real source trees), on one or two scenarios with small
// budgets; the bad inputs run on the fixture driver where they can.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fixture, mnlab, type Run } from "./support.ts";

const cli = fileURLToPath(new URL("..", import.meta.url));
const repo = fileURLToPath(new URL("../../..", import.meta.url));
// Inside packages/cli, so @mnlab/* resolve from its node_modules; `.scratch/` is git-ignored (and
// so Biome skips it). Not under node_modules itself: tsx loads a copy there as a separate
// instance of the driver's shared modules (its knobs), which is not what a patch gets.
const scratch = join(cli, ".scratch", `test-${process.pid}`);
mkdirSync(scratch, { recursive: true });
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  const parent = dirname(scratch);
  if (existsSync(parent) && readdirSync(parent).length === 0) rmSync(parent, { recursive: true });
});

/** The real registry (nouveau, rdma-odp, ...), not the fixture. */
const real = { MNLAB_DRIVERS: "" };

function oneLineError(r: Run): string {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mnlab: /);
  return lines[0]!;
}

/** new-variant into the scratch directory; the path of the patch module it printed. */
function newVariant(driver: string, id: string, from: string): string {
  const r = mnlab(["new-variant", driver, id, "--from", from, "--out", join(scratch, id)], real);
  expect(r.status, r.stderr).toBe(0);
  const cmd = /npm run mnlab -- evaluate (\S+)/.exec(r.stdout);
  expect(cmd, r.stdout).not.toBeNull();
  return join(process.cwd(), cmd![1]!);
}

describe("mnlab new-variant", () => {
  it("copies the variant's files with imports resolved, the new id and a default export", () => {
    const entry = newVariant("nouveau", "copy-check", "interval");
    expect(entry).toBe(join(scratch, "copy-check", "index.ts"));
    expect(readdirSync(dirname(entry)).sort()).toEqual(["fault.ts", "index.ts", "svmm.ts"]);
    const text = readFileSync(entry, "utf8");
    expect(text).toContain('id: "copy-check"');
    expect(text).not.toContain('id: "interval"');
    expect(text).toMatch(/\nexport default interval;\n$/);
    // Every relative import reaches a file that exists (the copies, or the driver's shared modules).
    for (const f of readdirSync(dirname(entry))) {
      const src = readFileSync(join(dirname(entry), f), "utf8");
      for (const m of src.matchAll(/from "(\.[^"]+)"/g)) {
        expect(existsSync(join(dirname(entry), m[1]!)), `${f}: ${m[1]}`).toBe(true);
      }
    }
    // It runs as is: mnlab test loads it next to the built-ins.
    const t = mnlab(
      [
        "test",
        "--variant",
        entry,
        "--scenario",
        "populate-vs-munmap",
        "--executions",
        "5",
        "--jobs",
        "1",
        "--json",
      ],
      real,
    );
    expect(t.stderr).not.toMatch(/^mnlab: /m);
    expect(JSON.parse(t.stdout).results.map((r: { variant: string }) => r.variant)).toEqual([
      "legacy",
      "interval",
      "copy-check",
    ]);
  });

  it("writes under the driver's package by default (patches/<id>/) and says how to evaluate it", () => {
    const dir = join(repo, "packages", "rdma-odp", "patches", `h15-default-${process.pid}`);
    try {
      const r = mnlab(["new-variant", "rdma-odp", `h15-default-${process.pid}`], real);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(dir, "driver.ts"))).toBe(true);
      expect(r.stdout).toContain(
        `npm run mnlab -- evaluate packages/rdma-odp/patches/h15-default-${process.pid}/driver.ts`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      const parent = dirname(dir);
      if (existsSync(parent) && readdirSync(parent).length === 0) rmSync(parent, { recursive: true });
    }
  });
});

describe("mnlab evaluate", () => {
  it("an unchanged copy of interval: every scenario the same, exit 0, a page for the review", () => {
    const patch = newVariant("nouveau", "unchanged", "interval");
    const page = join(scratch, "unchanged.md");
    const r = mnlab(
      [
        "evaluate",
        patch,
        "--scenario",
        "populate-vs-munmap",
        "--scenario",
        "invalidate-between-lookup-and-program",
        "--executions",
        "150",
        "--jobs",
        "1",
        "--page",
        page,
        "--json",
      ],
      real,
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe("mnlab-evaluate/1");
    expect(doc.regressed).toBe(false);
    expect(doc.scenarios.map((s: { outcome: string }) => s.outcome)).toEqual(["same", "same"]);
    const md = readFileSync(page, "utf8");
    expect(md).toMatch(/^# nouveau\/unchanged: evaluated against `interval`/);
    expect(md).toMatch(/\| populate-vs-munmap +\| pass +\| pass +\| pass +\| same /);
    expect(md).toContain("## Virtual-time metrics");
    expect(md).toMatch(/\| `unchanged` +\| 5\.5 .*\| +\d+ \|/);
  });

  it("a copy of legacy: regressions, exit 1, and each printed replay command works when pasted", () => {
    const patch = newVariant("rdma-odp", "old-way", "legacy");
    const r = mnlab(
      [
        "evaluate",
        patch,
        "--scenario",
        "populate-vs-munmap",
        "--scenario",
        "invalidate-between-lookup-and-program",
        "--executions",
        "100",
        "--jobs",
        "1",
        "--page",
        join(scratch, "old-way.md"),
      ],
      real,
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/\| populate-vs-munmap +\| .*\| pass +\| potential-deadlock +\| regression +\|/);
    expect(r.stdout).toMatch(/^regression: populate-vs-munmap: potential-deadlock \(interval: pass\)/m);
    expect(r.stdout).toContain("2 scenarios: 2 regressions, 0 fixed, 0 same bug, 0 same");
    const commands = [...r.stdout.matchAll(/^ {2}(npm run mnlab -- replay \S+ --variant \S+)$/gm)].map(
      (m) => m[1]!,
    );
    expect(commands).toHaveLength(2);
    const pasted = spawnSync("sh", ["-c", commands[0]!], {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, ...real, INIT_CWD: process.cwd() },
    });
    expect(pasted.stderr).not.toMatch(/^mnlab: /m);
    expect(pasted.stdout).toMatch(/rdma-odp\/old-way populate-vs-munmap: potential-deadlock — /);
    expect(pasted.status).toBe(1); // the replayed verdict is not the expected (interval's) pass
    expect(readFileSync(join(scratch, "old-way.md"), "utf8")).toContain(
      `npm run mnlab -- replay rdma-odp:old-way:populate-vs-munmap:`,
    );
  });

  it("a fix of the 5.5 finding exit-during-populate (nouveau registers no release op): fixed, exit 0", () => {
    const patch = newVariant("nouveau", "release-op", "interval");
    // The fix a reviewer would write: a release op that PFNCLRs everything before exit_mmap frees the pages.
    const svmm = join(dirname(patch), "svmm.ts");
    let text = readFileSync(svmm, "utf8");
    const ops = "  invalidateRangeStart: nouveauSvmmInvalidateRangeStart,\n";
    expect(text.split(ops)).toHaveLength(2);
    text = text.replace(ops, `${ops}  release: nouveauSvmmRelease,\n`);
    text = `import { ULONG_MAX } from "@mnlab/core";\n${text}
// mm/mmu_notifier.c: mn_hlist_release() calls ->release before exit_mmap unmaps: stop the GPU there.
async function nouveauSvmmRelease(mn: MmuNotifier): Promise<void> {
  const svmm = (mn as SvmmNotifier).svmm;
  await svmm.mutex.lock();
  if (svmm.vmm !== null) await nouveauSvmmInvalidate(svmm, 0, ULONG_MAX);
  await svmm.mutex.unlock();
}
`;
    writeFileSync(svmm, text);
    const r = mnlab(
      [
        "evaluate",
        patch,
        "--scenario",
        "exit-during-populate",
        "--scenario",
        "populate-vs-munmap",
        "--executions",
        "150",
        "--jobs",
        "1",
        "--page",
        join(scratch, "release-op.md"),
      ],
      real,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /\| exit-during-populate +\| use-after-free +\| use-after-free +\| pass +\| fixed +\|/,
    );
    expect(r.stdout).toContain("fixed: exit-during-populate: pass (interval: use-after-free)");
    expect(readFileSync(join(scratch, "release-op.md"), "utf8")).toMatch(/Fixed: `exit-during-populate`/);
  });
});

describe("mnlab evaluate --results: the joined shards of a deep run, judged without running", () => {
  it("gives the outcomes a direct evaluation gives; a single shard is refused", () => {
    const patch = fixture("my-patch.ts");
    const direct = mnlab(["evaluate", patch, "--jobs", "1", "--page", join(scratch, "direct.md"), "--json"]);
    expect(direct.status, direct.stderr).toBe(1);
    const want = JSON.parse(direct.stdout).scenarios;
    expect(want.map((s: { outcome: string }) => s.outcome)).toEqual(["same", "regression"]);
    const files = [1, 2].map((i) => {
      const r = mnlab(["test", "--variant", patch, "--shard", `${i}/2`, "--json", "--jobs", "1"]);
      const f = join(scratch, `eval-shard-${i}.json`);
      writeFileSync(f, r.stdout);
      return f;
    });
    const merged = mnlab(["merge", ...files, "--json"]);
    const m = join(scratch, "eval-merged.json");
    writeFileSync(m, merged.stdout);
    const judged = mnlab(["evaluate", patch, "--results", m, "--page", join(scratch, "judged.md"), "--json"]);
    expect(judged.status, judged.stderr).toBe(1);
    expect(JSON.parse(judged.stdout).scenarios).toEqual(want);
    expect(oneLineError(mnlab(["evaluate", patch, "--results", files[0]!]))).toMatch(
      /eval-shard-1\.json: one shard only; join the shards with mnlab merge first/,
    );
  });
});

describe("mnlab mutate (smoke: three operators, three scenarios, small budget)", () => {
  it("kills or keeps each mutant, reports per operator, and leaves no copy behind", () => {
    const src = join(repo, "packages", "nouveau", "src");
    const copies = () => readdirSync(src).filter((f) => f.startsWith(".mutant"));
    const before = copies();
    const out = join(scratch, "mutation.json");
    const r = mnlab(
      [
        "mutate",
        "nouveau:interval",
        "--operator",
        "drop-read-retry",
        "--operator",
        "drop-remove",
        "--operator",
        "shorten-notifier-range",
        "--scenario",
        "invalidate-between-lookup-and-program",
        "--scenario",
        "fork-cow-then-device-write",
        "--scenario",
        "two-registrations-one-invalidation",
        "--cap",
        "150",
        "--json",
        "--out",
        out,
      ],
      real,
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(readFileSync(out, "utf8")).toBe(r.stdout);
    expect(doc.schema).toBe("mnlab-mutation/1");
    const d = doc.drivers[0];
    expect(d).toMatchObject({ driver: "nouveau", variant: "interval" });
    expect(d.mutants).toBe(d.killed + d.survived);
    expect(d.mutants).toBeGreaterThanOrEqual(3);
    expect(d.byOperator.map((b: { operator: string }) => b.operator)).toEqual([
      "drop-read-retry",
      "shorten-notifier-range",
      "drop-remove",
    ]);
    for (const b of d.byOperator) expect(b.generated).toBe(b.killed + b.survived);
    // Programming the GPU without read_retry is the mistake the protocol exists to catch.
    expect(d.byOperator[0]).toMatchObject({ generated: 1, killed: 1 });
    for (const s of d.survivors) {
      expect(s.diff).toMatch(/^--- a\/packages\/nouveau\/src\/interval\/\S+\.ts\n\+\+\+ b\//);
      expect(s.note).not.toBe("");
    }
    expect(copies().filter((f) => !before.includes(f))).toEqual([]);
  });

  it("--jobs runs the targets side by side and gives the same document as one process", () => {
    const args = ["mutate", "radeon:interval", "hfi1:interval", "--operator", "shorten-notifier-range"];
    const small = ["--scenario", "partial-munmap", "--cap", "40"];
    const one = mnlab([...args, ...small, "--jobs", "1", "--json"], real);
    const two = mnlab([...args, ...small, "--jobs", "2", "--json"], real);
    expect(one.status, one.stderr).toBe(0);
    expect(two.status, two.stderr).toBe(0);
    expect(JSON.parse(one.stdout).drivers.map((d: { driver: string }) => d.driver)).toEqual([
      "radeon",
      "hfi1",
    ]);
    expect(two.stdout).toBe(one.stdout);
  });
});

describe("bad input: one line naming the problem, exit 2", () => {
  it("a patch that does not parse: the file, line and column, and the reason", () => {
    const f = join(scratch, "syntax.ts");
    writeFileSync(f, 'export default {\n  info: { id: "x" \n  open() {}\n};\n');
    expect(oneLineError(mnlab(["evaluate", f]))).toMatch(
      /^mnlab: patch .*syntax\.ts does not load: .*syntax\.ts:3:3: Expected "}" but found "open"$/,
    );
  });

  it("a patch that throws while loading: where it threw", () => {
    expect(oneLineError(mnlab(["evaluate", fixture("throws-on-load.ts")]))).toMatch(
      /does not load: .*throws-on-load\.ts:2:\d+: Error: this patch does not build/,
    );
  });

  it("--variant with a patch of a driver the command does not run names the patch's driver", () => {
    const patch = newVariant("nouveau", "wrong-driver", "interval");
    expect(oneLineError(mnlab(["test", "rdma-odp", "--variant", patch], real))).toMatch(
      /wrong-driver\/index\.ts is a nouveau patch \(its info\.driver\), but this command runs rdma-odp/,
    );
    expect(
      oneLineError(mnlab(["replay", "rdma-odp:interval:populate-vs-munmap:v1.0.", "--variant", patch], real)),
    ).toMatch(/is a nouveau patch .* but the token replays rdma-odp\/interval/);
  });

  it("a replay token whose decisions the program no longer makes: diverged at decision N", () => {
    const RACE = "invalidate-between-lookup-and-program";
    const found = JSON.parse(
      mnlab(["test", "--variant", fixture("my-patch.ts"), "--scenario", RACE, "--json", "--jobs", "1"])
        .stdout,
    ).results.find((x: { variant: string }) => x.variant === "my-patch");
    const ok = mnlab(["replay", found.replay, "--variant", fixture("my-patch.ts")]);
    expect(ok.status).toBe(1);
    const n = (found.replay as string).split(".").at(-1)!.split("-").length;
    expect(n).toBeGreaterThan(0);
    // One more decision than the execution makes: it ends before the list does.
    const longer = mnlab(["replay", `${found.replay}-1`, "--variant", fixture("my-patch.ts")]);
    expect(oneLineError(longer)).toMatch(
      /the token diverged at decision \d+ of \d+: reference\/my-patch .* nothing replayed/,
    );
    // The same decisions on another program (interval retries where my-patch does not).
    const other = mnlab(["replay", found.replay.replace(":my-patch:", ":interval:")]);
    if (other.status === 2) expect(oneLineError(other)).toMatch(/diverged at decision \d+/);
  });

  it("merge refuses an unsharded document and the same shard twice", () => {
    const whole = mnlab([
      "test",
      "--json",
      "--executions",
      "5",
      "--jobs",
      "1",
      "--scenario",
      "populate-then-access",
    ]);
    const s1 = mnlab(["test", "--json", "--executions", "5", "--jobs", "1", "--shard", "1/2"]);
    const f = (name: string, text: string) => {
      const p = join(scratch, name);
      writeFileSync(p, text);
      return p;
    };
    const w = f("whole.json", whole.stdout);
    const a = f("s1.json", s1.stdout);
    const b = f("s1-again.json", s1.stdout);
    expect(oneLineError(mnlab(["merge", w]))).toMatch(/whole\.json: not a shard .*test --shard i\/n --json/);
    expect(oneLineError(mnlab(["merge", a, b]))).toMatch(
      /s1-again\.json: shard 1\/2 is given twice \(also .*s1\.json\)/,
    );
  });

  const cases: [string[], RegExp][] = [
    [
      ["new-variant", "reference", "Bad_Id"],
      /variant id "Bad_Id" must be lower-case letters, digits and dashes/,
    ],
    [
      ["new-variant", "reference", "x", "--from", "nope"],
      /--from nope: not a reference variant \(legacy, interval\)/,
    ],
    [["new-variant", "reference", "interval"], /"interval" is already a reference variant/],
    [["new-variant", "nope", "x"], /unknown driver "nope"/],
    [["new-variant", "reference", "x"], /no module under .* exports the variant object itself/],
    [["evaluate", "no/such/patch.ts"], /patch no\/such\/patch\.ts: no such file/],
    [["evaluate", fixture("my-patch.ts"), "--scenario", "nope"], /unknown scenario "nope"/],
    [["evaluate", fixture("my-patch.ts"), "--executions", "0"], /must be a positive integer/],
    [["mutate", "nouveau"], /"nouveau" must look like driver:variant/],
    [["mutate", "reference:nope"], /unknown variant "nope": valid reference variants are legacy or interval/],
    [
      ["mutate", "reference:interval", "--operator", "frob"],
      /unknown operator "frob": valid operators are drop-read-retry/,
    ],
  ];
  for (const [args, want] of cases) {
    it(args.join(" ").replace(/\/.*fixtures\//, ""), () => {
      expect(oneLineError(mnlab(args))).toMatch(want);
    });
  }
});
