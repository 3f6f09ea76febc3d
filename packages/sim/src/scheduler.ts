/**
 * The scheduler: at a scheduling point, which runnable thread performs the next operation.
 * It asks the strategy (a Chooser) when more than one thread could run, records every such
 * decision (the decision list that makes an execution replayable) and counts preemptions.
 * Policy lives in the strategies (strategy/); this file only offers them the choice.
 */
import { ANY_OBJECT, FootprintRecorder } from "./footprint.ts";
import type { SimThread } from "./thread.ts";

/** A place where the strategy chose: among runnable threads, or among data values. */
export interface ChoicePoint {
  kind: "thread" | "data";
  /** Thread ids that could run (sorted), or the values 0..n-1. */
  options: readonly number[];
  /** Thread running before the choice, -1 when it had blocked or finished. */
  current: number;
  chosen: number;
  /** Steps so far, when the choice was made. */
  step: number;
}

/** What an execution asks of its strategy. */
export interface Chooser {
  pickThread(enabled: readonly number[], current: number, step: number): number;
  pickData(n: number, step: number): number;
  /** Set by a strategy that needs every step's footprint (a partial-order reduction). */
  readonly wantsFootprints?: boolean;
}

export class Scheduler {
  readonly threads: SimThread[] = [];
  /** Threads not yet done, in id order: what the scheduler scans at each point. */
  readonly live: SimThread[] = [];
  readonly choicePoints: ChoicePoint[] = [];
  preemptions = 0;
  /** The steps' footprints, when the strategy wants them. */
  readonly footprints: FootprintRecorder | null;
  /** The execution's invariant checks: while one without a watch is registered, every step is visible to it. */
  checks: { readonly opaque: boolean } | null = null;

  constructor(private readonly chooser: Chooser) {
    this.footprints = chooser.wantsFootprints === true ? new FootprintRecorder() : null;
  }

  add(t: SimThread): void {
    this.threads.push(t);
    this.live.push(t);
  }

  retire(t: SimThread): void {
    this.live.splice(this.live.indexOf(t), 1);
  }

  /**
   * Choose who runs next among the runnable threads. `from` is the thread at the point (null
   * when it just ended); a thread at cpu_relax() steps aside when another can run. Returns
   * null when no thread is runnable (the execution then advances the clock or ends).
   */
  pick(from: SimThread | null, step: number): SimThread | null {
    // Most points have one runnable thread: count first, and build the options (which a
    // recorded choice keeps) only when there is a choice.
    let count = 0;
    let only = -1;
    for (const t of this.live)
      if (t.state === "runnable") {
        count++;
        only = t.id;
      }
    const stepsAside = from?.relaxing === true && count > 1;
    if (stepsAside) count--;
    if (count === 0) return null;
    const current = from !== null && from.state === "runnable" && !from.relaxing ? from.id : -1;
    let chosen: number;
    if (count === 1) {
      if (stepsAside) for (const t of this.live) if (t.state === "runnable" && t !== from) only = t.id;
      chosen = only;
    } else {
      const enabled: number[] = [];
      for (const t of this.live)
        if (t.state === "runnable" && !(stepsAside && t === from)) enabled.push(t.id);
      chosen = this.chooser.pickThread(enabled, current, step);
      if (!enabled.includes(chosen)) {
        throw new Error(`sim: strategy picked thread ${chosen}, not among runnable [${enabled.join(",")}]`);
      }
      this.choicePoints.push({ kind: "thread", options: enabled, current, chosen, step });
      if (current !== -1 && chosen !== current) this.preemptions++;
    }
    const next = this.threads[chosen]!;
    if (this.footprints !== null) {
      const choice = count === 1 ? -1 : this.choicePoints.length - 1;
      this.footprints.step(next, this.checks?.opaque === true ? ANY_OBJECT : next.footprint, choice);
    }
    return next;
  }

  /** A recorded data choice in [0, n), n > 1: part of the decision list, replayed like threads. */
  pickData(n: number, current: number, step: number): number {
    const v = this.chooser.pickData(n, step);
    const options = Array.from({ length: n }, (_, i) => i);
    this.choicePoints.push({ kind: "data", options, current, chosen: v, step });
    return v;
  }
}
