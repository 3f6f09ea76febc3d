/**
 * Uniform random: at every choice, each runnable thread (or value) equally likely. Seeded.
 * This is fast-check's scheduler policy — fc.scheduler() resolves a uniformly drawn waiting
 * task at every point — as a uniform random walk down the tree of decision lists.
 *
 * Two options make it the walk the portfolio runs (strategy/portfolio.ts); both off by
 * default, so a scenario exploring with `random` runs exactly what it always did.
 *
 * `firstStepRuns: true` — a thread's start is not a decision of its own. Picking a thread
 * that has not run yet starts it, and its code up to its first scheduling point runs; the
 * runtime then offers a choice again before that first operation. The start step touches
 * nothing but the thread's own lifetime (footprint.ts: `thread#<id>`), so being preempted
 * there reaches the same state as not having been picked: the second draw only splits the
 * new thread's first turn in two and halves its odds against threads already running — a
 * bias of the runtime, not of the program. With the rule the walk keeps the thread it just
 * started at that point, so every draw is between the runnable threads' next operations, as
 * in fast-check, where a spawned body runs to its first scheduled point at once. (A thread
 * that has run only while it was the one runnable thread, and is then picked after a
 * wake-up, looks new too; it is then kept at its next point as well: a measure shift, not a
 * lost verdict — every schedule the walk runs is a real one.)
 *
 * `repeats: false` — the same walk conditioned on not running again a schedule that has
 * already run (sampling without replacement): it keeps the tree of decision lists run so far
 * and, per node, the share of every child's walk measure already run, and draws a child with
 * probability proportional to its walk probability times the share not yet run. That is the
 * walk restricted to the schedules not run, renormalised (a rejection sampler's distribution,
 * without the rejections). If the failing schedules have measure p under the walk, then given
 * that none has failed yet every execution fails with probability p / (1 - measure run) >= p,
 * so the executions to the first failure are stochastically no more than the plain walk's:
 * P(not found within t) <= (1-p)^t at every t. When the whole support has run, there is
 * nothing left to draw and beginExecution says false (this proves nothing about schedules
 * the walk never draws, those preempting a thread at its start).
 *
 * `observe(outcome)` records an execution another strategy ran (the portfolio's other
 * members), so it is not drawn again either. The tree holds at most `maxNodes` choice nodes
 * (default 1 << 18, a few tens of MB); a schedule that leaves a full tree runs as in the
 * plain walk and is not recorded — it may run again, the bound above still holds.
 */
import type { ExecutionOutcome } from "../execution.ts";
import { deriveSeed, makeRng, type Rng } from "../rng.ts";
import type { ChoicePoint } from "../scheduler.ts";
import type { Strategy, StrategyReport } from "./strategy.ts";

export interface RandomOptions {
  /** Keep a thread just started at its first point (default false: a draw there too). */
  firstStepRuns?: boolean;
  /** Run a schedule again (default true: the plain uniform walk, with replacement). */
  repeats?: boolean;
  /** repeats: false — most choice nodes kept (default 1 << 18). */
  maxNodes?: number;
}

/** One choice point of the tree of schedules run: what was offered, and what ran below it. */
interface WalkNode {
  kind: "thread" | "data";
  options: readonly number[];
  /** Position of the option the first-step rule keeps here (the walk draws nothing), else -1. */
  kept: number;
  /** Child per option; null: not reached yet; DONE: every schedule below it has run. */
  children: (WalkNode | typeof DONE | null)[];
  /** Share of each child's walk measure already run (1 exactly when done). */
  run: number[];
}

/** A subtree all of whose schedules (of positive walk measure) have run, or an execution's end. */
const DONE = "done" as const;

/**
 * The first-step rule over one execution's choices: which thread choice is the first point
 * of a thread the previous choice started. The walk and the record of a finished execution
 * apply it to the same choices, so they agree.
 */
class FirstStepRule {
  private seen = new Set<number>();
  private started = -1;
  private startedAt = -1;

  reset(): void {
    this.seen = new Set();
    this.started = -1;
    this.startedAt = -1;
  }

  /** Whether this thread choice keeps `current`: it is the first point of the thread just started. */
  keeps(options: readonly number[], current: number, step: number): boolean {
    return (
      current !== -1 && current === this.started && step === this.startedAt + 1 && options.includes(current)
    );
  }

  /** A thread choice was made. */
  note(current: number, chosen: number, step: number): void {
    const fresh = chosen !== current && !this.seen.has(chosen);
    if (current !== -1) this.seen.add(current);
    this.seen.add(chosen);
    this.started = fresh ? chosen : -1;
    this.startedAt = step;
  }
}

export class RandomStrategy implements Strategy {
  readonly name = "random";
  seed = 0;
  private rng: Rng = makeRng(0);
  private readonly repeats: boolean;
  private readonly firstStepRuns: boolean;
  private readonly maxNodes: number;
  private readonly rule = new FirstStepRule();
  // Without repeats: the tree, and where the current execution is in it.
  private root: WalkNode | null = null;
  private rootDone = false;
  private nodes = 0;
  /** This execution's node in the tree; null once it left the schedules run so far. */
  private at: WalkNode | null = null;
  /** Choices made so far in this execution. */
  private atDepth = 0;
  /** Schedules recorded in the tree: run by this strategy or observed. */
  private recorded = 0;

  constructor(
    private readonly baseSeed: number,
    opts: RandomOptions = {},
  ) {
    this.repeats = opts.repeats ?? true;
    this.firstStepRuns = opts.firstStepRuns ?? false;
    this.maxNodes = opts.maxNodes ?? 1 << 18;
    if (!Number.isInteger(this.maxNodes) || this.maxNodes < 1)
      throw new Error(`random: maxNodes must be a positive integer, got ${opts.maxNodes}`);
  }

  /** repeats: false — every schedule the walk can draw has run. */
  get isExhausted(): boolean {
    return this.rootDone;
  }

  beginExecution(index: number): boolean {
    if (!this.repeats && this.rootDone) return false;
    this.seed = deriveSeed(this.baseSeed, index);
    this.rng = makeRng(this.seed);
    this.at = null;
    this.atDepth = 0;
    this.rule.reset();
    return true;
  }

  pickThread(enabled: readonly number[], current: number, step: number): number {
    const keep = this.firstStepRuns && this.rule.keeps(enabled, current, step);
    let chosen: number;
    if (this.repeats) chosen = keep ? current : enabled[this.rng.int(0, enabled.length - 1)]!;
    else chosen = enabled[this.walk("thread", enabled, keep ? enabled.indexOf(current) : -1)]!;
    this.rule.note(current, chosen, step);
    return chosen;
  }

  pickData(n: number): number {
    if (this.repeats) return this.rng.int(0, n - 1);
    return this.walk("data", n, -1);
  }

  /** Position of the option drawn at this choice, among the schedules not run yet. */
  private walk(kind: "thread" | "data", offered: readonly number[] | number, kept: number): number {
    const n = typeof offered === "number" ? offered : offered.length;
    if (this.atDepth++ === 0) this.at = this.root;
    const node = this.at;
    let pick: number;
    if (node === null) {
      // Below a choice never taken before nothing has run: the plain walk is the right one.
      pick = kept >= 0 ? kept : this.rng.int(0, n - 1);
    } else {
      const options = typeof offered === "number" ? null : offered;
      if (
        node.kind !== kind ||
        node.options.length !== n ||
        node.kept !== kept ||
        (options !== null && !sameOptions(node.options, options))
      )
        throw new Error(
          `random: the program is not deterministic — choice ${this.atDepth - 1} offered ${kind} ` +
            `[${options === null ? `0..${n - 1}` : options.join(",")}] where an earlier execution saw ` +
            `${node.kind} [${node.options.join(",")}]`,
        );
      pick = kept >= 0 ? kept : this.draw(node);
      const child = node.children[pick];
      this.at = child === undefined || child === null || child === DONE ? null : child;
    }
    return pick;
  }

  /** A child with probability proportional to 1/n times its share not run yet. */
  private draw(node: WalkNode): number {
    const n = node.options.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += weight(node, i);
    // A draw in [0, total): 2^30 buckets resolve the shares well enough.
    let r = (this.rng.int(0, (1 << 30) - 1) / (1 << 30)) * total;
    let pick = -1;
    for (let i = 0; i < n; i++) {
      const w = weight(node, i);
      if (w === 0) continue;
      pick = i;
      if (r < w) break;
      r -= w;
    }
    return pick;
  }

  private make(kind: "thread" | "data", options: readonly number[], kept: number): WalkNode | null {
    if (this.nodes >= this.maxNodes) return null;
    this.nodes++;
    return {
      kind,
      options: [...options],
      kept,
      children: new Array<WalkNode | typeof DONE | null>(options.length).fill(null),
      run: new Array<number>(options.length).fill(0),
    };
  }

  endExecution(outcome: ExecutionOutcome): void {
    if (!this.repeats) this.observe(outcome);
  }

  /**
   * Record a schedule as run (one of this strategy's, or another's): it is not drawn again.
   * A schedule that does not fit in the tree any more is left out (it may run again).
   */
  observe(outcome: ExecutionOutcome): void {
    if (this.repeats || this.rootDone) return;
    this.record(outcome.choices);
  }

  private record(choices: readonly ChoicePoint[]): void {
    if (choices.length === 0) {
      this.rootDone = true;
      this.recorded++;
      return;
    }
    const rule = new FirstStepRule();
    // Walk (and grow) the path: the nodes and picks, to update the shares bottom-up.
    const path: { node: WalkNode; pick: number }[] = [];
    let node: WalkNode | null = this.root;
    for (const [d, c] of choices.entries()) {
      const kept =
        c.kind === "thread" && this.firstStepRuns && rule.keeps(c.options, c.current, c.step)
          ? c.options.indexOf(c.current)
          : -1;
      if (c.kind === "thread") rule.note(c.current, c.chosen, c.step);
      if (node === null) {
        const made = this.make(c.kind, c.options, kept);
        if (made === null) return; // the tree is full: not recorded
        if (d === 0) this.root = made;
        else {
          const parent = path[d - 1]!;
          parent.node.children[parent.pick] = made;
        }
        node = made;
      } else if (node.kind !== c.kind || node.kept !== kept || !sameOptions(node.options, c.options)) {
        throw new Error(
          `random: the program is not deterministic — decision ${d} offered ${c.kind} [${c.options.join(",")}] ` +
            `where an earlier execution saw ${node.kind} [${node.options.join(",")}]`,
        );
      }
      const pick = node.options.indexOf(c.chosen);
      if (pick < 0)
        throw new Error(`random: decision ${d} chose ${c.chosen}, not among [${c.options.join(",")}]`);
      path.push({ node, pick });
      const next: WalkNode | typeof DONE | null = node.children[pick] ?? null;
      if (next === DONE) return; // already run (a repeat, observed from another member)
      node = next;
    }
    // The path went on below its last pick in an earlier run: not the same program.
    if (node !== null) return;
    this.recorded++;
    // Bottom-up: the leaf's share of each child's walk measure, and which children are now done.
    let share = 1;
    let done = true;
    for (let d = path.length - 1; d >= 0; d--) {
      const { node: nd, pick } = path[d]!;
      if (done) {
        nd.children[pick] = DONE;
        nd.run[pick] = 1;
      } else nd.run[pick] = Math.min(1, nd.run[pick]! + share);
      share *= nd.kept >= 0 ? (pick === nd.kept ? 1 : 0) : 1 / nd.options.length;
      done = done && (nd.kept >= 0 ? nd.children[nd.kept] === DONE : nd.children.every((c) => c === DONE));
    }
    if (done) this.rootDone = true;
  }

  describe(): StrategyReport {
    const params: Record<string, number | string> = { seed: this.baseSeed };
    if (this.firstStepRuns) params.firstStepRuns = "yes";
    if (!this.repeats) {
      params.repeats = "no";
      params.schedulesRecorded = this.recorded;
    }
    return { name: this.name, params };
  }
}

/** Unnormalised probability of drawing child i: 1/n of the walk, times the share not run. */
function weight(node: WalkNode, i: number): number {
  if (node.children[i] === DONE) return 0;
  // Rounding can leave a share a hair from 1 before the subtree is done: keep it drawable.
  return Math.max(1 - node.run[i]!, 1e-12);
}

function sameOptions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
