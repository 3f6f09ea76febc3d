// Rendering is a function of the data: twice gives the same bytes, and so does a copy of
// the records that went through JSON (as they do between worker processes and from a file).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderReport, stableJson } from "../src/index.ts";
import { INPUT } from "./fixtures.ts";

const bench = JSON.parse(readFileSync(new URL("./fixtures/bench.json", import.meta.url), "utf8"));

describe("determinism", () => {
  it("renders the same bytes twice", () => {
    const a = renderReport({ ...INPUT, bench });
    const b = renderReport({ ...INPUT, bench });
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(b.get(k), k).toBe(v);
  });

  it("renders the same bytes from records that went through JSON", () => {
    const copy = JSON.parse(JSON.stringify(INPUT));
    const a = renderReport(INPUT);
    const b = renderReport(copy);
    for (const [k, v] of a) expect(b.get(k), k).toBe(v);
  });

  it("results.json parses back to the records", () => {
    const text = renderReport(INPUT).get("data/results.json")!;
    expect(JSON.parse(text)).toEqual({
      schema: "mnlab-results/1",
      results: JSON.parse(JSON.stringify(INPUT.results)),
    });
    expect(stableJson(JSON.parse(text))).toBe(text);
  });
});
