// Whole explorations with their counters summed over every execution (so a figure holds for
// every schedule explored), for the metric tests.
import { type DriverModel, type Scenario, scenarioProgram } from "@mnlab/core";
import { explore, makeStrategy } from "@mnlab/sim";
import { expect } from "vitest";

export async function counters(
  v: DriverModel,
  s: Scenario,
  opts: { preemptionBound?: number; failing?: boolean } = {},
) {
  const r = await explore(scenarioProgram(v, s), {
    strategy: makeStrategy({ name: "exhaustive", preemptionBound: opts.preemptionBound ?? 2 }),
    executions: 50_000,
    ...(opts.failing ? { stopOnFailure: false, shrink: false } : {}),
    ...(s.exploration.lockdep === undefined ? {} : { lockdep: s.exploration.lockdep }),
  });
  if (!opts.failing) expect(r.failure, r.failure?.message).toBeNull();
  expect(r.exhausted).toBe(true);
  const c = (name: string) => (r.counters[name] ?? 0) / r.executions;
  return { executions: r.executions, c, failure: r.failure };
}
