/**
 * A variant's mutation score as the pages show it: killed / mutants, and killed / the mutants
 * not reviewed as equivalent (the usual definition of a mutation score, which leaves out the
 * mutants no test can kill). A survivor is equivalent when its reviewed note, from cli
 * mutate/notes.ts, says so; a gap or an unreviewed survivor counts against the score.
 */
import { int } from "./markdown.ts";
import type { MutationScore } from "./model.ts";

export const pct = (k: number, n: number) => (n === 0 ? "—" : `${Math.round((k / n) * 100)}%`);

/** Survivors a reviewer's note calls equivalent (cli mutate/notes.ts: the note starts "Equivalent"). */
export function equivalentSurvivors(m: MutationScore): number {
  return m.survivors.filter((x) => x.note.startsWith("Equivalent")).length;
}

/** The score columns: killed / mutants, and killed / the mutants not reviewed as equivalent. */
export const MUTATION_SCORE_COLUMNS = [
  "mutants",
  "killed",
  "survived",
  "equivalent",
  "score",
  "of non-equivalent",
];
export function mutationScoreCells(m: MutationScore): string[] {
  const eq = equivalentSurvivors(m);
  return [
    int(m.mutants),
    int(m.killed),
    int(m.survived),
    int(eq),
    pct(m.killed, m.mutants),
    pct(m.killed, m.mutants - eq),
  ];
}
