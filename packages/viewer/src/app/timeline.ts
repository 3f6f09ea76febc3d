/**
 * Stepping one pane, or two together. Each pane shows some of its trace's events (the race
 * slice or all of them); the timeline merges them in scheduling-step order — the old and the
 * new run of a scenario follow the same decision list, so the same step number is the same
 * point of the schedule, until the runs diverge. A cursor on the timeline puts each pane on
 * its last event at or before it.
 */
export interface TimelineEntry {
  pane: number;
  /** Event index in that pane's trace. */
  index: number;
  step: number;
}

export function timeline(
  panes: readonly { visible: readonly number[]; steps: readonly number[] }[],
): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  panes.forEach((p, pane) => {
    for (const index of p.visible) out.push({ pane, index, step: p.steps[index]! });
  });
  // Stable: by step, then pane, then trace order.
  return out
    .map((e, k) => ({ e, k }))
    .sort((a, b) => a.e.step - b.e.step || a.e.pane - b.e.pane || a.k - b.k)
    .map((x) => x.e);
}

/** Per pane, the event it is on at timeline position `cursor` (-1: before its first). */
export function positions(line: readonly TimelineEntry[], panes: number, cursor: number): number[] {
  const at = new Array<number>(panes).fill(-1);
  for (let k = 0; k <= cursor && k < line.length; k++) at[line[k]!.pane] = line[k]!.index;
  return at;
}
