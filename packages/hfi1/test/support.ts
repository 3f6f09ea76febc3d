// One sequential execution of a scenario body on a variant, for tests that look at the
// driver's state between steps (the body records what it sees; the test asserts on it).
import { type DriverModel, type ResultRecord, runScenario, type ScenarioContext } from "@mnlab/core";

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
