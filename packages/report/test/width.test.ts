// The CPU columns fit what GitHub shows of a code block (110 characters) and lose nothing:
// a step too long for its column goes on continuation lines, broken between words, so every
// address and range of the trace is still there, whole.
import type { TraceEvent } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { cpuColumns, fitWidths, raceColumns, raceSlice, sideBySide, wrap } from "../src/index.ts";
import { TRACE, TRACE_NEW, WIDE_TRACE } from "./fixtures.ts";

const HEXY = /0x[0-9a-f]+(?:->0x[0-9a-f]+)?/g;

function tokens(trace: readonly TraceEvent[]): string[] {
  return trace.flatMap((e) => `${e.object ?? ""} ${e.detail ?? ""}`.match(HEXY) ?? []);
}

describe("110 columns", () => {
  it("no line of the wide trace is over 110 characters", () => {
    const text = cpuColumns(WIDE_TRACE);
    for (const line of text.split("\n")) expect([...line].length, line).toBeLessThanOrEqual(110);
    expect(text).not.toContain("…");
  });

  it("every address of the trace appears whole in its column", () => {
    const text = cpuColumns(WIDE_TRACE);
    // a cell's words are joined back (its continuation lines follow it) and every token found
    const words = new Set(text.split(/[\s|]+/));
    for (const t of tokens(WIDE_TRACE))
      expect(
        [...words].some((w) => w.includes(t)),
        t,
      ).toBe(true);
  });

  it("the race slice and the side-by-side view fit too", () => {
    for (const text of [
      raceColumns(raceSlice(WIDE_TRACE)),
      sideBySide({ title: "old", trace: WIDE_TRACE }, { title: "new", trace: TRACE_NEW }),
      sideBySide({ title: "old", trace: TRACE }, { title: "new", trace: TRACE_NEW }),
    ]) {
      for (const line of text.split("\n")) expect([...line].length, line).toBeLessThanOrEqual(110);
      expect(text).not.toContain("…");
    }
  });

  it("wrap breaks between words and marks continuation lines", () => {
    expect(wrap("device_map cli->svm.vmm 0x100000->0x101 0x101000->0x102", 24, "  ")).toEqual([
      "  device_map",
      "      cli->svm.vmm",
      "      0x100000->0x101",
      "      0x101000->0x102",
    ]);
    // a word wider than the column breaks after punctuation, not inside a number
    expect(wrap("[0x100000,0x101000)", 13)).toEqual(["[0x100000,", "    0x101000)"]);
  });

  it("narrow columns keep their width, wide ones share the rest", () => {
    expect(fitWidths([10, 80, 80], 110, 3)).toEqual([10, 47, 47]);
    expect(fitWidths([10, 20], 110, 3)).toEqual([10, 20]);
    // Six wide threads: the 16-character floor gives way so the line still fits in 110.
    const six = fitWidths([40, 40, 40, 40, 40, 40], 110, 3);
    expect(six.reduce((a, b) => a + b, 0) + 3 * 5).toBeLessThanOrEqual(110);
  });
});

describe("references", () => {
  const docs = { "docs/core.md": ["core-1-4"], "docs/toy.md": ["v1", "o1a", "s2-2", "s1-4"] };
  it("link commits to the kernel tree and rows and sections to docs/, only where the anchor exists", async () => {
    const { linkRef } = await import("../src/index.ts");
    expect(linkRef("V1 (O1(a)); abcdef123456 commit message", "toy", docs)).toBe(
      "[V1](../docs/toy.md#v1) ([O1(a)](../docs/toy.md#o1a)); " +
        "[abcdef123456](https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=abcdef123456) commit message",
    );
    expect(linkRef("core.md 1.4; reference 1.4 item 2, row V9", "toy", docs)).toBe(
      "[core.md 1.4](../docs/core.md#core-1-4); [reference 1.4](../docs/toy.md#s1-4) item 2, row V9",
    );
    expect(linkRef("reference gpu-drivers.md 2.2 (corrected)", "toy", docs)).toBe(
      "reference [gpu-drivers.md 2.2](../docs/toy.md#s2-2) (corrected)",
    );
    expect(linkRef("Jason, v1 thread 21 Oct 2019", "toy", docs)).toBe("Jason, v1 thread 21 Oct 2019");
  });
});
