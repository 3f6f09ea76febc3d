/**
 * @mnlab/report — result records to the committed reports/: the index with its verdict
 * matrix and bug catalogue, a page per driver with every counterexample drawn as CPU columns
 * and as a Mermaid sequence diagram, the benchmark page, results.json and SVG plots. The
 * renderers are pure (data in, strings out); `files.ts` does the writing.
 */
export { type BarPanel, barChart } from "./bar-chart.ts";
export { benchPage } from "./bench-page.ts";
export { codeLines, modelLines, relativeSource, summarizeDriver } from "./code-size.ts";
export { counterexample, driverPage, METRICS, metricMeans, metricsChart } from "./driver-page.ts";
export { BENCH_JSON, checkReport, readBench, writeReport } from "./files.ts";
export { bugCatalogue, indexPage } from "./index-page.ts";
export { COLUMN_WIDTH, cpuColumns, interleavingSteps, type Step, threadsOf } from "./interleaving.ts";
export { type LineSeries, logLogChart } from "./line-chart.ts";
export { cell, code, int, num, table } from "./markdown.ts";
export { mermaidLabel, sequenceDiagram } from "./mermaid.ts";
export {
  type DriverSummary,
  type ReportInput,
  type ScenarioSummary,
  type VariantSummary,
  variantColumns,
} from "./model.ts";
export { type ReportFiles, renderReport } from "./render.ts";
export { RESULTS_SCHEMA, type ResultsDocument, resultsDocument, stableJson } from "./results-json.ts";
export { UNEXPECTED, verdictCell } from "./verdicts.ts";
