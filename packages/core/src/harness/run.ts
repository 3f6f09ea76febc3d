/**
 * Running a scenario on a driver variant: assemble the program (kernel, oracles, end
 * checks, the process, the opened device context, the scenario's threads), explore it with
 * the scenario's strategy and budget, and turn the outcome into a result record — the unit
 * of `mnlab test --json`, of reports/data/results.json, and of the vitest suites.
 *
 * Everything in a record but `wallMs` follows from the seeds and budgets: records are
 * reproducible to the byte.
 */
import {
  type ExecutionOutcome,
  type ExploreResult,
  encodeToken,
  explore,
  makeStrategy,
  PortfolioStrategy,
  type Program,
  type RecordedExecution,
  replay,
  type StepStats,
  type ThreadSnapshot,
  type TraceEvent,
} from "@mnlab/sim";
import type { AccessResult, DeviceMmu } from "../device/device-mmu.ts";
import { installDeviceOracles, SWITCHABLE_ORACLES, type SwitchableOracle } from "../device/device-mmu.ts";
import type { Verdict } from "../device/violations.ts";
import { errname } from "../errno.ts";
import { Kernel } from "../kernel.ts";
import { installCoreInvariants } from "../notifier/invariants.ts";
import type { BufferHandle, DeviceContext, DriverModel } from "./driver-model.ts";
import { installEndChecks } from "./end-checks.ts";
import {
  describeExploration,
  type ExplorationSpec,
  expectationFor,
  explorationFor,
  type Scenario,
} from "./scenario.ts";
import { setupProcess } from "./setup.ts";

/** Counter a driver's populate loop bumps on every retry (read_retry true, -EBUSY, invalid range). */
export const POPULATE_RETRY = "populate_retry";

/** Virtual-time metrics, per execution or per populate, averaged over the executions run. */
export interface Metrics {
  /** populate() calls per execution. */
  populates: number;
  /** Driver retries per populate() call. */
  retriesPerPopulate: number;
  /** Ticks threads spent blocked, per execution. */
  ticksBlocked: number;
  /** Invalidation callbacks into driver code, per execution. */
  callbacks: number;
  /** Ticks locks were held, per execution. */
  lockHoldTicks: number;
}

/** One distinct violation kind an exploration reached, with its own counterexample. */
export interface ViolationRecord {
  kind: Verdict | string;
  /** 1-based execution at which this kind was first reached. */
  firstFailureAt: number;
  /** Portfolio exploration: the member strategy that ran that execution ("pct d=3", ...). */
  foundBy?: string | null;
  message: string;
  /** `mnlab replay` token of its shrunk counterexample. */
  replay: string;
  trace: TraceEvent[] | null;
  threads: ThreadSnapshot[];
}

export interface ResultRecord {
  driver: string;
  variant: string;
  scenario: string;
  verdict: Verdict | string;
  expected: Verdict | null;
  expectedRef: string | null;
  asExpected: boolean;
  strategy: string;
  exploration: ExplorationSpec;
  executions: number;
  exhausted: boolean;
  /** 1-based execution at which the first violation was found. */
  firstFailureAt: number | null;
  /** Portfolio exploration (a scenario naming no strategy): the member that found it. */
  foundBy?: string | null;
  message: string | null;
  /** `mnlab replay` token of the shrunk counterexample. */
  replay: string | null;
  trace: TraceEvent[] | null;
  threads: ThreadSnapshot[] | null;
  /**
   * Every distinct violation kind the exploration reached, in the order first reached; the
   * first is `verdict` (and `firstFailureAt`, `message`, `replay`, `trace`, `threads`).
   * Empty on a pass. The exploration goes on after a violation, so a lockdep report does not
   * hide what else the schedules do.
   */
  violations: ViolationRecord[];
  /**
   * Token of the first execution that passed with the driver's populate loop retrying (read_retry
   * true, -EBUSY, an invalid range): the path where the retry protocol earned its keep; null when
   * none retried. It replays with lockdep off, which cannot change a passing schedule.
   */
  retryPath?: string | null;
  steps: StepStats;
  metrics: Metrics;
  /** Device oracles switched off for the run (RunOverrides.oraclesOff); absent when none was. */
  oraclesOff?: SwitchableOracle[];
}

/** Budget overrides from the command line. */
export interface RunOverrides {
  strategy?: "random" | "pct" | "exhaustive" | "portfolio";
  executions?: number;
  seed?: number;
  preemptionBound?: number;
  /** Exhaustive search only: "bpor" reduces it (@mnlab/sim strategy/bpor.ts), "none" does not. */
  reduction?: "none" | "bpor";
  depth?: number;
  maxSteps?: number;
  timeBudgetMs?: number;
  /**
   * Device oracles switched off for this run (default: MNLAB_ORACLES_OFF, a comma-separated
   * list, else none): `unsafe-map` leaves a bad mapping to the semantic oracles.
   */
  oraclesOff?: readonly SwitchableOracle[];
  onProgress?: (p: { executions: number; failures: number; elapsedMs: number }) => void;
}

/** Wrap a context so the harness can count populates and know whether it was closed. */
function instrument(
  ctx: DeviceContext,
  k: Kernel,
  closed: DeviceMmu[],
): DeviceContext & { isClosed: boolean } {
  const w = {
    isClosed: false,
    get mmus() {
      return ctx.mmus;
    },
    register: (start: number, len: number, opts: { write: boolean }) => ctx.register(start, len, opts),
    populate: (buf: BufferHandle, start: number, end: number, write: boolean) => {
      k.ex.count("populate");
      return ctx.populate(buf, start, end, write);
    },
    access: (buf: BufferHandle, addr: number, write: boolean): Promise<AccessResult | number> =>
      ctx.access(buf, addr, write),
    unregister: (buf: BufferHandle) => ctx.unregister(buf),
    close: async () => {
      if (w.isClosed) return;
      w.isClosed = true;
      await ctx.close();
      for (const m of ctx.mmus) {
        m.closed = true;
        closed.push(m);
      }
    },
  };
  return w;
}

/**
 * The device oracles switched off: `overrides.oraclesOff`, else the environment's
 * MNLAB_ORACLES_OFF (so `MNLAB_ORACLES_OFF=unsafe-map mnlab test ...` reaches the workers).
 * An unknown name is an Error.
 */
export function oraclesOff(overrides: RunOverrides = {}): SwitchableOracle[] {
  const given = overrides.oraclesOff ?? (process.env.MNLAB_ORACLES_OFF ?? "").split(",");
  const names = given.map((n) => n.trim()).filter((n) => n !== "");
  for (const n of names) {
    if (!(SWITCHABLE_ORACLES as readonly string[]).includes(n))
      throw new Error(`unknown oracle to switch off: ${n} (known: ${SWITCHABLE_ORACLES.join(", ")})`);
  }
  return [...new Set(names as SwitchableOracle[])].sort();
}

/** The whole program of one (variant, scenario) execution. */
export function scenarioProgram(
  driver: DriverModel,
  scenario: Scenario,
  opts: { oraclesOff?: readonly SwitchableOracle[] } = {},
): Program {
  const unsafeMap = !(opts.oraclesOff ?? []).includes("unsafe-map");
  return async (ex) => {
    const k = new Kernel(ex);
    const closed: DeviceMmu[] = [];
    installCoreInvariants(k);
    installDeviceOracles(k, { unsafeMap });
    installEndChecks(k, () => closed);
    const mm = setupProcess(k, scenario.pages ?? 4);
    const opened = await driver.open(k, mm);
    if (typeof opened === "number") {
      return ex.fail(
        "exception",
        `${driver.info.driver}/${driver.info.id}: open() returned ${errname(opened)}`,
      );
    }
    const ctx = instrument(opened, k, closed);
    await scenario.run({ ex, k, mm, driver, ctx });
    await ctx.close();
  };
}

function effectiveExploration(spec: ExplorationSpec, o: RunOverrides): ExplorationSpec {
  // A scenario that names no strategy is explored by the portfolio.
  const strategy = o.strategy ?? spec.strategy ?? "portfolio";
  const executions = o.executions ?? spec.executions;
  const maxSteps = o.maxSteps ?? spec.maxSteps;
  const seed = o.seed ?? ("seed" in spec ? (spec.seed ?? 1) : 1);
  const bound =
    o.preemptionBound ??
    (spec.strategy === "exhaustive" || spec.strategy === undefined || spec.strategy === "portfolio"
      ? (spec.preemptionBound ?? 2)
      : 2);
  // Exhaustive search is reduced by default (bounded partial-order reduction, @mnlab/sim
  // strategy/bpor.ts): the same verdicts and violation kinds as the unreduced search on every
  // scenario of the repository, at about a fifth of the executions; "none" walks every schedule.
  const reduction = o.reduction ?? (spec.strategy === "exhaustive" ? spec.reduction : undefined) ?? "bpor";
  const base: ExplorationSpec =
    strategy === "exhaustive"
      ? { strategy, preemptionBound: bound, executions, reduction }
      : strategy === "pct"
        ? { strategy, depth: o.depth ?? (spec.strategy === "pct" ? spec.depth : 3), executions, seed }
        : strategy === "portfolio"
          ? { strategy, preemptionBound: bound, executions, seed }
          : { strategy, executions, seed };
  const withSteps = maxSteps === undefined ? base : { ...base, maxSteps };
  return spec.lockdep === undefined ? withSteps : { ...withSteps, lockdep: spec.lockdep };
}

/** Harness replay tokens name the scenario too: `driver:variant:scenario:v1...`. */
export function harnessToken(driver: string, variant: string, scenario: string, simToken: string): string {
  return `${driver}:${variant}:${scenario}:${simToken}`;
}

export function parseHarnessToken(token: string): {
  driver: string;
  variant: string;
  scenario: string;
  sim: string;
} {
  const parts = token.trim().split(":");
  if (parts.length !== 4 || parts.some((p) => p === "")) {
    throw new Error(`replay token must look like driver:variant:scenario:v1...: ${token.slice(0, 60)}`);
  }
  const [driver, variant, scenario, sim] = parts as [string, string, string, string];
  return { driver, variant, scenario, sim };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function metricsOf(r: ExploreResult): Metrics {
  const n = Math.max(1, r.executions);
  const c = r.counters;
  const populates = c.populate ?? 0;
  return {
    populates: round(populates / n),
    retriesPerPopulate: round(populates === 0 ? 0 : (c[POPULATE_RETRY] ?? 0) / populates),
    ticksBlocked: round((c.ticks_blocked ?? 0) / n),
    callbacks: round((c.callbacks ?? 0) / n),
    lockHoldTicks: round((c.lock_hold_ticks ?? 0) / n),
  };
}

export async function runScenario(
  driver: DriverModel,
  scenario: Scenario,
  overrides: RunOverrides = {},
): Promise<ResultRecord> {
  const spec = effectiveExploration(explorationFor(scenario, driver.info.id), overrides);
  const strategy = makeStrategy(
    spec.strategy === "exhaustive"
      ? { name: "exhaustive", preemptionBound: spec.preemptionBound, reduction: spec.reduction ?? "bpor" }
      : spec.strategy === "pct"
        ? { name: "pct", seed: spec.seed, depth: spec.depth }
        : spec.strategy === "random"
          ? { name: "random", seed: spec.seed }
          : { name: "portfolio", seed: spec.seed ?? 1, preemptionBound: spec.preemptionBound ?? 2 },
  );
  /** Portfolio: the member that ran a (1-based) execution. */
  const foundBy = (at: number) =>
    strategy instanceof PortfolioStrategy ? { foundBy: strategy.memberAt(at - 1) } : {};
  let retried: RecordedExecution | null = null;
  const off = oraclesOff(overrides);
  const r = await explore(scenarioProgram(driver, scenario, { oraclesOff: off }), {
    strategy,
    stopOnFailure: false,
    onExecution: (o) => {
      if (retried === null && o.failure === null && (o.counters[POPULATE_RETRY] ?? 0) > 0)
        retried = { seed: strategy.seed, decisions: o.choices.map((c) => c.chosen) };
    },
    executions: spec.executions,
    ...(spec.maxSteps === undefined ? {} : { maxSteps: spec.maxSteps }),
    ...(spec.lockdep === undefined ? {} : { lockdep: spec.lockdep }),
    ...(overrides.timeBudgetMs === undefined ? {} : { timeBudgetMs: overrides.timeBudgetMs }),
    ...(overrides.onProgress === undefined ? {} : { onProgress: overrides.onProgress }),
  });
  const exp = expectationFor(scenario, driver.info.id);
  const verdict = r.failure?.kind ?? "pass";
  const { driver: d, id } = driver.info;
  return {
    driver: d,
    variant: id,
    scenario: scenario.name,
    verdict,
    expected: exp?.verdict ?? null,
    expectedRef: exp?.ref ?? null,
    asExpected: exp !== undefined && exp.verdict === verdict,
    strategy: describeExploration(spec),
    exploration: spec,
    executions: r.executions,
    exhausted: r.exhausted,
    firstFailureAt: r.firstFailureAt,
    ...(r.firstFailureAt === null ? {} : foundBy(r.firstFailureAt)),
    message: r.failure?.message ?? null,
    replay: r.replay === null ? null : harnessToken(d, id, scenario.name, r.replay),
    trace: r.failure?.trace ?? null,
    threads: r.failure?.threads ?? null,
    violations: r.violations.map((v) => ({
      kind: v.kind,
      firstFailureAt: v.firstFailureAt,
      message: v.failure.message,
      replay: harnessToken(d, id, scenario.name, v.replay),
      trace: v.failure.trace ?? null,
      threads: v.failure.threads,
      ...foundBy(v.firstFailureAt),
    })),
    retryPath:
      retried === null
        ? null
        : harnessToken(d, id, scenario.name, encodeToken({ lockdep: false, executions: [retried] })),
    steps: r.steps,
    metrics: metricsOf(r),
    // Recorded only when some oracle was off, so that a default record reads as it always did.
    ...(off.length === 0 ? {} : { oraclesOff: off }),
  };
}

/** Re-run one execution of a scenario from its sim token, recording the trace. */
export function replayScenario(
  driver: DriverModel,
  scenario: Scenario,
  simToken: string,
  opts: { maxSteps?: number; oraclesOff?: readonly SwitchableOracle[] } = {},
): Promise<ExecutionOutcome> {
  const off = oraclesOff(opts.oraclesOff === undefined ? {} : { oraclesOff: opts.oraclesOff });
  const replayOpts = opts.maxSteps === undefined ? {} : { maxSteps: opts.maxSteps };
  return replay(scenarioProgram(driver, scenario, { oraclesOff: off }), simToken, replayOpts);
}
