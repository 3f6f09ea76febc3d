/**
 * @mnlab/report — result records to the committed reports/: the index with its verdict
 * matrix and bug catalogue, a page per driver with every counterexample drawn as CPU columns
 * and as a Mermaid sequence diagram, the benchmark page, results.json and SVG plots. The
 * renderers are pure (data in, strings out); `files.ts` does the writing.
 */
export { type BarPanel, barChart } from "./bar-chart.ts";
export { benchPage } from "./bench-page.ts";
export { codeLines, modelLines, relativeSource, summarizeDriver } from "./code-size.ts";
export {
  type CoreEvaluationInput,
  type CoreEvaluationRow,
  coreEvaluatePage,
} from "./core-evaluate-page.ts";
export {
  counterexample,
  type DriverPageExtras,
  driverPage,
  METRICS,
  metricMeans,
  metricsChart,
  mutationSection,
  oldNextToNew,
  raceBlocks,
} from "./driver-page.ts";
export {
  type EvaluationInput,
  type EvaluationOutcome,
  type EvaluationRow,
  evaluatePage,
  OUTCOMES,
  outcomeCounts,
  outcomeSummary,
} from "./evaluate-page.ts";
export { BENCH_JSON, checkReport, readBench, writeReport } from "./files.ts";
export { type FindingEntry, findingEntries, findingsPage, isNewModel } from "./findings-page.ts";
export { bugCatalogue, indexPage } from "./index-page.ts";
export {
  type ColumnRow,
  columnsText,
  cpuColumns,
  interleavingSteps,
  MAX_DEPTH,
  type Step,
  threadsOf,
} from "./interleaving.ts";
export { type LineSeries, logLogChart } from "./line-chart.ts";
export { cell, code, int, num, table } from "./markdown.ts";
export { mermaidLabel, raceDiagram, sequenceDiagram } from "./mermaid.ts";
export {
  type CorePatchEvaluation,
  type DocsIndex,
  type DriverSummary,
  type MutationDocument,
  type MutationScore,
  type ReportInput,
  type SameSchedule,
  type ScenarioSummary,
  type VariantSummary,
  variantColumns,
} from "./model.ts";
export { type RaceSlice, type RaceThread, raceColumns, raceSlice, setupLine } from "./race.ts";
export { commitLink, docsAnchors, linkRef, linkText } from "./references.ts";
export { type ReportFiles, renderReport } from "./render.ts";
export { RESULTS_SCHEMA, type ResultsDocument, resultsDocument, stableJson } from "./results-json.ts";
export { type Side, sideBySide, sideLines } from "./side-by-side.ts";
export { UNEXPECTED, verdictCell, violationsOf } from "./verdicts.ts";
export { type ViewerTarget, viewerFragment, viewerLink } from "./viewer-link.ts";
export { fitWidths, LINE_WIDTH, wrap } from "./wrap.ts";
