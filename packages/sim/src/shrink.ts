/**
 * Shrinking a failing decision list (delta debugging, Zeller and Hildebrandt 2002) towards
 * fewer preemptions, then fewer steps, keeping the failure kind.
 *
 * A candidate is an edited decision list, run with the replay strategy (which falls back to
 * non-preemptive choices where a decision no longer fits). It is accepted only when it fails
 * with the same kind, has no more preemptions, and has fewer preemptions or fewer steps (or,
 * those equal, a shorter list). The accepted list is the candidate's own recorded choices, so
 * the final token replays exactly. Edits tried, in rounds until none helps:
 *   1. turn one preemption into "keep running the current thread", latest first;
 *   2. cut the list short (the rest runs non-preemptively), halving;
 *   3. delete chunks of decisions, halving the chunk size down to one.
 * Earlier executions in a lock-order token (its prelude) are kept as they are.
 */
import type { ExecutionOutcome } from "./execution.ts";
import type { FailureKind } from "./failure.ts";
import { type Program, recorded, runRecorded } from "./run.ts";
import type { RecordedExecution, ReplayToken } from "./token.ts";

export interface ShrinkResult {
  token: ReplayToken;
  /** The shrunk execution, replayed with its trace recorded. */
  outcome: ExecutionOutcome;
  /** Candidate executions tried. */
  runs: number;
}

export async function shrinkFailure(
  program: Program,
  failing: ReplayToken,
  kind: FailureKind,
  opts: { maxSteps: number; attempts: number },
): Promise<ShrinkResult> {
  const prelude: RecordedExecution[] = failing.executions.slice(0, -1);
  const last = failing.executions[failing.executions.length - 1]!;
  const withLast = (decisions: number[]): ReplayToken => ({
    lockdep: failing.lockdep,
    executions: [...prelude, { seed: last.seed, decisions }],
  });
  let tried = 0;
  const attempt = async (decisions: number[]): Promise<ExecutionOutcome> => {
    tried++;
    return runRecorded(program, withLast(decisions), {
      maxSteps: opts.maxSteps,
      record: false,
    });
  };

  let best = await attempt(last.decisions);
  if (best.failure?.kind !== kind) {
    throw new Error(
      `shrink: the failing execution did not reproduce (${best.failure?.kind ?? "pass"} instead of ${kind})`,
    );
  }
  let bestList = recorded(last.seed, best).decisions;

  const better = (o: ExecutionOutcome, list: number[]): boolean =>
    o.failure?.kind === kind &&
    o.preemptions <= best.preemptions &&
    (o.preemptions < best.preemptions ||
      o.steps < best.steps ||
      (o.steps === best.steps && list.length < bestList.length));

  const consider = async (candidate: number[]): Promise<boolean> => {
    if (tried >= opts.attempts) return false;
    const o = await attempt(candidate);
    const list = recorded(last.seed, o).decisions;
    if (!better(o, list)) return false;
    best = o;
    bestList = list;
    return true;
  };

  let improved = true;
  while (improved && tried < opts.attempts) {
    improved = false;
    // 1. Remove preemptions, latest first.
    for (let i = best.choices.length - 1; i >= 0 && tried < opts.attempts; i--) {
      const c = best.choices[i];
      if (c === undefined || c.kind !== "thread" || c.current === -1 || c.chosen === c.current) continue;
      const cand = bestList.slice();
      cand[i] = c.current;
      if (await consider(cand)) improved = true;
    }
    // 2. Truncate.
    for (let keep = bestList.length >> 1; keep < bestList.length && tried < opts.attempts; ) {
      if (await consider(bestList.slice(0, keep))) {
        improved = true;
        keep = bestList.length >> 1;
      } else {
        keep = keep + Math.max(1, (bestList.length - keep) >> 1);
      }
    }
    // 3. Delete chunks.
    for (let size = bestList.length >> 1; size >= 1 && tried < opts.attempts; size >>= 1) {
      for (let at = 0; at + size <= bestList.length && tried < opts.attempts; ) {
        const cand = [...bestList.slice(0, at), ...bestList.slice(at + size)];
        if (await consider(cand)) improved = true;
        else at += size;
      }
    }
  }

  const token = withLast(bestList);
  const outcome = await runRecorded(program, token, { maxSteps: opts.maxSteps, record: true });
  return { token, outcome, runs: tried };
}
