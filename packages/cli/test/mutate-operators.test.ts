// The mutation operators on a small driver written in the models' vocabulary: each operator
// finds what it should, makes exactly its edit (formatting kept), and nothing else. Also the
// evaluate outcome rule and the replay divergence rule, which are pure.
import { describe, expect, it } from "vitest";
import { outcomeOf } from "../src/commands/evaluate.ts";
import { divergence } from "../src/commands/replay.ts";
import { definesScenarios, type Mutant, mutantsOf, OPERATORS, unifiedDiff } from "../src/mutate/operators.ts";

const SRC = `import { mmput, mmuIntervalNotifierInsert, mmuIntervalNotifierRemove } from "@mnlab/core";

async function invalidate(mni, range, curSeq) {
  if (rangeBlockable(range)) await drv.mutex.lock();
  else if (!(await drv.mutex.trylock())) return false;
  await mmuIntervalSetSeq(mni, curSeq);
  await drv.dev.unmap(range.start, range.end);
  await drv.mutex.unlock();
  return true;
}

async function populate(drv, range, mm) {
  for (;;) {
    range.notifierSeq = await mmuIntervalReadBegin(range.notifier);
    await mm.mmapSem.downRead();
    const ret = await hmmRangeFault(range);
    await mm.mmapSem.upRead();
    await drv.mutex.lock();
    if (mmuIntervalReadRetry(range.notifier, range.notifierSeq)) {
      await drv.mutex.unlock();
      continue;
    }
    break;
  }
  await drv.dev.map(range.pfns);
  await drv.mutex.unlock();
  await mmput(mm);
}

async function register(drv, mm, start, len) {
  await mmuIntervalNotifierInsert(drv.sub, mm, start, len, ops);
}

async function unregister(drv) {
  await mmuIntervalNotifierRemove(drv.sub);
  await mmuNotifierPut(drv.notifier);
}

async function invalidateGfx(bo) {
  const left = await dmaResvWaitTimeoutRcu(bo);
  await dmaFenceWait(bo.fence);
  return left > 0;
}
`;

const all = mutantsOf("/repo/pkg/src/interval/drv.ts", SRC, "/repo");
const of = (op: string): Mutant[] => all.filter((m) => m.operator === op);
const diff = (m: Mutant) => unifiedDiff("drv.ts", SRC, m.text);
const changed = (m: Mutant) =>
  diff(m)
    .split("\n")
    .filter((l) => /^[-+][^-+]/.test(l) || l === "-" || l === "+");

describe("mutation operators", () => {
  it("every operator applies to this driver", () => {
    expect(new Set(all.map((m) => m.operator))).toEqual(new Set(OPERATORS));
  });

  it("ids are operator@file:line:column and unique", () => {
    expect(of("drop-set-seq")[0]!.id).toBe("drop-set-seq@pkg/src/interval/drv.ts:6:3");
    expect(new Set(all.map((m) => m.id)).size).toBe(all.length);
  });

  it("drop-read-retry and invert-read-retry replace the check, nothing else", () => {
    expect(changed(of("drop-read-retry")[0]!)).toEqual([
      "-    if (mmuIntervalReadRetry(range.notifier, range.notifierSeq)) {",
      "+    if (false) {",
    ]);
    expect(changed(of("invert-read-retry")[0]!)).toEqual([
      "-    if (mmuIntervalReadRetry(range.notifier, range.notifierSeq)) {",
      "+    if (!(mmuIntervalReadRetry(range.notifier, range.notifierSeq))) {",
    ]);
  });

  it("drop-set-seq removes the line; set-seq-outside-lock moves it past the unlock", () => {
    expect(changed(of("drop-set-seq")[0]!)).toEqual(["-  await mmuIntervalSetSeq(mni, curSeq);"]);
    const moved = of("set-seq-outside-lock")[0]!.text;
    expect(moved).toContain(
      "  await drv.mutex.unlock();\n  await mmuIntervalSetSeq(mni, curSeq);\n  return true;",
    );
  });

  it("drop-lock-pair removes the lock around the check and both of its unlocks", () => {
    const m = of("drop-lock-pair");
    expect(m).toHaveLength(1);
    expect(m[0]!.description).toMatch(/and its 2 unlocks in populate\(\)/);
    expect(m[0]!.text.match(/drv\.mutex\.(un)?lock\(\)/g)).toHaveLength(2); // invalidate()'s pair stays
  });

  it("read-begin-after-fault moves read_begin after hmm_range_fault", () => {
    const t = of("read-begin-after-fault")[0]!.text;
    expect(t.indexOf("hmmRangeFault(range)")).toBeLessThan(t.indexOf("mmuIntervalReadBegin"));
  });

  it("shorten-notifier-range and shorten-clear-range take a page off the end", () => {
    expect(of("shorten-notifier-range")[0]!.text).toContain(
      "mmuIntervalNotifierInsert(drv.sub, mm, start, (len) - 0x1000, ops)",
    );
    expect(of("shorten-clear-range")[0]!.text).toContain("drv.dev.unmap(range.start, (range.end) - 0x1000)");
  });

  it("drop-remove, drop-mmput, drop-put remove exactly their statement", () => {
    expect(changed(of("drop-remove")[0]!)).toEqual(["-  await mmuIntervalNotifierRemove(drv.sub);"]);
    expect(changed(of("drop-mmput")[0]!)).toEqual(["-  await mmput(mm);"]);
    expect(changed(of("drop-put")[0]!)).toEqual(["-  await mmuNotifierPut(drv.notifier);"]);
  });

  it("swap-ordered swaps adjacent kernel steps, never a statement with the one that uses its result", () => {
    const swaps = of("swap-ordered").map((m) => m.description);
    expect(swaps).toContain(
      "swap `await mm.mmapSem.downRead();` and `const ret = await hmmRangeFault(range);`",
    );
    expect(swaps).toContain("swap `await drv.dev.map(range.pfns);` and `await drv.mutex.unlock();`");
    expect(swaps.some((s) => s.includes("`const ret") && s.startsWith("swap `const ret"))).toBe(true);
  });

  it("ignore-blockable, drop-fence-wait and drop-clear make exactly their edit", () => {
    expect(changed(of("ignore-blockable")[0]!)).toEqual([
      "-  if (rangeBlockable(range)) await drv.mutex.lock();",
      "+  if (true) await drv.mutex.lock();",
    ]);
    expect(of("drop-fence-wait").map(changed)).toEqual([
      ["-  const left = await dmaResvWaitTimeoutRcu(bo);", "+  const left = 1;"],
      ["-  await dmaFenceWait(bo.fence);"],
    ]);
    expect(of("drop-clear").map(changed)).toEqual([["-  await drv.dev.unmap(range.start, range.end);"]]);
  });

  it("the diff is a unified diff of the edit with context", () => {
    expect(diff(of("drop-mmput")[0]!)).toBe(
      [
        "--- a/drv.ts",
        "+++ b/drv.ts",
        "@@ -25,5 +25,4 @@",
        "   await drv.dev.map(range.pfns);",
        "   await drv.mutex.unlock();",
        "-  await mmput(mm);",
        " }",
        " ",
      ].join("\n"),
    );
  });
});

describe("evaluate: the outcome of a scenario against the merged variant", () => {
  it("regression, same, fixed, same bug", () => {
    expect(outcomeOf("stale-access", "pass")).toBe("regression");
    expect(outcomeOf("deadlock", "use-after-free")).toBe("regression");
    expect(outcomeOf("pass", "pass")).toBe("same");
    expect(outcomeOf("pass", "use-after-free")).toBe("fixed");
    expect(outcomeOf("use-after-free", "use-after-free")).toBe("same bug");
  });
});

describe("replay: where a replay left the recorded decisions", () => {
  it("null when it followed them all; else the 1-based decision", () => {
    expect(divergence([0, 1, 1], [0, 1, 1])).toBeNull();
    expect(divergence([], [])).toBeNull();
    expect(divergence([0, 1, 1], [0, 2, 1])).toBe(2);
    expect(divergence([0, 1, 1, 0], [0, 1, 1])).toBe(4);
    expect(divergence([0], [0, 1])).toBe(2);
  });
});

describe("definesScenarios", () => {
  it("tells a scenario module (the test side) from a model module", () => {
    expect(definesScenarios("s.ts", "export const V1: Scenario = { name: 'x' };")).toBe(true);
    expect(definesScenarios("s.ts", "export const all: Scenario[] = [];")).toBe(true);
    expect(definesScenarios("s.ts", "export const all: readonly Scenario[] = [];")).toBe(true);
    expect(definesScenarios("m.ts", SRC)).toBe(false);
    // Not exported, or not a Scenario: a model may well hold a local list of something else.
    expect(definesScenarios("m.ts", "const local: Scenario[] = [];")).toBe(false);
    expect(definesScenarios("m.ts", "export const ranges: ScenarioRange[] = [];")).toBe(false);
  });
});

describe("shorten-clear-range takes a page off a range's end only", () => {
  it("not off a flag, a seq, a callback or ULONG_MAX (a clear of everything)", () => {
    const text = `async function f(k, map, range, curSeq, usePtemod, fd) {
  await unmapGrantPages(k, map, 0, map.count, usePtemod);
  await gntdevInvalidate(k, map, range, curSeq);
  await hfi1UserExpRcvClear(fd, (node) => removeNode(fd, node));
  await vmm.unmap(0, ULONG_MAX);
  await vmm.unmap(start, start + len);
  await ibUmemOdpUnmapDmaPages(umem, from, to);
}
`;
    const shortened = mutantsOf("/repo/pkg/src/interval/x.ts", text, "/repo")
      .filter((m) => m.operator === "shorten-clear-range")
      .map((m) => m.description);
    expect(shortened).toEqual([
      "unmap(): end `start + len` -> `(start + len) - 0x1000`",
      "ibUmemOdpUnmapDmaPages(): end `to` -> `(to) - 0x1000`",
    ]);
  });
});
