/**
 * Footprints: what each step of an execution touches, for a partial-order reduction
 * (strategy/bpor.ts). A step is what a thread runs from the moment it is handed the turn
 * at a scheduling point to its next point: the operation it announced there, then its code
 * up to the next point.
 *
 * The footprint is coarse and, for what it covers, sound: the name of the object the
 * announced operation is on (`ex.point(op, object)` — a lock, a lockless field or cell, an
 * atomic, a wait queue, a completion, an srcu struct). Two steps are independent only when
 * both name an object and the names differ; ANY_OBJECT conflicts with every step. Objects
 * that share a name are one object here, which only adds dependence. ANY_OBJECT is the
 * footprint of
 *   - a point that names no object (cond_resched, cpu_relax, a model's own bare point),
 *   - the step after a block (the woken thread re-reads whatever it waited for),
 *   - a wait_event condition (the condition reads fields of its own),
 *   - every step of an execution that registered an invariant check with no watch (below).
 *
 * Invariant checks and the visibility condition. A check runs at the end of every step
 * (checks.ts) and reads model state that no point names — PTEs, device entries, the notifier
 * core's seq and counts. For a safety property read this way, a reduction may reorder two
 * steps only if the check cannot tell: the visibility condition of ample/persistent sets
 * (a step that changes what the property reads is "visible", and visible steps are never
 * reordered against each other). Here each check declares a watch (CheckOptions.watch: a
 * value that changes whenever the state it reads is written — version counters and the
 * tested values — with its protectedBy locks' held state added by the runtime). While a
 * reduction records footprints, the runtime samples the watches at every point where
 * checks run (the end of each step, blocking ones included, and the release of a lock in
 * the middle of one); a step during which a check's sample changed also touches that
 * check's object (checkObject).
 * Why that is enough:
 *   1. The check's result is a function of the watched state, which changes only in steps
 *      marked visible; every step's end is sampled, so each visible step's result is seen
 *      right after it, and an invisible step's end repeats the previous sample (the checks
 *      are stuttering-invariant: the same state checked twice gives the same answer).
 *   2. The steps visible to one check all conflict (its checkObject), so every execution the
 *      reduction treats as equivalent runs them in the same order, each after the same
 *      causal past, so with the same effect: the sequence of distinct states that check sees
 *      is the same. A check failure is therefore a failure raised by the visible step itself,
 *      which the search preserves like an oops (strategy/bpor.ts); which of two checks fails
 *      first is the order of two failing steps, and a failing step conflicts with every
 *      other thread's pending step, so both orders are walked.
 *   3. "Changed" and not "wrote": two steps the footprints call independent cannot write the
 *      same model state (that state is protected by a lock whose operations are points, or
 *      is a cell of its own), so whether a step changes the watched state does not depend on
 *      the order of steps independent of it.
 * A check with protectedBy locks and no watch reads only what those locks protect; its
 * watch is their held state and release counts. Only a check with neither is opaque, and
 * then every step is ANY_OBJECT, as exhaustive search.
 * A thread's life has two objects of its own. Its creation, `spawn#<id>`: the spawner's step
 * that creates it and the thread's first step touch it (so the first step is ordered after
 * the spawn and its past). Its end, `thread#<id>`: the step that ends it (exit wakes
 * joiners) and a join's point and its wake-up touch it. Two objects because a join reads
 * only whether the thread is done, which its first step does not change: with one object,
 * a join's point and the joined thread's first step conflicted and were walked both ways.
 * What the footprint does not see is model state touched between points without a lock and
 * without a point of its own; the models keep that to thread-local state or state protected
 * by a lock whose operations are points, and name the rest with Execution.touch(object) (an
 * unlocked test such as mm_has_notifiers(), a BUG_ON on atomic_read(&mm->mm_users)): the
 * step then also touches that object. A read nobody named is a hole the reduction cannot
 * see — comparing every scenario's verdicts and violation kinds with and without it is the
 * check (one such hole, the unlocked mm->mmu_notifier_mm test, lost a violation kind).
 */
import type { SimThread } from "./thread.ts";

/** The footprint that conflicts with every step. */
export const ANY_OBJECT = "*";

/**
 * The pseudo-object of invariant check `i`'s state (checks are numbered as registered):
 * touched by every step that changed what the check reads (checks.ts CheckOptions.watch),
 * so all such steps conflict.
 */
export function checkObject(i: number): string {
  return CHECK_OBJECTS[i] ?? (CHECK_OBJECTS[i] = `<check#${i}>`);
}
const CHECK_OBJECTS: string[] = [];

/** The object of a thread's end (exit, join). */
export function threadObject(id: number): string {
  return `thread#${id}`;
}

/** The object of a thread's creation (the spawn, the thread's first step). */
export function spawnObject(id: number): string {
  return `spawn#${id}`;
}

/** Whether two steps' footprints conflict (their order may matter). */
export function conflicts(a: string, b: string): boolean {
  return a === b || a === ANY_OBJECT || b === ANY_OBJECT;
}

/** Whether steps i and j of a log conflict, their extra objects (spawn, exit) included. */
export function stepsConflict(
  log: FootprintLog,
  i: number,
  objectJ: string,
  alsoJ: readonly string[],
): boolean {
  const oi = log.object[i]!;
  if (conflicts(oi, objectJ)) return true;
  const ai = log.also[i];
  for (const x of alsoJ) if (conflicts(oi, x) || ai?.includes(x) === true) return true;
  if (ai !== undefined) for (const x of ai) if (conflicts(x, objectJ)) return true;
  return false;
}

/** The steps of one execution: who ran each, on what, and the thread choice made at its start. */
export interface FootprintLog {
  thread: number[];
  object: string[];
  /** Index (into the execution's choice points) of the thread choice that began the step; -1: no choice. */
  choice: number[];
  /** Objects a step touched beyond its point's (a thread it spawned or ended), by step index. */
  also: (string[] | undefined)[];
  /**
   * Threads a step made runnable that could not have run before it in any schedule, by step
   * index (strategy/bpor.ts, races with the step that enables a thread): a thread it spawned,
   * a lock's waiter it woke by releasing the lock it held (a spinlock's or mutex's unlock, an
   * rwsem's up_read, up_write or downgrade handing the sem over), a joiner of the thread it
   * ended.
   */
  enabled: (number[] | undefined)[];
  /** Threads not done when the execution ended, with the footprint of the step each would run next. */
  pending: { thread: number; object: string }[];
}

/** Collects a FootprintLog as the scheduler hands out turns. */
export class FootprintRecorder {
  readonly log: FootprintLog = { thread: [], object: [], choice: [], also: [], enabled: [], pending: [] };
  /** Index of each thread's latest step. */
  private readonly current: number[] = [];

  step(t: SimThread, object: string, choice: number): void {
    this.current[t.id] = this.log.thread.length;
    this.log.thread.push(t.id);
    this.log.object.push(object);
    this.log.choice.push(choice);
    this.log.also.push(undefined);
    this.log.enabled.push(undefined);
  }

  /** The running step of `t` made `woken` runnable, which no schedule could have run before it. */
  enable(t: SimThread, woken: SimThread): void {
    const i = this.current[t.id];
    if (i === undefined) return;
    const r = this.log.enabled[i];
    if (r === undefined) this.log.enabled[i] = [woken.id];
    else r.push(woken.id);
  }

  /** The running step of `t` also touches `object` (it spawned a thread, or it ends `t`). */
  touch(t: SimThread, object: string): void {
    const i = this.current[t.id];
    if (i === undefined) return;
    const a = this.log.also[i];
    if (a === undefined) this.log.also[i] = [object];
    else a.push(object);
  }

  finish(s: { live: readonly SimThread[]; checks: { opaque: boolean } | null }): FootprintLog {
    const visible = s.checks?.opaque === true;
    for (const t of s.live)
      this.log.pending.push({ thread: t.id, object: visible ? ANY_OBJECT : t.footprint });
    return this.log;
  }
}
