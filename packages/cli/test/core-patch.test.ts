// Core patches end to end: a core variant replaces notifier-core functions through
// @mnlab/core's seam for one run, and `evaluate --core` judges it against the merged core over
// every driver's scenarios (here, a few scenarios each, so the tests stay fast; the committed
// page in reports/core-patches/ is the full run). The fix of the finding turns its row fixed
// and leaves the other rows alone; a variant that changes nothing is all same; a broken one
// regresses, with replays that carry --core; bad core variants are one line and exit 2.
import { fileURLToPath } from "node:url";
import {
  coreFunctions,
  coreSymbol,
  coreVariantProblems,
  type DriverModel,
  installCoreVariant,
  installedCoreVariant,
  MERGED_CORE,
  runScenario,
  withCoreVariant,
} from "@mnlab/core";
import { driverPackage as dmirror, dmirrorVariant } from "@mnlab/dmirror";
import { describe, expect, it } from "vitest";
import ranges2015 from "../../core/patches/active-invalidation-ranges-2015.ts";
import fix from "../../core/patches/itree-count-on-hlist-eagain.ts";
import eagain from "../../dmirror/patches/active-ranges-2015/eagain.ts";
import waitValid from "../../dmirror/patches/active-ranges-2015/wait-valid.ts";
import { fixture, mnlab, type Run } from "./support.ts";

const real = { MNLAB_DRIVERS: "" };
const FIX = fileURLToPath(new URL("../../core/patches/itree-count-on-hlist-eagain.ts", import.meta.url));
const RANGES_2015 = fileURLToPath(
  new URL("../../core/patches/active-invalidation-ranges-2015.ts", import.meta.url),
);
const dmirror2015 = (f: string) =>
  fileURLToPath(new URL(`../../dmirror/patches/active-ranges-2015/${f}`, import.meta.url));
const scenarioNamed = (name: string) => dmirror.scenarios.find((x) => x.name === name)!;
const scratchPage = (name: string) => `/tmp/mnlab-core-test-${process.pid}-${name}.md`;

interface CoreDoc {
  schema: string;
  regressed: boolean;
  counts: Record<string, number>;
  runs: {
    driver: string;
    variant: string;
    scenario: string;
    outcome: string;
    verdict: string;
    merged: string;
    mergedVariant?: string;
    replay: string | null;
  }[];
  changed: {
    merged: { variant: string; message: string | null };
    patched: { variant: string; message: string | null };
  }[];
}

function evaluateCore(core: string, args: string[], name: string): { r: Run; doc: CoreDoc } {
  const r = mnlab(
    ["evaluate", "--core", core, "--jobs", "1", "--page", scratchPage(name), "--json", ...args],
    real,
  );
  expect(r.stderr).not.toMatch(/error/i);
  return { r, doc: JSON.parse(r.stdout) as CoreDoc };
}

function oneLineError(r: Run): string {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mnlab: /);
  return lines[0]!;
}

describe("the core seam", () => {
  it("calls the merged bodies until a core variant is installed, and again after it is uninstalled", () => {
    expect(installedCoreVariant()).toBeNull();
    const merged = coreFunctions().__mmu_notifier_invalidate_range_start;
    expect(merged).toBe(MERGED_CORE.__mmu_notifier_invalidate_range_start);
    const uninstall = installCoreVariant(fix);
    expect(installedCoreVariant()).toBe(fix);
    expect(coreFunctions().__mmu_notifier_invalidate_range_start).toBe(
      fix.replaces.__mmu_notifier_invalidate_range_start,
    );
    // The functions the patch does not replace stay the merged ones.
    expect(coreFunctions().mn_itree_inv_end).toBe(MERGED_CORE.mn_itree_inv_end);
    expect(() => installCoreVariant(fix)).toThrow(/installed already/);
    uninstall();
    expect(installedCoreVariant()).toBeNull();
    expect(coreFunctions().__mmu_notifier_invalidate_range_start).toBe(merged);
  });

  it("a core variant's new API (provides) is found by coreSymbol only while it is installed", () => {
    expect(coreVariantProblems(ranges2015)).toEqual([]);
    expect(coreSymbol("mmu_notifier_range_wait_valid")).toBeNull();
    const uninstall = installCoreVariant(ranges2015);
    expect(coreSymbol("mmu_notifier_range_wait_valid")).toBe(
      ranges2015.provides?.mmu_notifier_range_wait_valid,
    );
    expect(coreSymbol("mmu_notifier_range_lock")).toBeNull();
    uninstall();
    expect(coreSymbol("mmu_notifier_range_is_valid")).toBeNull();
    const base = {
      id: "x",
      description: "one line",
      replaces: { mn_itree_inv_end: async (_n: unknown) => {} },
    };
    expect(coreVariantProblems({ ...base, provides: { mn_itree_inv_end: async () => {} } })).toEqual([
      "provides.mn_itree_inv_end is in the seam's table: replace it instead",
    ]);
    expect(coreVariantProblems({ ...base, provides: { mmu_notifier_range_lock: 1 } })).toEqual([
      "provides.mmu_notifier_range_lock is not a function",
    ]);
  });

  it("refuses a name it does not offer and a replacement of another arity", () => {
    expect(coreVariantProblems(fix)).toEqual([]);
    const base = { id: "x", description: "one line" };
    expect(coreVariantProblems({ ...base, replaces: { mn_itree_inv_begin: async () => {} } })).toEqual([
      expect.stringMatching(/^the seam offers no "mn_itree_inv_begin"/),
    ]);
    expect(
      coreVariantProblems({
        ...base,
        replaces: { mn_itree_inv_end: async (_a: unknown, _b: unknown) => {} },
      }),
    ).toEqual(["replaces.mn_itree_inv_end takes 2 arguments, the kernel's mn_itree_inv_end takes 1"]);
    expect(coreVariantProblems({ ...base, replaces: { mn_itree_inv_end: 3 } })).toEqual([
      "replaces.mn_itree_inv_end is not a function",
    ]);
  });
});

describe("mnlab evaluate --core", () => {
  it("the fix of the interval count an hlist -EAGAIN leaves raised: the nouveau interval row fixed, exit 0", () => {
    const { r, doc } = evaluateCore(
      FIX,
      ["--driver", "nouveau", "--driver", "dmirror", "--scenario", "oom-reaper-nonblocking"],
      "fix",
    );
    expect(r.status, r.stderr).toBe(0);
    expect(doc.schema).toBe("mnlab-core-evaluate/1");
    expect(doc.regressed).toBe(false);
    const outcome = Object.fromEntries(
      doc.runs.map((x) => [`${x.driver}/${x.variant}/${x.scenario}`, x.outcome]),
    );
    expect(outcome).toEqual({
      "nouveau/legacy/oom-reaper-nonblocking": "same",
      "nouveau/interval/oom-reaper-nonblocking": "fixed",
      "dmirror/interval/oom-reaper-nonblocking": "same",
    });
  });

  it("a core variant that changes nothing: every row the same", () => {
    const { r, doc } = evaluateCore(
      fixture("core-unchanged.ts"),
      ["--driver", "dmirror", "--scenario", "hmm.anon_read", "--scenario", "partial-munmap"],
      "unchanged",
    );
    expect(r.status, r.stderr).toBe(0);
    expect(doc.runs).toHaveLength(2);
    expect(doc.runs.every((x) => x.outcome === "same")).toBe(true);
  });

  it("a broken core variant: regressions, exit 1, and the printed replay (with --core) reproduces them", () => {
    const r = mnlab(
      [
        "evaluate",
        "--core",
        fixture("core-broken.ts"),
        "--driver",
        "dmirror",
        "--scenario",
        "partial-munmap",
        "--jobs",
        "1",
        "--page",
        scratchPage("broken"),
      ],
      real,
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /regression: dmirror\/interval partial-munmap: use-after-free \(merged core: pass\)/,
    );
    const replay = /npm run mnlab -- replay (\S+) --core (\S+)/.exec(r.stdout);
    expect(replay, r.stdout).not.toBeNull();
    const again = mnlab(["replay", replay![1]!, "--core", replay![2]!], real);
    expect(again.stdout).toMatch(
      /^dmirror\/interval partial-munmap on core no-itree-callbacks: use-after-free/,
    );
    // Without the core variant the token is another execution: it diverges, nothing replayed.
    expect(oneLineError(mnlab(["replay", replay![1]!], real))).toMatch(/diverged/);
  });

  it("test --core runs on the core variant and says so in the JSON document", () => {
    const r = mnlab(
      [
        "test",
        "nouveau",
        "--scenario",
        "oom-reaper-nonblocking",
        "--variant",
        "interval",
        "--core",
        FIX,
        "--jobs",
        "1",
        "--json",
      ],
      real,
    );
    // The expectation records the merged core's finding: on the fixed core the row passes, not as expected.
    expect(r.status, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { core: { id: string }; results: { verdict: string }[] };
    expect(doc.core.id).toBe("itree-count-on-hlist-eagain");
    expect(doc.results.map((x) => x.verdict)).toEqual(["pass"]);
  });
});

describe("the 2015 active-invalidation-ranges proposal (core.md section 4)", () => {
  it("the suggested pattern (wait_valid under the lock) deadlocks with the review's wait-for cycle; -EAGAIN does not", () => {
    const { r, doc } = evaluateCore(
      RANGES_2015,
      [
        "--driver",
        "dmirror",
        "--variant",
        dmirror2015("wait-valid.ts"),
        "--variant",
        dmirror2015("eagain.ts"),
        "--scenario",
        "invalidate-between-lookup-and-program",
        // The cycle is reached at execution 41 of the exhaustive order; a small budget keeps the test short.
        "--executions",
        "60",
      ],
      "ranges-2015",
    );
    expect(r.status, r.stderr).toBe(1);
    const runs = Object.fromEntries(doc.runs.map((x) => [x.variant, x]));
    expect(runs.interval).toMatchObject({ outcome: "same", verdict: "pass" });
    expect(runs["range-wait-valid-2015"]).toMatchObject({
      outcome: "regression",
      verdict: "deadlock",
      merged: "pass",
      mergedVariant: "interval",
    });
    expect(runs["range-valid-eagain-2015"]).toMatchObject({ outcome: "same", verdict: "pass" });
    const deadlock = doc.changed.find((c) => c.patched.variant === "range-wait-valid-2015")!.patched;
    // The cycle: the fault sleeps in wait_valid holding dmirror->mutex, for the migration's listed
    // range; the migration's invalidate_range_start callback waits for that mutex.
    expect(deadlock.message).toMatch(
      /^deadlock: device waits for proc->mmu_notifier_mm->wait_queue held by migrate; migrate waits for dmirror0->mutex held by device$/,
    );
    expect(runs["range-wait-valid-2015"]!.replay).toMatch(/ --variant \S+wait-valid\.ts --core \S+/);
  });

  it("-EAGAIN: no deadlock, but continuous invalidations cost it retries, and overlapping ones starve it (step bound)", async () => {
    const run = (variant: DriverModel, name: string) =>
      withCoreVariant(ranges2015, () => runScenario(variant, scenarioNamed(name)));
    const rates = ["continuous-invalidation-hold10-gap40", "continuous-invalidation-hold10-gap0"];
    const [gaps, backToBack] = [await run(eagain, rates[0]!), await run(eagain, rates[1]!)];
    const overlapping = await run(eagain, "continuous-invalidation-overlapping-hold10");
    for (const r of [gaps, backToBack, overlapping])
      expect(r.violations.map((v) => v.kind)).not.toContain("deadlock");
    expect([gaps.verdict, backToBack.verdict]).toEqual(["pass", "pass"]);
    // Back to back, the invalidations make the fault retry more often than with gaps between them.
    expect(backToBack.metrics.retriesPerPopulate).toBeGreaterThan(gaps.metrics.retriesPerPopulate);
    // Always one in flight: wait_valid never returns, and the run ends at the step bound.
    expect(overlapping.verdict).toBe("livelock");
    expect(overlapping.message).toMatch(/^step bound 800 exceeded/);
    expect(overlapping.replay).not.toBeNull();
    // 5.5's read_begin is starved the same way (core.md 6.6 item 26): interval's expected verdict.
    const merged = await runScenario(
      dmirrorVariant,
      scenarioNamed("continuous-invalidation-overlapping-hold10"),
    );
    expect(merged.verdict).toBe("livelock");
  });

  it("on the merged core the 2015 driver variants fail their open, naming the core variant they need", async () => {
    const r = await runScenario(waitValid, scenarioNamed("partial-munmap"));
    expect(r.verdict).toBe("exception");
    expect(r.message).toMatch(
      /needs mmu_notifier_range_is_valid and mmu_notifier_range_wait_valid, which the merged core does not export .*--core packages\/core\/patches\/active-invalidation-ranges-2015\.ts/,
    );
  });
});

describe("bad core variants: one line, exit 2", () => {
  it.each([
    ["core-unknown-name.ts", /is not a core variant: the seam offers no "mmu_interval_read_begin_fast"/],
    [
      "core-wrong-arity.ts",
      /replaces\.mmu_interval_read_begin takes 2 arguments, the kernel's mmu_interval_read_begin takes 1/,
    ],
    ["throws-on-load.ts", /does not load/],
    ["not-a-model.ts", /is not a core variant: id must be/],
  ])("evaluate --core %s", (name, message) => {
    expect(oneLineError(mnlab(["evaluate", "--core", fixture(name)]))).toMatch(message);
  });

  it("test and replay load the core variant the same way", () => {
    expect(oneLineError(mnlab(["test", "--core", fixture("core-wrong-arity.ts")]))).toMatch(
      /takes 2 arguments/,
    );
    expect(
      oneLineError(
        mnlab(["replay", "reference:interval:x:v1.0.0-1_0", "--core", fixture("core-unknown-name.ts")]),
      ),
    ).toMatch(/the seam offers no/);
  });

  it("no such file; a driver patch and --core together; neither", () => {
    expect(oneLineError(mnlab(["evaluate", "--core", "no/such/core.ts"]))).toMatch(
      /--core no\/such\/core\.ts: no such file/,
    );
    expect(oneLineError(mnlab(["evaluate", fixture("my-patch.ts"), "--core", FIX]))).toMatch(/not both/);
    expect(oneLineError(mnlab(["evaluate"]))).toMatch(/missing the patch module/);
    expect(
      oneLineError(mnlab(["evaluate", fixture("my-patch.ts"), "--variant", fixture("my-patch.ts")])),
    ).toMatch(/--variant is for --core/);
  });
});
