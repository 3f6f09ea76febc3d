// Core patches end to end: a core variant replaces notifier-core functions through
// @mnlab/core's seam for one run, and `evaluate --core` judges it against the merged core over
// every driver's scenarios (here, a few scenarios each, so the tests stay fast; the committed
// page in reports/core-patches/ is the full run). The fix of the finding turns its row fixed
// and leaves the other rows alone; a variant that changes nothing is all same; a broken one
// regresses, with replays that carry --core; bad core variants are one line and exit 2.
import { fileURLToPath } from "node:url";
import {
  coreFunctions,
  coreVariantProblems,
  installCoreVariant,
  installedCoreVariant,
  MERGED_CORE,
} from "@mnlab/core";
import { describe, expect, it } from "vitest";
import fix from "../../core/patches/itree-count-on-hlist-eagain.ts";
import { fixture, mnlab, type Run } from "./support.ts";

const real = { MNLAB_DRIVERS: "" };
const FIX = fileURLToPath(new URL("../../core/patches/itree-count-on-hlist-eagain.ts", import.meta.url));
const scratchPage = (name: string) => `/tmp/mnlab-core-test-${process.pid}-${name}.md`;

interface CoreDoc {
  schema: string;
  regressed: boolean;
  counts: Record<string, number>;
  runs: { driver: string; variant: string; scenario: string; outcome: string; replay: string | null }[];
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
  });
});
