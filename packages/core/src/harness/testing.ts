/**
 * The vitest helper: a driver's scenario table becomes tests. Each (scenario, variant) is a
 * test asserting the expected verdict under the scenario's default exploration. A documented
 * bug must be found; a `pass` must hold — and when the exploration is exhaustive, the
 * bounded space must have been exhausted, or the test fails (a pass over part of the space
 * is not a pass). PCT and random explorations state their number of executions instead.
 *
 * The committed results. Each test's record is exactly what `mnlab report` writes for that
 * row (the same runScenario, the same default exploration), so a driver's suite is also where
 * the committed reports/data/results.json is checked: with `committed: <driver>` and the
 * environment variable MNLAB_COMMITTED_RESULTS naming that file (`npm test` sets it), every
 * record must equal its committed row, and the driver's committed rows must be exactly the
 * ones the suite ran. The committed-reports check of the cli then only re-renders the pages
 * from those rows, instead of running every scenario a second time. Run alone (npx vitest),
 * a suite checks verdicts only, so a model change can be tried before the reports are
 * regenerated.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { DriverModel } from "./driver-model.ts";
import { type ResultRecord, runScenario } from "./run.ts";
import { describeExploration, expectationFor, explorationFor, type Scenario } from "./scenario.ts";

/** The environment variable naming the committed results document to check against. */
export const COMMITTED_RESULTS_ENV = "MNLAB_COMMITTED_RESULTS";

const REGENERATE = "run npm start and commit reports/";

/** The committed rows of one driver, by "variant/scenario"; null when not checking. */
function committedRows(driver: string): Map<string, unknown> | null {
  const path = process.env[COMMITTED_RESULTS_ENV];
  if (path === undefined || path === "") return null;
  if (!existsSync(path)) throw new Error(`${COMMITTED_RESULTS_ENV}=${path}: no such file`);
  const doc = JSON.parse(readFileSync(path, "utf8")) as { results?: ResultRecord[] };
  if (!Array.isArray(doc.results)) throw new Error(`${path}: not an mnlab-results/1 document`);
  const rows = new Map<string, unknown>();
  for (const r of doc.results) if (r.driver === driver) rows.set(`${r.variant}/${r.scenario}`, r);
  return rows;
}

/** The first path at which two JSON values differ, for a one-line message. */
export function firstDifference(a: unknown, b: unknown, path = ""): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    const show = (v: unknown) => (JSON.stringify(v) ?? "undefined").slice(0, 80);
    return `${path || "(the record)"}: ${show(a)}, committed ${show(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array against object`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      Array.isArray(a) ? `${path}[${k}]` : path === "" ? k : `${path}.${k}`,
    );
    if (d !== null) return d;
  }
  return null;
}

export function scenarioSuite(
  title: string,
  variants: readonly DriverModel[],
  scenarios: readonly Scenario[],
  opts: { timeoutMs?: number; committed?: string } = {},
): void {
  const committed = opts.committed === undefined ? null : committedRows(opts.committed);
  const ran = new Set<string>();
  describe(title, () => {
    for (const s of scenarios) {
      describe(s.name, () => {
        for (const v of variants) {
          const exp = expectationFor(s, v.info.id);
          const want = exp?.verdict ?? "(no expectation)";
          const e = explorationFor(s, v.info.id);
          it(`${v.info.id}: ${want} under ${describeExploration(e)}`, {
            timeout: opts.timeoutMs ?? 300_000,
          }, async () => {
            expect(exp, `no expectation for ${v.info.id} in ${s.name}`).toBeDefined();
            const r = await runScenario(v, s);
            expect(r.verdict, r.message ?? "").toBe(exp!.verdict);
            if (r.verdict === "pass" && e.strategy === "exhaustive") {
              expect(r.exhausted, `${r.executions} executions did not exhaust ${r.strategy}`).toBe(true);
            }
            if (r.verdict !== "pass") expect(r.replay).not.toBeNull();
            if (committed !== null) {
              const key = `${v.info.id}/${s.name}`;
              ran.add(key);
              const row = committed.get(key);
              expect(row, `${key} is not in the committed results: ${REGENERATE}`).toBeDefined();
              const diff = firstDifference(JSON.parse(JSON.stringify(r)), row);
              expect(diff, `${key} differs from the committed results (${diff}): ${REGENERATE}`).toBeNull();
            }
          });
        }
      });
    }
    if (committed !== null) {
      // Runs after the rows above (a file's tests run in order): rows of this driver that no
      // test ran are a variant or scenario removed or renamed without regenerating the reports.
      it("lists no committed row the suite does not run", () => {
        const stale = [...committed.keys()].filter((k) => !ran.has(k));
        expect(stale, `committed rows no scenario ran: ${REGENERATE}`).toEqual([]);
      });
    }
  });
}
