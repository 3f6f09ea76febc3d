// Labels come from the models — object names such as `svmm->mutex`, ranges such as
// `[0x1000, 0x2000)`, free text — and Mermaid's parser gives several characters a meaning.
// Every label must reach the diagram as text, whatever it holds.
import type { TraceEvent } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { mermaidLabel, sequenceDiagram } from "../src/index.ts";

const HOSTILE = 'a->b; c:d #1 50% %% <br> "q" `t` {x} |y| \\z\nnext line';

/** Outside entity codes (#name; or #123;), nothing Mermaid reads as syntax may remain. */
function unsafeChars(s: string): string[] {
  return [...s.replace(/#(?:\d+|[a-z]+);/g, "")].filter((c) => '#;:%<>"`{}|\\\n\r'.includes(c));
}

describe("Mermaid labels", () => {
  it("encode every character Mermaid would parse", () => {
    const l = mermaidLabel(HOSTILE, 200);
    expect(unsafeChars(l)).toEqual([]);
    expect(l).toContain("a-#gt;b#59; c#58;d #35;1 50#37;");
    expect(l).not.toContain("\n");
  });

  it("keep ordinary names readable and cut long ones", () => {
    expect(mermaidLabel("mmu_interval_read_begin")).toBe("mmu_interval_read_begin");
    expect(mermaidLabel("x".repeat(100), 10)).toBe(`${"x".repeat(9)}…`);
    expect(mermaidLabel("")).toBe("#32;");
  });

  it("sanitise every label of a diagram built from hostile names", () => {
    const e = (thread: number, kind: TraceEvent["kind"], op: string, object?: string, detail?: string) => {
      const ev: TraceEvent = { step: 0, tick: 0, thread, threadName: `cpu;${thread}:x`, kind, op };
      if (object !== undefined) ev.object = object;
      if (detail !== undefined) ev.detail = detail;
      return ev;
    };
    const trace = [
      e(0, "op", "mutex_lock", "svmm->mutex; %%x"),
      e(1, "op", "mutex_lock", "svmm->mutex; %%x"),
      e(1, "block", "block", "svmm->mutex; %%x"),
      e(0, "call", "f<T>", "obj#1", HOSTILE),
      e(0, "op", "mutex_unlock", "svmm->mutex; %%x"),
      e(1, "fail", "stale-access", undefined, HOSTILE),
    ];
    const d = sequenceDiagram(trace);
    const lines = d.split("\n");
    expect(lines[0]).toBe("sequenceDiagram");
    for (const line of lines.slice(1)) {
      // the statement's own syntax, then the label: `participant X as LABEL`, `A->>B: LABEL`, `Note over A: LABEL`
      const m = /^ {2}(?:participant [TO]\d+ as |T\d+(?:->>|--x)O\d+: |Note over T\d+(?:,T\d+)?: )(.*)$/.exec(
        line,
      );
      expect(m, line).not.toBeNull();
      // a long label is broken onto lines with <br/>, Mermaid's own line break
      expect(unsafeChars(m![1]!.replaceAll("<br/>", " ")), line).toEqual([]);
    }
  });
});
