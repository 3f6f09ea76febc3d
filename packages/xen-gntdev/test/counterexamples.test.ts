// The counterexamples replay to their verdicts, and their traces show the kernel lines that
// cause them: the callback that finds the map "not in range" before the zap of live grant PTEs
// (both versions), and 5.5's WARN_ON(map->vma != vma) followed by a second notifier remove.

import { parseHarnessToken, replayScenario, runScenario } from "@mnlab/core";
import { formatTrace } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { interval, legacy, scenarios } from "../src/index.ts";

const byName = (n: string) => {
  const s = scenarios.find((x) => x.name === n);
  if (s === undefined) throw new Error(`no scenario ${n}`);
  return s;
};

async function counterexample(v: typeof legacy, name: string) {
  const s = byName(name);
  const r = await runScenario(v, s);
  expect(r.replay, `${v.info.id} ${name}: no counterexample`).not.toBeNull();
  const out = await replayScenario(v, s, parseHarnessToken(r.replay!).sim);
  expect(out.failure?.kind).toBe(r.verdict);
  return { r, text: formatTrace(out.failure?.trace ?? []) };
}

describe("partial munmap of a PV grant mapping: Xen sees an implicit unmap", () => {
  it("5.4: mn_invl_range_start returns 0 for the hole (in_range() on the shrunken map->vma), then zap_pte_range clears the grant PTEs", async () => {
    const { r, text } = await counterexample(legacy, "G-partial-munmap-tail");
    expect(r.verdict).toBe("stale-access");
    expect(r.message).toMatch(/Attempt to implicitly unmap a granted PTE at 0x102000/);
    const callback = text.indexOf("ret invalidate_range_start gntdev priv->mn 0");
    const zap = text.indexOf("zap_pte_range proc [0x102000, 0x104000)");
    expect(callback).toBeGreaterThan(0);
    expect(zap).toBeGreaterThan(callback);
    // No grant unmap hypercall between the callback and the zap.
    expect(text.slice(callback, zap)).not.toMatch(/GNTTABOP_unmap_grant_ref/);
  });

  it("5.5: gntdev_invalidate is called for the hole (the notifier spans the mmap-time range) and returns true without unmapping", async () => {
    const { r, text } = await counterexample(interval, "G-partial-munmap-tail");
    expect(r.verdict).toBe("stale-access");
    const call = text.indexOf("call mni->ops->invalidate gntdev_grant_map#1->notifier [0x102000, 0x104000)");
    const ret = text.indexOf("ret mni->ops->invalidate gntdev_grant_map#1->notifier true", call);
    const zap = text.indexOf("zap_pte_range proc [0x102000, 0x104000)", ret);
    expect(call).toBeGreaterThan(0);
    expect(ret).toBeGreaterThan(call);
    expect(zap).toBeGreaterThan(ret);
    expect(text.slice(call, zap)).not.toMatch(/GNTTABOP_unmap_grant_ref/);
  });

  it("5.5: after a split, the tail's close WARNs and removes the notifier; the original's close removes it again", async () => {
    const { r, text } = await counterexample(interval, "G-madvise-dontneed-then-partial-munmaps");
    expect(r.verdict).toBe("kernel-bug");
    expect(r.message).toMatch(/interval_tree_remove of a node not in the tree/);
    const warns = text.match(/WARN_ON\(map->vma != vma\)/g) ?? [];
    expect(warns.length).toBe(2);
  });

  it("5.4 survives the same sequence: vma_close only clears map->vma", async () => {
    const r = await runScenario(legacy, byName("G-madvise-dontneed-then-partial-munmaps"));
    expect(r.verdict, r.message ?? "").toBe("pass");
  });
});
