/**
 * @mnlab/viewer — the static trace viewer under reports/viewer/: every counterexample of a
 * results document drawn lane by lane (one lane per thread, time running down), stepped with
 * keys or buttons, with the shared state at the current step; the race slice or the whole
 * trace; the 5.4 counterexample next to the 5.5 run of the same schedule. `mnlab report`
 * renders it with the Markdown pages (`viewerFiles`), handing in @mnlab/report's race slice
 * and link fragment (see data.ts for why the two packages do not import each other).
 */
export {
  type RaceSliceLike,
  type SameScheduleLike,
  sliceIndices,
  type ViewerDeps,
  type ViewerInput,
  viewerData,
} from "./data.ts";
export { bundleApp, dataScript, viewerFiles } from "./files.ts";
export { eventText, isBookkeeping, type LaneRow, laneRows } from "./lanes.ts";
export {
  type PackedEvent,
  packEvent,
  unpackEvent,
  VIEWER_SCHEMA,
  type ViewerData,
  type ViewerPair,
  type ViewerRun,
  type ViewerThread,
} from "./model.ts";
export { pagesInvolved, parseRange, sharedObjects, stateAt, type TraceState } from "./state.ts";
