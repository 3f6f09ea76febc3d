// Helpers for the gntdev tests: one scenario body run under a variant, with its counters.
import { type DriverModel, type Scenario, type ScenarioContext, scenarioProgram } from "@mnlab/core";
import { explore, makeStrategy } from "@mnlab/sim";

/** A one-off scenario (no expectations: the tests assert on what they capture). */
export function adHoc(name: string, run: (s: ScenarioContext) => Promise<void>, pages = 4): Scenario {
  return {
    name,
    description: name,
    pages,
    run,
    expected: {},
    exploration: { strategy: "exhaustive", preemptionBound: 2, executions: 20_000 },
  };
}

/** Explore exhaustively at `bound`; counters per execution, and the first failure. */
export async function exploreCounters(v: DriverModel, s: Scenario, bound = 2) {
  const r = await explore(scenarioProgram(v, s), {
    strategy: makeStrategy({ name: "exhaustive", preemptionBound: bound }),
    executions: 50_000,
  });
  const perExec = (name: string) => (r.counters[name] ?? 0) / Math.max(1, r.executions);
  return { r, perExec, total: (name: string) => r.counters[name] ?? 0 };
}
