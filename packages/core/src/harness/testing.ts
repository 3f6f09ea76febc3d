/**
 * The vitest helper: a driver's scenario table becomes tests. Each (scenario, variant) is a
 * test asserting the expected verdict under the scenario's default exploration. A documented
 * bug must be found; a `pass` must hold — and when the exploration is exhaustive, the
 * bounded space must have been exhausted, or the test fails (a pass over part of the space
 * is not a pass). PCT and random explorations state their number of executions instead.
 */
import { describe, expect, it } from "vitest";
import type { DriverModel } from "./driver-model.ts";
import { runScenario } from "./run.ts";
import { describeExploration, expectationFor, type Scenario } from "./scenario.ts";

export function scenarioSuite(
  title: string,
  variants: readonly DriverModel[],
  scenarios: readonly Scenario[],
  opts: { timeoutMs?: number } = {},
): void {
  describe(title, () => {
    for (const s of scenarios) {
      describe(s.name, () => {
        for (const v of variants) {
          const exp = expectationFor(s, v.info.id);
          const want = exp?.verdict ?? "(no expectation)";
          it(`${v.info.id}: ${want} under ${describeExploration(s.exploration)}`, {
            timeout: opts.timeoutMs ?? 300_000,
          }, async () => {
            expect(exp, `no expectation for ${v.info.id} in ${s.name}`).toBeDefined();
            const r = await runScenario(v, s);
            expect(r.verdict, r.message ?? "").toBe(exp!.verdict);
            if (r.verdict === "pass" && s.exploration.strategy === "exhaustive") {
              expect(r.exhausted, `${r.executions} executions did not exhaust ${r.strategy}`).toBe(true);
            }
            if (r.verdict !== "pass") expect(r.replay).not.toBeNull();
          });
        }
      });
    }
  });
}
