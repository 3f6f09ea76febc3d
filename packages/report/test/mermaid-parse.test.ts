// Every Mermaid block the reports carry must parse with the real `mermaid` package, as GitHub
// would render it: the committed reports/*.md, and the diagrams rendered from the fixtures.
// mermaid needs a DOM (DOMPurify, its config), so it runs under jsdom; `mermaid.parse` is the
// diagram parser without the layout (no canvas needed).
import { readdirSync, readFileSync } from "node:fs";
import { JSDOM } from "jsdom";
import { beforeAll, describe, expect, it } from "vitest";
import { raceDiagram, raceSlice, renderReport, sequenceDiagram } from "../src/index.ts";
import { DEADLOCK_TRACE, INPUT, TRACE, TRACE_NEW, WIDE_TRACE } from "./fixtures.ts";

type Mermaid = { parse(text: string): Promise<unknown>; initialize(c: object): void };
let mermaid: Mermaid;

beforeAll(async () => {
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
  const g = globalThis as Record<string, unknown>;
  g.window = dom.window;
  g.document = dom.window.document;
  for (const k of ["DOMParser", "Element", "HTMLElement", "Node", "SVGElement", "MutationObserver"])
    if (!(k in g)) g[k] = (dom.window as unknown as Record<string, unknown>)[k];
  mermaid = (await import("mermaid")).default as unknown as Mermaid;
  mermaid.initialize({ startOnLoad: false });
}, 60_000);

function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

async function parseAll(source: string, diagrams: string[]): Promise<string[]> {
  const errors: string[] = [];
  for (const [i, d] of diagrams.entries()) {
    try {
      await mermaid.parse(d);
    } catch (e) {
      errors.push(
        `${source}, diagram ${i + 1}: ${String((e as Error).message)
          .split("\n")
          .slice(0, 3)
          .join(" ")}`,
      );
    }
  }
  return errors;
}

// MNLAB_REPORTS=/tmp/reports-check checks a fresh `mnlab report --out` instead of the committed pages.
const reports =
  process.env.MNLAB_REPORTS === undefined
    ? new URL("../../../reports/", import.meta.url)
    : new URL(`file://${process.env.MNLAB_REPORTS.replace(/\/?$/, "/")}`);

describe("Mermaid diagrams parse", () => {
  it("rejects a broken diagram (the check can fail)", async () => {
    expect(await parseAll("broken", ["sequenceDiagram\n  T0->>: x ;; ::"])).toHaveLength(1);
  });

  it("every diagram rendered from the fixtures", async () => {
    const ds = [
      sequenceDiagram(TRACE),
      sequenceDiagram(WIDE_TRACE),
      ...[TRACE, TRACE_NEW, DEADLOCK_TRACE, WIDE_TRACE].map((t) => raceDiagram(raceSlice(t))),
      ...[...renderReport(INPUT).values()].flatMap(blocks),
    ];
    expect(ds.length).toBeGreaterThan(6);
    expect(await parseAll("fixtures", ds)).toEqual([]);
  }, 60_000);

  it("every diagram of the committed reports", async () => {
    const pages = readdirSync(reports).filter((f) => f.endsWith(".md"));
    const errors: string[] = [];
    let n = 0;
    for (const p of pages) {
      const ds = blocks(readFileSync(new URL(p, reports), "utf8"));
      n += ds.length;
      errors.push(...(await parseAll(`reports/${p}`, ds)));
    }
    expect(n).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  }, 120_000);
});
