// One sequential execution of a scenario body on a variant, for tests that look at the
// driver's state between steps (the body records what it sees; the test asserts on it).
import { type DriverModel, Kernel, type ResultRecord, runScenario, type ScenarioContext } from "@mnlab/core";
import { type ExecutionOutcome, Lockdep, nonPreemptive, runExecution, type Strategy } from "@mnlab/sim";

export async function once(
  v: DriverModel,
  body: (s: ScenarioContext) => Promise<void>,
  pages = 4,
): Promise<ResultRecord> {
  return runScenario(v, {
    name: "test",
    description: "a test body",
    pages,
    run: body,
    expected: { [v.info.id]: { verdict: "pass" } },
    exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 1 },
  });
}

/** One execution of a bare kernel body, every thread run to its end before the next. */
export function sequential(body: (k: Kernel) => Promise<void>): Promise<ExecutionOutcome> {
  const strategy = {
    seed: 0,
    beginExecution() {},
    pickThread: nonPreemptive,
    pickData: () => 0,
    endExecution: () => ({ exhausted: true }),
  } as unknown as Strategy;
  return runExecution((ex) => body(new Kernel(ex)), strategy, new Lockdep(), 10_000, true);
}
