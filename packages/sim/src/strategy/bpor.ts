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
 * Races with the step that enables a thread. Some steps make a thread runnable that no
 * schedule could have run before them: the spawn of a thread; a lock's release by its
 * holder, which wakes the waiters (a spinlock's or mutex's unlock, an rwsem's up_read,
 * up_write or downgrade handing it over — only the holder's release wakes a lock's waiter,
 * and no lock blocks with a timeout); a thread's exit, which wakes its joiners (a join has no
 * timeout either). Such a step conflicts with the enabled thread's next step (both touch the
 * lock, or the thread's lifetime object), nothing is between them, so it is a race by the
 * definition above; but it cannot be reversed. At the state before the enabling step, and at
 * the start of the run of steps containing it (nothing but its own thread ran since, and a
 * thread that does not run cannot go from runnable to blocked), the enabled thread does not
 * exist yet, or waits on a lock the stepping thread holds, or joins it; only that thread's
 * next steps can change it, so no schedule from either state runs the enabled thread before
 * the enabling step. FG05 adds a backtrack only for a transition that "may be co-enabled"
 * with the racing one; these two never are, and FG05's fallback for a thread not runnable
 * there (every runnable thread) would walk branches that repeat others: on the drivers'
 * scenarios, the thread-lifetime races were about two in five of all races. The runtime
 * says which steps enabled which threads (FootprintLog.enabled: Execution.spawn, exit,
 * unblockOnRelease); for those races no backtrack is added (`enablingRaces` counts them)
 * and the clocks join as for any race. A release by a thread that did not hold the lock is a
 * WARN and an ordinary race. The reversible races stay: a waiter's acquire that found the
 * lock held races with the holder's acquire (reversed, the waiter takes it first); a join
 * that came after the exit races with the exit (reversed, the joiner blocks).
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
 *
 * Bound by bound (the default, `order: "iterative"`, as exhaustive.ts's iterative context
 * bounding, Musuvathi and Qadeer PLDI 2007): the reduced search runs at bound 0 to the end,
 * then at bound 1, ..., up to the bound, so the first failure found is one at the smallest
 * bound that has any, and a budget that runs out inside bound b leaves bounds < b complete
 * (`boundsCompleted`). Each level is the plain depth-first reduced search at that bound (so
 * each level is as sound as the single walk, by the argument above); what keeps the levels
 * from running the lower bounds' executions again is memoisation: an execution is named by
 * its decisions up to its last non-default choice (everything after is the non-preemptive
 * default, a function of that prefix, since the program is deterministic), and for each
 * execution of level b-1 the walk keeps what it needs to redo it without running it: the
 * choice points after that prefix (kind, options, current thread) and the backtrack points
 * its races added. At level b, a prefix met again is replayed from that record (no program
 * run, no oracle; its verdict was had at level b-1), and only the new prefixes run. Level b's
 * tree holds level b-1's (every frame's backtrack set grows with the bound, never shrinks),
 * so the runs summed over all levels are about the single walk's at the top bound.
 * `order: "depth-first"` is the single walk, kept for comparison.
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

export type BporOrder = "iterative" | "depth-first";

/** What redoing one execution of the level below takes (file comment: memoisation). */
interface Memo {
  /** The choice points after the execution's prefix, in order. */
  kinds: Uint8Array;
  currents: Int32Array;
  options: (readonly number[])[];
  /** The backtrack points its races added: choice index and thread, in pairs. */
  backtracks: Int32Array;
}

export class BporStrategy implements Strategy {
  readonly name = "bpor";
  readonly seed = 0;
  readonly wantsFootprints = true;
  readonly order: BporOrder;
  private frames: Frame[] = [];
  private depth = 0;
  private preemptions = 0;
  private exhausted = false;
  private started = false;
  /** Backtrack points added by races (including BPOR's conservative ones). */
  private races = 0;
  /** Races of a step with a thread it enabled (spawn, a lock's release, exit to a joiner): no backtrack. */
  private enablingRaces = 0;
  /** Backtrack choices dropped because they would exceed the bound. */
  private overBound = 0;
  // Bound by bound.
  private level: number;
  /** Level b-1's executions by prefix, and level b's, being recorded for b+1. */
  private below = new Map<string, Memo>();
  private recording = new Map<string, Memo>();
  /** The running execution: its prefix's key and length, and the backtrack points it adds. */
  private key = "";
  private prefixLength = 0;
  private added: number[] = [];
  /** Executions run at each level, and those replayed there from the level below. */
  private readonly perBound: number[] = [];
  private replayed = 0;
  /** Footprint objects as small ints, the same across executions (addRaces). */
  private readonly objectIds = new Map<string, number>();

  constructor(
    readonly preemptionBound: number,
    opts: { order?: BporOrder } = {},
  ) {
    if (!Number.isInteger(preemptionBound) || preemptionBound < 0) {
      throw new Error(`bpor: preemption bound must be a non-negative integer, got ${preemptionBound}`);
    }
    this.order = opts.order ?? "iterative";
    if (this.order !== "iterative" && this.order !== "depth-first")
      throw new Error(`bpor: order must be "iterative" or "depth-first", got "${String(opts.order)}"`);
    this.level = this.order === "iterative" ? 0 : preemptionBound;
  }

  get isExhausted(): boolean {
    return this.exhausted;
  }

  /** The bound being walked (depth-first: the bound). */
  get currentBound(): number {
    return this.level;
  }

  /** The largest b whose reduced search has run to its end (-1: not even bound 0's yet). */
  get boundsCompleted(): number {
    return this.exhausted ? this.preemptionBound : this.level - 1;
  }

  beginExecution(_index: number): boolean {
    if (this.exhausted) return false;
    if (this.started && !this.nextToRun()) {
      this.exhausted = true;
      return false;
    }
    this.started = true;
    this.depth = 0;
    this.preemptions = 0;
    this.added = [];
    this.perBound[this.level] = (this.perBound[this.level] ?? 0) + 1;
    return true;
  }

  /**
   * The next execution to run: the next backtrack point of this level, replaying from the
   * level below every one it has a record of; at a level's end, the next level's root.
   */
  private nextToRun(): boolean {
    for (;;) {
      const found = this.backtrackPoint();
      if (this.order === "depth-first") return found;
      if (!found) {
        if (this.level >= this.preemptionBound) return false;
        this.level++;
        this.below = this.recording;
        this.recording = new Map();
        this.frames = [];
      }
      this.key = this.frames.map((f) => f.chosen).join(",");
      this.prefixLength = this.frames.length;
      const memo = this.below.get(this.key);
      if (memo === undefined) return true;
      this.replay(memo);
    }
  }

  /** Redo a level-below execution from its record: its choice points, then its races' backtracks. */
  private replay(m: Memo): void {
    let preemptions = 0;
    for (const f of this.frames) if (isPreemption(f, f.chosen)) preemptions++;
    for (let i = 0; i < m.kinds.length; i++) {
      const kind = m.kinds[i] === 0 ? "thread" : "data";
      const options = m.options[i]!;
      const current = m.currents[i]!;
      const first = kind === "thread" && current !== -1 && options.includes(current) ? current : options[0]!;
      this.frames.push({
        kind,
        options,
        current,
        preemptionsBefore: preemptions,
        chosen: first,
        backtrack: new Set(kind === "data" ? options : [first]),
        done: new Set([first]),
      });
    }
    for (let i = 0; i < m.backtracks.length; i += 2)
      this.addBacktrack(this.frames[m.backtracks[i]!], m.backtracks[i + 1]!);
    this.replayed++;
    if (this.level < this.preemptionBound) this.recording.set(this.key, m);
  }

  /** The deepest frame with a choice left to walk within the bound; frames below it go. */
  private backtrackPoint(): boolean {
    while (this.frames.length > 0) {
      const f = this.frames[this.frames.length - 1]!;
      for (const c of [...f.backtrack].sort((a, b) => a - b)) {
        if (f.done.has(c)) continue;
        f.done.add(c);
        if (f.preemptionsBefore + (isPreemption(f, c) ? 1 : 0) > this.level) {
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
    if (this.order === "iterative" && this.level < this.preemptionBound) this.record();
  }

  /** Keep what level b+1 needs to redo this execution without running it (file comment). */
  private record(): void {
    const suffix = this.frames.slice(this.prefixLength);
    this.recording.set(this.key, {
      kinds: Uint8Array.from(suffix, (f) => (f.kind === "thread" ? 0 : 1)),
      currents: Int32Array.from(suffix, (f) => f.current),
      options: suffix.map((f) => f.options),
      backtracks: Int32Array.from(dedupePairs(this.added)),
    });
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
    // Vector clocks, one row of `threads` entries per step in one buffer (row n: the scratch
    // row of a pending step), and each thread's latest row (-1: none yet, the zero clock).
    const clocks = new Int32Array((n + 1) * threads);
    const threadRow = new Int32Array(threads).fill(-1);
    // Where the run of consecutive steps of one thread containing step i began.
    const blockStart = new Int32Array(n);
    for (let i = 0; i < n; i++)
      blockStart[i] = i > 0 && log.thread[i - 1] === log.thread[i] ? blockStart[i - 1]! : i;
    // Each thread's first step (n if it took none): the backward scan below stops once every
    // thread that has a step at or before the candidate is ordered past it (see there).
    const firstStep = new Int32Array(threads).fill(n);
    for (let i = n - 1; i >= 0; i--) firstStep[log.thread[i]!] = i;

    // Objects as small ints (ANY_OBJECT is -1), so that the backward scan below compares
    // numbers: string compares and array lookups there were most of a bpor execution's cost.
    // The numbering is kept across executions (the same objects come back in every one).
    const ids = this.objectIds;
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
      if (a === undefined) alsoIds.push(undefined);
      else {
        const ai = new Int32Array(a.length);
        for (let j = 0; j < a.length; j++) ai[j] = idOf(a[j]!);
        alsoIds.push(ai);
      }
    }
    for (const q of log.pending) idOf(q.object);
    // Steps on one object all conflict (footprint.ts: no read/write split), so each is ordered
    // after every older step on that object and its clock holds theirs; a step on ANY_OBJECT
    // is ordered after every step before it. So of the steps touching an object, only the
    // newest so far can race with a later step or add to its clock: per object (primary or
    // also) the newest step touching it, and the newest step on ANY_OBJECT (-1: none yet).
    const lastOn = new Int32Array(ids.size).fill(-1);
    let lastAny = -1;
    const index = (i: number): void => {
      if (prim[i] === -1) lastAny = i;
      else lastOn[prim[i]!] = i;
      const a = alsoIds[i];
      if (a !== undefined) for (const x of a) if (x !== -1) lastOn[x] = i;
    };
    // The candidate steps of one step's scan (those newest steps), reused across steps.
    let cands = new Int32Array(8);
    const raceWith = (
      p: number,
      prim0: number,
      also0: Int32Array | undefined,
      k: number,
      update: boolean,
    ): void => {
      // This step's clock starts as its thread's latest (program order) and joins the clock
      // of every earlier step it conflicts with.
      const c0 = k * threads;
      const from = threadRow[p]!;
      if (from < 0) clocks.fill(0, c0, c0 + threads);
      else clocks.copyWithin(c0, from * threads, from * threads + threads);
      const any = prim0 === -1;
      // Only the steps that touch one of this step's objects matter (the others do not
      // conflict with it and merge no clock), and of those only the newest per object
      // (above), walked newest first. A step on ANY_OBJECT meets all: it walks every step.
      let count = 0;
      if (!any) {
        const need = 2 + (also0?.length ?? 0);
        if (cands.length < need) cands = new Int32Array(need * 2);
        cands[count++] = lastAny;
        cands[count++] = lastOn[prim0]!;
        if (also0 !== undefined) for (const o of also0) if (o !== -1) cands[count++] = lastOn[o]!;
      }
      let all = k;
      for (;;) {
        let i = -1;
        if (any) i = --all;
        else {
          for (let j = 0; j < count; j++) if (cands[j]! > i) i = cands[j]!;
          for (let j = 0; j < count; j++) if (cands[j] === i) cands[j] = -1;
        }
        if (i < 0) break;
        // Nothing older can race with this step, nor add to its clock, once every other
        // thread with a step at or before i has a step at or after i ordered before this one:
        // clock[q] = j + 1 means step j of q happens before this step, so do all of q's steps
        // before j and, the clock being a join of step clocks, all of their pasts. The races
        // and the clock are the same as the full scan's; only the walk is shorter.
        let covered = true;
        for (let t = 0; t < threads; t++)
          if (t !== p && firstStep[t]! <= i && clocks[c0 + t]! <= i) {
            covered = false;
            break;
          }
        if (covered) break;
        const q = log.thread[i]!;
        if (q !== p && clocks[c0 + q]! <= i) {
          // i is not ordered before this step by anything in between: a race, unless i is
          // the step that enabled p (file comment: races with the step that enables a thread).
          if (log.enabled[i]?.includes(p) === true) this.enablingRaces++;
          else {
            this.races++;
            this.raceBacktrack(log.choice[i]!, p);
            this.raceBacktrack(log.choice[blockStart[i]!]!, p);
          }
        }
        const ci = i * threads;
        for (let t = 0; t < threads; t++)
          if (clocks[ci + t]! > clocks[c0 + t]!) clocks[c0 + t] = clocks[ci + t]!;
        // A step on ANY_OBJECT is ordered after every step before it: nothing older is left.
        if (prim[i] === -1) break;
      }
      if (update) {
        clocks[c0 + p] = k + 1;
        threadRow[p] = k;
        index(k);
      }
    };
    for (let k = 0; k < n; k++) raceWith(log.thread[k]!, prim[k]!, alsoIds[k], k, true);
    // The steps the threads still alive would have run next (an execution that failed).
    for (const { thread, object } of log.pending) raceWith(thread, idOf(object), undefined, n, false);
    // A failure ends the execution: the step that raised it disables every other thread, so
    // it conflicts with each thread's pending step whatever their objects (file comment).
    const last = n - 1;
    if (outcome.failure !== null && last >= 0) {
      const at = frameOf(log.choice[last]!);
      for (const { thread } of log.pending) {
        if (thread === log.thread[last] || at === undefined || !at.options.includes(thread)) continue;
        this.races++;
        this.raceBacktrack(log.choice[last]!, thread);
        this.raceBacktrack(log.choice[blockStart[last]!]!, thread);
      }
    }
  }

  /** A race's backtrack point at choice `choice`, kept for the replay at the next level. */
  private raceBacktrack(choice: number, p: number): void {
    if (choice < 0 || choice >= this.frames.length) return;
    this.addBacktrack(this.frames[choice], p);
    if (this.order === "iterative") this.added.push(choice, p);
  }

  private addBacktrack(f: Frame | undefined, p: number): void {
    if (f === undefined || f.kind !== "thread") return;
    if (f.options.includes(p)) f.backtrack.add(p);
    else for (const o of f.options) f.backtrack.add(o);
  }

  describe(): StrategyReport {
    return {
      name: this.name,
      params: {
        preemptionBound: this.preemptionBound,
        order: this.order,
        boundsCompleted: this.boundsCompleted,
        races: this.races,
        enablingRaces: this.enablingRaces,
        overBound: this.overBound,
        ...(this.order === "iterative"
          ? { executionsPerBound: this.perBound.map((n) => n ?? 0).join(","), replayed: this.replayed }
          : {}),
      },
      exhausted: this.exhausted,
    };
  }
}

/** The (choice, thread) pairs once each, in first-seen order. */
function dedupePairs(pairs: number[]): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const k = pairs[i]! * 4096 + pairs[i + 1]!;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(pairs[i]!, pairs[i + 1]!);
  }
  return out;
}

function isPreemption(f: Frame, chosen: number): boolean {
  return f.kind === "thread" && f.current !== -1 && chosen !== f.current && f.options.includes(f.current);
}

function sameOptions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
