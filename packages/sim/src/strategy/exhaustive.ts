/**
 * Bounded exhaustive search with iterative context bounding (Musuvathi and Qadeer, PLDI 2007
 * — the CHESS search): every schedule with 0 preemptions, then every schedule with exactly
 * 1, then exactly 2, up to the bound. The first failure found is therefore one with the
 * fewest preemptions any failing schedule has, and when the budget runs out inside bound b,
 * every schedule with fewer than b preemptions has run (`boundsCompleted` says how far).
 *
 * Switching away from a thread that could go on is a preemption; choosing among threads after
 * the running one blocked or ended is free. Data choices are walked completely.
 *
 * How each schedule runs exactly once: a schedule with b preemptions is named by its prefix
 * up to and including its b-th preemption, followed by a preemption-free continuation. Bound
 * b works through a queue of such prefixes; for each it walks the continuations depth-first
 * over the free choices, and every preemptive alternative met on the way is queued, as a
 * prefix, for bound b+1 — once, when its choice point is first reached. A prefix holds a
 * reference to the decision list of the execution that met it (shared by all the prefixes
 * that execution queued) and a length, so the queue costs a few words per entry.
 *
 * Within a bound, the queued prefixes are walked in a seeded shuffle (fixed seed: the order
 * is the same on every run) rather than in the order they were met: met order puts every
 * preemption of one schedule before any of the next, so a bug that needs its preemption in
 * a schedule met late waits behind all of them. Measured on a seqcount reader racing two
 * writers: the one-preemption torn read at execution 47 in met order, 31 in reverse, 16
 * shuffled, after the 13 preemption-free schedules (the depth-first walk: 20 at bound 2,
 * 29 at bound 3).
 *
 * `order: "depth-first"` keeps the earlier walk (one depth-first pass over all schedules
 * within the bound, in decision order), for comparison: it reaches a two-preemption bug at
 * bound 3 later than at bound 2, because it goes deep before it goes wide.
 *
 * The program must be deterministic given its decisions; a divergence is reported as an
 * error. No partial-order reduction is applied here; bpor.ts is the same bounded search with
 * one (`reduction: "bpor"` in make.ts), and this walk is what it is checked against.
 */
import type { ExecutionOutcome } from "../execution.ts";
import { makeRng, type Rng } from "../rng.ts";
import type { Strategy, StrategyReport } from "./strategy.ts";

export type ExhaustiveOrder = "iterative" | "depth-first";

interface Frame {
  kind: "thread" | "data";
  options: readonly number[];
  /** Alternatives walked here, in order: for a thread that could go on, only itself. */
  order: number[];
  pos: number;
  current: number;
  /** Depth-first walk only: preemptions taken before this choice. */
  preemptionsBefore: number;
}

/** The decisions of one execution, shared by every prefix it queued. */
interface PathHolder {
  decisions: number[] | Int32Array;
}

/** A schedule's decisions up to its last preemption: holder.decisions[0..length) then `last`. */
interface Prefix {
  holder: PathHolder | null;
  length: number;
  last: number;
}

/** Fixed: the walk order is part of the strategy, the same on every run. */
const SHUFFLE_SEED = 0x1cb;
const ROOT: Prefix = { holder: null, length: 0, last: -1 };

export class ExhaustiveStrategy implements Strategy {
  readonly name = "exhaustive";
  readonly seed = 0;
  readonly order: ExhaustiveOrder;
  private frames: Frame[] = [];
  private depth = 0;
  private preemptions = 0;
  private exhausted = false;
  // Iterative context bounding.
  private level = 0;
  /** Prefixes of the current bound; the first execution takes ROOT, bound 0's only one. */
  private queue: Prefix[] = [ROOT];
  private queueAt = 1;
  private nextQueue: Prefix[] = [];
  private prefix: Prefix = ROOT;
  private prefixLength = 0;
  private path: PathHolder = { decisions: [] };
  private pathShared = false;
  /** Executions run at each bound (iterative order). */
  private readonly perBound: number[] = [];

  constructor(
    readonly preemptionBound: number,
    opts: { order?: ExhaustiveOrder } = {},
  ) {
    if (!Number.isInteger(preemptionBound) || preemptionBound < 0) {
      throw new Error(`exhaustive: preemption bound must be a non-negative integer, got ${preemptionBound}`);
    }
    this.order = opts.order ?? "iterative";
    if (this.order !== "iterative" && this.order !== "depth-first")
      throw new Error(`exhaustive: order must be "iterative" or "depth-first", got "${String(opts.order)}"`);
  }

  get isExhausted(): boolean {
    return this.exhausted;
  }

  /** Iterative order: the bound whose schedules are being run (exactly this many preemptions). */
  get currentBound(): number {
    return this.order === "iterative" ? this.level : this.preemptionBound;
  }

  /**
   * The largest b such that every schedule with at most b preemptions has run (-1: not even
   * all preemption-free ones yet). Depth-first: only known once exhausted.
   */
  get boundsCompleted(): number {
    if (this.exhausted) return this.preemptionBound;
    return this.order === "iterative" ? this.level - 1 : -1;
  }

  beginExecution(index: number): boolean {
    if (this.exhausted) return false;
    if (index > 0 && !(this.order === "iterative" ? this.advance() : this.backtrack())) {
      this.exhausted = true;
      return false;
    }
    this.depth = 0;
    this.preemptions = 0;
    if (this.order === "iterative") {
      this.path = { decisions: [] };
      this.pathShared = false;
      this.perBound[this.level] = (this.perBound[this.level] ?? 0) + 1;
    }
    return true;
  }

  /** Iterative: the next free alternative under this prefix, else the next prefix, else the next bound. */
  private advance(): boolean {
    while (this.frames.length > 0) {
      const f = this.frames[this.frames.length - 1]!;
      if (f.pos + 1 < f.order.length) {
        f.pos++;
        return true;
      }
      this.frames.pop();
    }
    for (;;) {
      if (this.queueAt < this.queue.length) {
        const at = this.queueAt;
        const p = this.queue[at]!;
        // Drop the reference: a walked prefix need not keep its execution's decisions alive.
        this.queue[at] = ROOT;
        this.queueAt++;
        this.prefix = p;
        this.prefixLength = p.holder === null ? 0 : p.length + 1;
        return true;
      }
      if (this.level >= this.preemptionBound || this.nextQueue.length === 0) return false;
      this.level++;
      shuffle(this.nextQueue, makeRng(SHUFFLE_SEED + this.level));
      this.queue = this.nextQueue;
      this.queueAt = 0;
      this.nextQueue = [];
    }
  }

  private prefixDecision(i: number): number {
    const p = this.prefix;
    return i < p.length ? p.holder!.decisions[i]! : p.last;
  }

  /** Depth-first: the deepest choice with an untried alternative within the bound. */
  private backtrack(): boolean {
    while (this.frames.length > 0) {
      const f = this.frames[this.frames.length - 1]!;
      for (let pos = f.pos + 1; pos < f.order.length; pos++) {
        const cost = f.preemptionsBefore + (isPreemption(f, f.order[pos]!) ? 1 : 0);
        if (cost <= this.preemptionBound) {
          f.pos = pos;
          return true;
        }
      }
      this.frames.pop();
    }
    return false;
  }

  private choose(kind: "thread" | "data", options: readonly number[], current: number): number {
    const i = this.depth++;
    if (this.order === "iterative" && i < this.prefixLength) {
      const chosen = this.prefixDecision(i);
      if (!options.includes(chosen)) {
        throw new Error(
          `exhaustive: the program is not deterministic — decision ${i} offered ${kind} [${options.join(",")}] ` +
            `where an earlier execution chose ${chosen}`,
        );
      }
      if (kind === "thread" && current !== -1 && chosen !== current && options.includes(current))
        this.preemptions++;
      (this.path.decisions as number[]).push(chosen);
      return chosen;
    }
    const j = this.order === "iterative" ? i - this.prefixLength : i;
    let f = this.frames[j];
    if (f !== undefined) {
      if (f.kind !== kind || !sameOptions(f.options, options) || f.current !== current) {
        throw new Error(
          `exhaustive: the program is not deterministic — decision ${i} offered ${kind} [${options.join(",")}] ` +
            `(current ${current}) where an earlier execution saw ${f.kind} [${f.options.join(",")}] (current ${f.current})`,
        );
      }
    } else {
      const canGoOn = kind === "thread" && current !== -1 && options.includes(current);
      const first = canGoOn ? current : options[0]!;
      const rest = options.filter((o) => o !== first);
      if (this.order === "iterative" && canGoOn) {
        // Each preemption here is a schedule of the next bound: queue it, walk only `current`.
        if (this.level < this.preemptionBound) {
          this.pathShared = true;
          for (const alt of rest) this.nextQueue.push({ holder: this.path, length: i, last: alt });
        }
        f = { kind, options, order: [first], pos: 0, current, preemptionsBefore: 0 };
      } else {
        f = { kind, options, order: [first, ...rest], pos: 0, current, preemptionsBefore: this.preemptions };
      }
      this.frames.push(f);
    }
    const chosen = f.order[f.pos]!;
    if (isPreemption(f, chosen)) this.preemptions++;
    if (this.order === "iterative") (this.path.decisions as number[]).push(chosen);
    return chosen;
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

  endExecution(_outcome: ExecutionOutcome): void {
    // An execution that ended early (a failure) made fewer decisions than the walk held.
    const walked = this.order === "iterative" ? Math.max(0, this.depth - this.prefixLength) : this.depth;
    this.frames.length = Math.min(this.frames.length, walked);
    // Queued prefixes keep this execution's decisions: store them compactly.
    if (this.order === "iterative" && this.pathShared)
      this.path.decisions = Int32Array.from(this.path.decisions as number[]);
  }

  describe(): StrategyReport {
    const params: Record<string, number | string> = {
      preemptionBound: this.preemptionBound,
      order: this.order,
      boundsCompleted: this.boundsCompleted,
    };
    if (this.order === "iterative") params.executionsPerBound = this.perBound.map((n) => n ?? 0).join(",");
    return { name: this.name, params, exhausted: this.exhausted };
  }
}

/** Fisher-Yates, seeded: the order a bound's prefixes are walked in (see the file comment). */
function shuffle<T>(q: T[], rng: Rng): void {
  for (let i = q.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = q[i]!;
    q[i] = q[j]!;
    q[j] = t;
  }
}

function isPreemption(f: Frame, chosen: number): boolean {
  return f.kind === "thread" && f.current !== -1 && chosen !== f.current && f.options.includes(f.current);
}

function sameOptions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
