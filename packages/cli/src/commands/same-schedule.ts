/**
 * Old next to new, as data for the driver pages: each 5.4 counterexample's decision list
 * replayed on the driver's 5.5 variant. A decision that does not apply there (the thread it
 * names cannot run at that point) falls back to running the current thread, which is how the
 * replay strategy treats any edited list; the execution as it ran is recorded with its own
 * token, so `mnlab replay` re-runs exactly what the page shows. When that schedule passes
 * without the 5.5 code ever colliding (no retry), the 5.5 path that retries is shown instead:
 * the first execution of the 5.5 exploration in which the populate loop retried (the record's
 * `retryPath`).
 */
import {
  type DriverPackage,
  harnessToken,
  POPULATE_RETRY,
  parseHarnessToken,
  type ResultRecord,
  replayScenario,
} from "@mnlab/core";
import { type SameSchedule, variantColumns } from "@mnlab/report";
import { decodeToken, encodeToken } from "@mnlab/sim";

/** The 5.4 variant whose counterexample a scenario's side-by-side view starts from. */
function oldRecord(records: ResultRecord[]): ResultRecord | undefined {
  const legacy = variantColumns(records.map((r) => r.variant)).filter((v) => v.startsWith("legacy"));
  for (const v of legacy) {
    const r = records.find((x) => x.variant === v);
    if (r !== undefined && r.verdict !== "pass" && r.replay !== null && r.trace !== null) return r;
  }
  return undefined;
}

export async function sameSchedules(
  packages: readonly DriverPackage[],
  results: readonly ResultRecord[],
  to = "interval",
): Promise<SameSchedule[]> {
  const out: SameSchedule[] = [];
  for (const d of packages) {
    const target = d.variants.find((v) => v.info.id === to);
    if (target === undefined) continue;
    for (const scenario of d.scenarios) {
      const old = oldRecord(results.filter((r) => r.driver === d.name && r.scenario === scenario.name));
      if (
        old === undefined ||
        !results.some((r) => r.driver === d.name && r.scenario === scenario.name && r.variant === to)
      )
        continue;
      const token = decodeToken(parseHarnessToken(old.replay!).sim);
      const last = token.executions[token.executions.length - 1]!;
      const sim = encodeToken({ lockdep: token.lockdep, executions: [last] });
      let outcome = await replayScenario(target, scenario, sim);
      let ran = encodeToken({
        lockdep: token.lockdep,
        executions: [{ seed: last.seed, decisions: outcome.choices.map((c) => c.chosen) }],
      });
      let how: SameSchedule["how"] = "same-schedule";
      const path = results.find(
        (r) => r.driver === d.name && r.scenario === scenario.name && r.variant === to,
      )?.retryPath;
      if ((outcome.counters[POPULATE_RETRY] ?? 0) === 0 && outcome.failure === null && path != null) {
        // The old schedule does not make the new code collide: show the path where it does.
        ran = parseHarnessToken(path).sim;
        outcome = await replayScenario(target, scenario, ran);
        how = "retry-path";
      }
      out.push({
        driver: d.name,
        scenario: scenario.name,
        from: old.variant,
        to,
        how,
        verdict: outcome.failure?.kind ?? "pass",
        message: outcome.failure?.message ?? null,
        replay: harnessToken(d.name, to, scenario.name, ran),
        trace: outcome.trace ?? [],
        retries: outcome.counters[POPULATE_RETRY] ?? 0,
      });
    }
  }
  return out;
}
