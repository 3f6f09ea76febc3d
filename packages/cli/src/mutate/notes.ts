/**
 * What a reviewer found when reading a surviving mutant: equivalent (and why), or a gap in the
 * scenarios (and which scenario would kill it). Keyed by mutant id (operator@file:line:column),
 * so a note goes stale — and falls back to the unreviewed text — when the source moves.
 */
const REVIEWED: Record<string, string> = {};

export function survivorNote(id: string, description: string): string {
  return (
    REVIEWED[id] ??
    `${description}: no scenario's verdict changed at this budget — equivalent, or a gap in the scenarios (not reviewed yet)`
  );
}
