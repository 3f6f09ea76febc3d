// Golden files: the renderers' output for the fixed fixtures, byte for byte, committed under
// test/golden/. After an intended change, regenerate them with
//   UPDATE_GOLDEN=1 npx vitest run --project report
// and read the diff.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  benchPage,
  cpuColumns,
  driverPage,
  findingsPage,
  indexPage,
  metricsChart,
  oldNextToNew,
  raceColumns,
  raceDiagram,
  raceSlice,
  renderReport,
  resultsDocument,
  sequenceDiagram,
  sideBySide,
  stableJson,
  verdictCell,
} from "../src/index.ts";
import {
  DEADLOCK_TRACE,
  DOCS,
  DRIVER,
  INPUT,
  MUTATION,
  RECORDS,
  SAME,
  TRACE,
  TRACE_NEW,
  WIDE_TRACE,
} from "./fixtures.ts";

const dir = new URL("./golden/", import.meta.url);
const update = process.env.UPDATE_GOLDEN === "1";

function golden(name: string, actual: string): void {
  const file = new URL(name, dir);
  if (update || !existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, actual);
    if (!update)
      throw new Error(`golden file ${name} was missing and has been written: check it, then re-run`);
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}

const bench = JSON.parse(readFileSync(new URL("./fixtures/bench.json", import.meta.url), "utf8"));

describe("golden files", () => {
  it("index page", () => golden("README.md.golden", indexPage(INPUT)));
  it("driver page", () =>
    golden(
      "toy.md.golden",
      driverPage(DRIVER, RECORDS, { sameSchedule: SAME, mutation: MUTATION.drivers, docs: DOCS }),
    ));
  it("findings page", () => golden("findings.md.golden", findingsPage(INPUT)));
  it("race slice: CPU columns and diagram", () => {
    const slice = raceSlice(TRACE, { message: RECORDS[0]!.message! });
    golden("race.txt", `${raceColumns(slice)}\n`);
    golden("race.mmd", `${raceDiagram(slice)}\n`);
  });
  it("race slice of a hang", () =>
    golden("race-deadlock.txt", `${raceColumns(raceSlice(DEADLOCK_TRACE))}\n`));
  it("four wide columns wrapped at 110", () => golden("cpu-columns-wide.txt", `${cpuColumns(WIDE_TRACE)}\n`));
  it("side by side: 5.4 counterexample and 5.5 in the same schedule", () =>
    golden(
      "side-by-side.txt",
      `${sideBySide(
        { title: "5.4 legacy: use-after-free", trace: TRACE, message: RECORDS[0]!.message! },
        { title: "5.5 interval, same schedule: pass", trace: TRACE_NEW },
      )}\n`,
    ));
  it("old next to new: the 5.5 path that retries when the old schedule collides nowhere", () => {
    const text = oldNextToNew(RECORDS, [{ ...SAME[0]!, how: "retry-path" }]);
    expect(text).toContain("### T1-populate-vs-munmap: legacy and interval, the 5.5 path that retries");
    expect(text).toContain("5.5 interval, the path that retries: pass");
    expect(text).toContain("The 5.5 populate loop retries 1 time (read_retry true, -EBUSY).");
    expect(oldNextToNew(RECORDS, SAME)).toContain(
      "### T1-populate-vs-munmap: legacy and interval in the same schedule",
    );
  });
  it("a cell with every kind reached", () => {
    const cell = verdictCell(RECORDS[0]!, { link: "index" });
    golden("multi-kind-cell.md", `${cell}\n`);
    expect(cell).toBe(
      "[use-after-free](toy.md#t1-populate-vs-munmap-on-legacy-use-after-free) + " +
        "[deadlock](toy.md#t1-populate-vs-munmap-on-legacy-deadlock)",
    );
  });
  it("CPU columns", () => golden("cpu-columns.txt", `${cpuColumns(TRACE)}\n`));
  it("Mermaid sequence diagram", () => golden("sequence.mmd", `${sequenceDiagram(TRACE)}\n`));
  it("metrics bar chart", () => golden("toy-metrics.svg", metricsChart("toy", RECORDS)));
  it("results.json", () => golden("results.json.golden", stableJson(resultsDocument(RECORDS))));
  it("bench page and scaling plot", () => {
    const b = benchPage(bench);
    golden("bench.md.golden", b.markdown);
    expect([...b.plots.keys()]).toEqual(["img/bench-ratio.svg", "img/bench-invalidate.svg"]);
    golden("bench-invalidate.svg", b.plots.get("img/bench-invalidate.svg")!);
    golden("bench-ratio.svg", b.plots.get("img/bench-ratio.svg")!);
    // the comparison comes first, before the circumstances and the raw rows
    const md = b.markdown;
    expect(md.indexOf("## Old vs new")).toBeLessThan(md.indexOf("## Circumstances"));
    expect(md).toContain(
      "| invalidate | hmm54 | interval | n = 10,000 |      610,000 |          880 |            693× |",
    );
  });
  it("the report directory lists every file once, sorted", () => {
    const files = renderReport({ ...INPUT, bench });
    expect([...files.keys()]).toEqual([
      "README.md",
      "bench.md",
      "data/results.json",
      "findings.md",
      "img/bench-invalidate.svg",
      "img/bench-ratio.svg",
      "img/toy-metrics.svg",
      "toy.md",
    ]);
  });
});
