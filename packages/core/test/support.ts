// Shared by the kernel-side tests: running programs under the explorer and asserting on the
// result, and two test-only "drivers" that hold an invalidation open on purpose so a test can
// act while the core sits in a chosen state (partial or full exclusion).
import {
  Completion,
  type Execution,
  type ExecutionOutcome,
  ExhaustiveStrategy,
  type ExploreResult,
  explore,
  formatTrace,
  Lockdep,
  type Program,
  runExecution,
  type Strategy,
} from "@mnlab/sim";
import { expect } from "vitest";
import {
  type ConformanceScenario,
  installCoreInvariants,
  installDeviceOracles,
  Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  MmuNotifier,
  type MmuNotifierEvent,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
  PAGE_SIZE,
  scenarioProgram,
} from "../src/index.ts";
import { referenceDriver } from "./reference-driver.ts";

export const BASE = 0x10000;
export const P = PAGE_SIZE;

/** A private anonymous read-write VMA of `pages` pages at `start`. */
/** A kernel with the core invariants and device oracles installed, and one anonymous VMA at BASE. */
export function setupKernel(ex: Execution, pages: number): { k: Kernel; mm: MmStruct } {
  const k = new Kernel(ex);
  installCoreInvariants(k);
  installDeviceOracles(k);
  const mm = k.createMm();
  anonVma(mm, BASE, pages);
  return { k, mm };
}

export function anonVma(mm: MmStruct, start: number, pages: number): void {
  mm.addVma(start, start + pages * P, { read: true, write: true, shared: false });
}

/** One execution, recorded (trace kept), non-preemptive unless a strategy is given. */
export async function runOne(program: Program, strategy: Strategy = new ExhaustiveStrategy(0)) {
  if (!strategy.beginExecution(0)) throw new Error("strategy refused to begin");
  const outcome: ExecutionOutcome = await runExecution(program, strategy, new Lockdep(true), 10_000, true);
  strategy.endExecution(outcome);
  return outcome;
}

/** Failure details good enough to debug from the test log. */
export function describeFailure(r: { failure: ExploreResult["failure"]; replay?: string | null }): string {
  const f = r.failure;
  if (f === null) return "no failure";
  const trace = f.trace === undefined ? "" : `\n${formatTrace(f.trace.slice(-40))}`;
  return `${f.kind}: ${f.message}${r.replay ? `\nreplay: ${r.replay}` : ""}${trace}`;
}

/** The execution passed: no failure of any kind. */
export function expectPass(o: ExecutionOutcome): void {
  if (o.failure !== null) throw new Error(describeFailure(o));
}

/**
 * Bounded exhaustive search of `program` at `bound` preemptions; asserts the bounded space
 * was walked completely and that no execution failed. Returns the result for counting.
 */
export async function exhaustClean(
  program: Program,
  bound: number,
  budget = 100_000,
): Promise<ExploreResult> {
  const r = await explore(program, { strategy: new ExhaustiveStrategy(bound), executions: budget });
  if (r.failure !== null) throw new Error(describeFailure(r));
  expect(r.exhausted).toBe(true);
  return r;
}

/** Bounded exhaustive search expected to find a failure; returns the (shrunk) result. */
export async function exhaustFinds(
  program: Program,
  bound: number,
  budget = 100_000,
): Promise<ExploreResult> {
  const r = await explore(program, { strategy: new ExhaustiveStrategy(bound), executions: budget });
  expect(r.failure, `exhaustive bound ${bound} over ${r.executions} executions found nothing`).not.toBeNull();
  return r;
}

export interface CallbackRecord {
  event: MmuNotifierEvent;
  start: number;
  end: number;
  blockable: boolean;
  curSeq: number;
}

/**
 * A test-only interval "driver" that holds an invalidation open: its callback records the
 * call, calls set_seq, signals `entered` and sleeps until `release` is completed. While it
 * sleeps the mm is fully excluded (seq odd, active > 0). Blockable ranges only.
 */
export class GateNotifier {
  readonly sub: MmuIntervalNotifier;
  readonly entered: Completion;
  readonly release: Completion;
  readonly calls: CallbackRecord[] = [];

  constructor(
    readonly k: Kernel,
    readonly mm: MmStruct,
    readonly start: number,
    readonly end: number,
    readonly name = "gate",
  ) {
    this.sub = new MmuIntervalNotifier(`${name}.mni`);
    this.entered = new Completion(k.ex, `${name}->entered`);
    this.release = new Completion(k.ex, `${name}->release`);
  }

  insert(): Promise<number> {
    return mmuIntervalNotifierInsert(this.sub, this.mm, this.start, this.end - this.start, {
      invalidate: async (sub, range, curSeq) => {
        this.calls.push({ ...pick(range), curSeq });
        await mmuIntervalSetSeq(sub, curSeq);
        await this.entered.complete();
        await this.release.wait();
        return true;
      },
    });
  }

  remove(): Promise<void> {
    return mmuIntervalNotifierRemove(this.sub);
  }
}

/**
 * A test-only classic mmu_notifier whose invalidate_range_start sleeps until released. The
 * interval core counts a range before the hlist runs, so a range held open here and hitting
 * no interval notifier keeps the mm partially excluded (active > 0, seq even).
 */
export class ClassicGate {
  readonly sub: MmuNotifier;
  readonly entered: Completion;
  readonly release: Completion;
  starts = 0;
  ends = 0;

  constructor(
    readonly k: Kernel,
    readonly mm: MmStruct,
    name = "classic",
  ) {
    this.entered = new Completion(k.ex, `${name}->entered`);
    this.release = new Completion(k.ex, `${name}->release`);
    this.sub = new MmuNotifier(name, {
      invalidateRangeStart: async () => {
        this.starts++;
        await this.entered.complete();
        await this.release.wait();
        return 0;
      },
      invalidateRangeEnd: async () => {
        this.ends++;
      },
    });
  }

  register(): Promise<number> {
    return mmuNotifierRegister(this.sub, this.mm);
  }
}

function pick(r: { event: MmuNotifierEvent; start: number; end: number; blockable: boolean }) {
  return { event: r.event, start: r.start, end: r.end, blockable: r.blockable };
}

/**
 * Explore conformance scenario `c` on the textbook 5.5 user (reference-driver.ts) at `bound`,
 * unreduced and traced, handing each execution to `visit` until it returns true (what the test
 * looks for was seen: the rest of the space is the scenario suites' work), the bounded space
 * ends, or 20,000 executions ran. Returns the failures met and the executions run.
 */
export async function exploreConformance(
  c: ConformanceScenario,
  bound: number,
  visit: (o: ExecutionOutcome) => boolean,
): Promise<{ failures: string[]; executions: number }> {
  const program = scenarioProgram(referenceDriver("interval"), { ...c, expected: {} });
  const strategy = new ExhaustiveStrategy(bound);
  const failures: string[] = [];
  let executions = 0;
  for (let i = 0; i < 20_000 && strategy.beginExecution(i); i++) {
    const o = await runExecution(program, strategy, new Lockdep(true), 10_000, true);
    strategy.endExecution(o);
    executions++;
    if (o.failure !== null) failures.push(`${o.failure.kind}: ${o.failure.message}`);
    if (visit(o)) break;
  }
  return { failures, executions };
}
