/**
 * The determinism check: run one token twice, recording, and compare the traces line by
 * line. A model that consults anything outside the decision list (wall time, Math.random,
 * iteration over an unordered source) shows up here with the first step where it diverged.
 */

import type { Program } from "./run.ts";
import { replay } from "./run.ts";
import { formatEvent } from "./trace.ts";

export interface DeterminismReport {
  identical: boolean;
  events: number;
  /** First differing event: its index and the two lines (undefined where one trace ended). */
  divergence?: { index: number; first?: string; second?: string };
}

export async function checkDeterminism(
  program: Program,
  token: string,
  opts: { maxSteps?: number } = {},
): Promise<DeterminismReport> {
  const a = ((await replay(program, token, opts)).trace ?? []).map(formatEvent);
  const b = ((await replay(program, token, opts)).trace ?? []).map(formatEvent);
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const divergence: { index: number; first?: string; second?: string } = { index: i };
      if (a[i] !== undefined) divergence.first = a[i];
      if (b[i] !== undefined) divergence.second = b[i];
      return { identical: false, events: n, divergence };
    }
  }
  return { identical: true, events: n };
}
