/**
 * A scenario: a race in kernel terms, as data plus thread bodies, with the verdict each
 * variant is expected to reach and the exploration that establishes it.
 */
import type { Execution } from "@mnlab/sim";
import type { Verdict } from "../device/violations.ts";
import type { Kernel } from "../kernel.ts";
import type { MmStruct } from "../mm/mm.ts";
import type { DeviceContext, DriverModel } from "./driver-model.ts";

/** What a variant should come to, and why. */
export interface Expectation {
  verdict: Verdict;
  /** The kernel commit, thread or reference row that documents it. */
  ref?: string;
  /** Reasoning, where the reference does not settle the expectation. */
  note?: string;
  /**
   * Set on a 5.5 (interval) expectation whose verdict is a violation the merged kernel was
   * meant not to have: the model shows it, and it is kept as a finding rather than tuned
   * away. reports/findings.md lists every such expectation.
   */
  finding?: Finding;
}

/** A violation a 5.5 model shows that the merged kernel was meant not to have. */
export interface Finding {
  /** One paragraph: why the merged code does this. */
  explanation: string;
  /** The kernel lines that cause it: file, function, version (e.g. "mm/mmu_notifier.c: mn_hlist_invalidate_range_start() @5.5"). */
  lines: string[];
  /** What later kernels did to those lines, as far as the record says (findings-status). */
  later: string;
}

/** How a scenario is explored by default (the budget `mnlab test` and the reports use). */
export type ExplorationSpec = (
  | {
      strategy: "exhaustive";
      preemptionBound: number;
      executions: number;
      maxSteps?: number;
      /** Partial-order reduction (@mnlab/sim strategy/bpor.ts): absent or "bpor", reduced; "none", every schedule. */
      reduction?: "none" | "bpor";
    }
  | { strategy: "pct"; depth: number; executions: number; seed: number; maxSteps?: number }
  | { strategy: "random"; executions: number; seed: number; maxSteps?: number }
  /**
   * No strategy named: the portfolio (@mnlab/sim PortfolioStrategy) — random, exhaustive
   * search bound by bound (to `preemptionBound`, default 2) and PCT at depth 2 and 3, sharing
   * the budget in a fixed rotation; the record names the member that found each violation.
   */
  | { strategy?: "portfolio"; executions: number; seed?: number; preemptionBound?: number; maxSteps?: number }
) & {
  /**
   * Lock-order validation across executions (default true). false explores the kernel as
   * built without CONFIG_PROVE_LOCKING, so that a hang is reported as the hang: RDMA ODP 5.4
   * holds umem_rwsem from invalidate_range_start to _end, which the invalidate_range_start
   * lockdep map (mm/mmu_notifier.c, 23b68395c7c7, 5.4) reports at the first bracket, before the
   * documented nested-start deadlock (f25a546e6529) can be reached.
   */
  lockdep?: boolean;
};

/** What a scenario's body gets. The device context is open and the process set up. */
export interface ScenarioContext {
  ex: Execution;
  k: Kernel;
  /** The process's address space: a private RW anonymous VMA [BASE, BASE + pages), touched. */
  mm: MmStruct;
  driver: DriverModel;
  ctx: DeviceContext;
}

export interface Scenario {
  /** Reference label first (`V1-...`, `O2-...`), or the conformance name. */
  name: string;
  /** One paragraph in kernel terms: who races whom, what must hold. */
  description: string;
  /** Pages in the process's VMA (default 4). */
  pages?: number;
  /** The racing threads; the harness opens the context before and closes it after. */
  run(s: ScenarioContext): Promise<void>;
  /** Expected verdict per variant id; `default` applies to user-written variants. */
  expected: Record<string, Expectation>;
  exploration: ExplorationSpec;
  /**
   * A variant's own exploration, where it is not `exploration` (keys as in `expected`): a
   * 5.5 pass that must be an exhausted search at a higher bound than the 5.4 row needs to
   * reach its documented bug, when running the 5.4 row to that bound too would cost the
   * default run more than it tells. Resolved by explorationFor.
   */
  explorationByVariant?: Readonly<Record<string, ExplorationSpec>>;
}

/**
 * The expectation for a variant: its own entry, else `default`, else the interval one —
 * a migration patch is expected to do what the 5.5 conversion does.
 */
export function expectationFor(s: Scenario, variant: string): Expectation | undefined {
  return s.expected[variant] ?? s.expected.default ?? s.expected.interval;
}

/**
 * The exploration a variant runs: its own entry in `explorationByVariant`, else the scenario's.
 * A user-written variant (one with no entry in `expected`) is explored as the expectation it is
 * judged by (expectationFor): `default`'s, else the interval one's, so a migration patch gets
 * the search the 5.5 conversion's verdict rests on.
 */
export function explorationFor(s: Scenario, variant: string): ExplorationSpec {
  const by = s.explorationByVariant;
  if (by === undefined) return s.exploration;
  const key = variant in s.expected ? variant : "default" in s.expected ? "default" : "interval";
  return by[key] ?? s.exploration;
}

export function describeExploration(e: ExplorationSpec): string {
  const lockdep = e.lockdep === false ? ", lockdep off" : "";
  switch (e.strategy) {
    case "exhaustive":
      return `exhaustive (preemption bound ${e.preemptionBound}${e.reduction === "none" ? ", no reduction" : ", bpor"}, at most ${e.executions} executions${lockdep})`;
    case "pct":
      return `PCT (depth ${e.depth}, ${e.executions} executions, seed ${e.seed}${lockdep})`;
    case "random":
      return `random (${e.executions} executions, seed ${e.seed}${lockdep})`;
    case undefined:
    case "portfolio":
      return (
        `portfolio (random, exhaustive bound by bound to ${e.preemptionBound ?? 2}, PCT depth 2 and 3; ` +
        `${e.executions} executions, seed ${e.seed ?? 1}${lockdep})`
      );
  }
}
