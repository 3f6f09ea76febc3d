/**
 * Bounded partial-order reduction: the exhaustive search within a preemption bound, run as a
 * depth-first dynamic partial-order reduction (Flanagan and Godefroid, POPL 2005) with the
 * bounded backtracking of Coons, Musuvathi and McKinley, "Bounded partial-order reduction",
 * OOPSLA 2013 (BPOR).
 *
 * Each execution logs every step's footprint (footprint.ts). After it, the races of that
 * execution are computed with vector clocks: step i races with a later step k of another
 * thread when their footprints conflict and i happens before k through no step between them.
 * For each race the thread of k is added to the backtrack set at the state before i (or,
 * when it was not runnable there, every runnable thread — FG05), and, which is BPOR's point,
 * also at the state where the run of consecutive steps containing i began (the last context
 * switch at or before i): reversing the race right before i may need one more preemption
 * than the bound allows, while scheduling k's thread where the scheduler switched anyway
 * costs no more than that switch did. Every state's backtrack set starts with the
 * non-preemptive choice (the current thread, else the lowest runnable id), and a choice is
 * walked only while the schedule's preemptions stay within the bound, as in exhaustive.ts.
 * Data choices are walked completely.
 *
 * Why persistent (backtrack) sets and no sleep sets: under a preemption bound a sleep set
 * can prune a schedule whose only equivalent in the explored tree costs one preemption more
 * (swapping two independent steps changes which thread is current for what follows), and
 * that equivalent may be over the bound; Coons et al. show the naive combination misses
 * states. The bounded backtracking above is what they prove sound for the bound; sleep sets
 * would save only redundant executions of equivalent schedules, not states, so they are left
 * out rather than risked. All races of an execution are backtracked, not only the last one
 * per step: more executions than FG05's minimum, never fewer states.
 *
 * Failures end the execution: the step that raised one disables every other thread, so it
 * conflicts with each other thread's pending step whatever their objects, and those threads
 * are added to the backtrack set before it (and at BPOR's point). Without that, two threads
 * that each oops after touching only their own objects would show one kind, not both.
 *
 * What it preserves: every terminal state, deadlock and failure raised by a step itself
 * (oops, WARN, sleep in atomic, lockdep, leaked lock, exit checks) reachable within the
 * bound, and every failure of an invariant check that declares what it reads (a watch):
 * the steps that change that state touch the check's pseudo-object and are never reordered
 * against each other, which makes a check failure a failure of the step before it
 * (footprint.ts, the visibility condition). A check with no watch makes every step
 * ANY_OBJECT, and the reduction then walks what exhaustive search walks. Lockdep's graph
 * spans executions: every lock-order edge of an unreduced execution is an event of some
 * reduced one (an equivalent execution has the same events), so the same inversions are
 * found, maybe in another execution. Verdicts are the first kind found, and the walk
 * order differs from exhaustive.ts's, so a scenario reaching several kinds could name
 * another first; the comparison over every scenario in the repository checks it.
 * The property tests in test/bpor.test.ts compare reduced and unreduced searches on random
 * programs, with and without watched checks and failures that end the execution.
 */
import type { ExecutionOutcome } from "../execution.ts";
import { ANY_OBJECT, type FootprintLog } from "../footprint.ts";
import type { Strategy, StrategyReport } from "./strategy.ts";

interface Frame {
  kind: "thread" | "data";
  options: readonly number[];
  current: number;
  preemptionsBefore: number;
  chosen: number;
  /** Choices still to walk here (thread ids, or data values). */
  backtrack: Set<number>;
  done: Set<number>;
}

export class BporStrategy implements Strategy {
  readonly name = "bpor";
  readonly seed = 0;
  readonly wantsFootprints = true;
  private frames: Frame[] = [];
  private depth = 0;
  private preemptions = 0;
  private exhausted = false;
  /** Backtrack points added by races (including BPOR's conservative ones). */
  private races = 0;
  /** Backtrack choices dropped because they would exceed the bound. */
  private overBound = 0;

  constructor(readonly preemptionBound: number) {
    if (!Number.isInteger(preemptionBound) || preemptionBound < 0) {
      throw new Error(`bpor: preemption bound must be a non-negative integer, got ${preemptionBound}`);
    }
  }

  get isExhausted(): boolean {
    return this.exhausted;
  }

  beginExecution(index: number): boolean {
    if (this.exhausted) return false;
    if (index > 0 && !this.backtrackPoint()) {
      this.exhausted = true;
      return false;
    }
    this.depth = 0;
    this.preemptions = 0;
    return true;
  }

  /** The deepest frame with a choice left to walk within the bound; frames below it go. */
  private backtrackPoint(): boolean {
    while (this.frames.length > 0) {
      const f = this.frames[this.frames.length - 1]!;
      for (const c of [...f.backtrack].sort((a, b) => a - b)) {
        if (f.done.has(c)) continue;
        f.done.add(c);
        if (f.preemptionsBefore + (isPreemption(f, c) ? 1 : 0) > this.preemptionBound) {
          this.overBound++;
          continue;
        }
        f.chosen = c;
        return true;
      }
      this.frames.pop();
    }
    return false;
  }

  private choose(kind: "thread" | "data", options: readonly number[], current: number): number {
    const i = this.depth++;
    let f = this.frames[i];
    if (f !== undefined) {
      if (f.kind !== kind || !sameOptions(f.options, options) || f.current !== current) {
        throw new Error(
          `bpor: the program is not deterministic — decision ${i} offered ${kind} [${options.join(",")}] ` +
            `(current ${current}) where an earlier execution saw ${f.kind} [${f.options.join(",")}] (current ${f.current})`,
        );
      }
    } else {
      const canGoOn = kind === "thread" && current !== -1 && options.includes(current);
      const first = canGoOn ? current : options[0]!;
      f = {
        kind,
        options,
        current,
        preemptionsBefore: this.preemptions,
        chosen: first,
        backtrack: new Set(kind === "data" ? options : [first]),
        done: new Set([first]),
      };
      this.frames.push(f);
    }
    if (isPreemption(f, f.chosen)) this.preemptions++;
    return f.chosen;
  }

  pickThread(enabled: readonly number[], current: number): number {
    return this.choose("thread", enabled, current);
  }

  pickData(n: number): number {
    return this.choose(
      "data",
      Array.from({ length: n }, (_, i) => i),
      -1,
    );
  }

  endExecution(outcome: ExecutionOutcome): void {
    // An execution that ended early (a failure) made fewer decisions than the walk held.
    this.frames.length = Math.min(this.frames.length, this.depth);
    const log = outcome.footprints;
    if (log === undefined) throw new Error("bpor: the execution logged no footprints");
    this.addRaces(log, outcome);
  }

  /** Vector-clock race detection over the logged steps, then the backtrack points (file comment). */
  private addRaces(log: FootprintLog, outcome: ExecutionOutcome): void {
    const n = log.thread.length;
    let threads = 0;
    for (const p of log.thread) threads = Math.max(threads, p + 1);
    for (const q of log.pending) threads = Math.max(threads, q.thread + 1);
    // Frame index of each thread choice point (choice indices count data choices too).
    const frameOf = (choice: number): Frame | undefined =>
      choice < 0 || choice >= this.frames.length ? undefined : this.frames[choice];
    const stepClock: Int32Array[] = [];
    const threadClock: Int32Array[] = Array.from({ length: threads }, () => new Int32Array(threads));
    // Where the run of consecutive steps of one thread containing step i began.
    const blockStart = new Int32Array(n);
    for (let i = 0; i < n; i++)
      blockStart[i] = i > 0 && log.thread[i - 1] === log.thread[i] ? blockStart[i - 1]! : i;

    // Objects as small ints (ANY_OBJECT is -1), so that the backward scan below compares
    // numbers: string compares and array lookups there were most of a bpor execution's cost.
    const ids = new Map<string, number>();
    const idOf = (o: string): number => {
      if (o === ANY_OBJECT) return -1;
      let v = ids.get(o);
      if (v === undefined) ids.set(o, (v = ids.size));
      return v;
    };
    const prim = new Int32Array(n);
    const alsoIds: (Int32Array | undefined)[] = [];
    for (let i = 0; i < n; i++) {
      prim[i] = idOf(log.object[i]!);
      const a = log.also[i];
      alsoIds.push(a === undefined ? undefined : Int32Array.from(a, idOf));
    }
    /** footprint.ts stepsConflict, on the interned objects: does step i touch one of `objs`? */
    const touches = (i: number, objs: Int32Array, any: boolean): boolean => {
      const pi = prim[i]!;
      if (any || pi === -1) return true;
      for (const o of objs) if (o === pi) return true;
      const ai = alsoIds[i];
      if (ai !== undefined) for (const x of ai) for (const o of objs) if (o === x) return true;
      return false;
    };
    const raceWith = (
      p: number,
      object: string,
      also: readonly string[],
      k: number,
      update: boolean,
    ): void => {
      const clock = Int32Array.from(threadClock[p]!);
      const objs = Int32Array.from([object, ...also], idOf);
      const any = object === ANY_OBJECT;
      for (let i = k - 1; i >= 0; i--) {
        if (!touches(i, objs, any)) continue;
        const q = log.thread[i]!;
        if (q !== p && clock[q]! <= i) {
          // i is not ordered before this step by anything in between: a race.
          this.races++;
          this.addBacktrack(frameOf(log.choice[i]!), p);
          this.addBacktrack(frameOf(log.choice[blockStart[i]!]!), p);
        }
        const ci = stepClock[i]!;
        for (let t = 0; t < threads; t++) if (ci[t]! > clock[t]!) clock[t] = ci[t]!;
      }
      if (update) {
        clock[p] = k + 1;
        stepClock[k] = clock;
        threadClock[p] = clock;
      }
    };
    for (let k = 0; k < n; k++) raceWith(log.thread[k]!, log.object[k]!, log.also[k] ?? NONE, k, true);
    // The steps the threads still alive would have run next (an execution that failed).
    for (const { thread, object } of log.pending) raceWith(thread, object, NONE, n, false);
    // A failure ends the execution: the step that raised it disables every other thread, so
    // it conflicts with each thread's pending step whatever their objects (file comment).
    const last = n - 1;
    if (outcome.failure !== null && last >= 0) {
      const at = frameOf(log.choice[last]!);
      for (const { thread } of log.pending) {
        if (thread === log.thread[last] || at === undefined || !at.options.includes(thread)) continue;
        this.races++;
        this.addBacktrack(at, thread);
        this.addBacktrack(frameOf(log.choice[blockStart[last]!]!), thread);
      }
    }
  }

  private addBacktrack(f: Frame | undefined, p: number): void {
    if (f === undefined || f.kind !== "thread") return;
    if (f.options.includes(p)) f.backtrack.add(p);
    else for (const o of f.options) f.backtrack.add(o);
  }

  describe(): StrategyReport {
    return {
      name: this.name,
      params: { preemptionBound: this.preemptionBound, races: this.races, overBound: this.overBound },
      exhausted: this.exhausted,
    };
  }
}

const NONE: readonly string[] = [];

function isPreemption(f: Frame, chosen: number): boolean {
  return f.kind === "thread" && f.current !== -1 && chosen !== f.current && f.options.includes(f.current);
}

function sameOptions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
