/**
 * The whole reports/ directory as data: relative path -> file contents, in a fixed order.
 * Nothing here touches the file system; `files.ts` writes or checks the result.
 */
import { benchPage } from "./bench-page.ts";
import { driverPage, metricsChart, metricsChartPath } from "./driver-page.ts";
import { findingsPage } from "./findings-page.ts";
import { indexPage } from "./index-page.ts";
import { type ReportInput, recordsOf } from "./model.ts";
import { resultsDocument, stableJson } from "./results-json.ts";

export type ReportFiles = Map<string, string>;

export function renderReport(input: ReportInput): ReportFiles {
  const files: ReportFiles = new Map();
  files.set("README.md", indexPage(input));
  files.set("findings.md", findingsPage(input));
  for (const d of input.drivers) {
    const records = recordsOf(input, d.name);
    files.set(
      `${d.name}.md`,
      driverPage(d, records, {
        sameSchedule: (input.sameSchedule ?? []).filter((s) => s.driver === d.name),
        mutation: (input.mutation?.drivers ?? []).filter((m) => m.driver === d.name),
        ...(input.docs === undefined ? {} : { docs: input.docs }),
      }),
    );
    if (records.length > 0) files.set(metricsChartPath(d.name), metricsChart(d.name, records));
  }
  if (input.bench !== null) {
    const b = benchPage(input.bench);
    files.set("bench.md", b.markdown);
    for (const [path, svg] of b.plots) files.set(path, svg);
  }
  files.set("data/results.json", stableJson(resultsDocument(input.results)));
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
