/**
 * `mnlab replay <token>`: re-run the one execution a token records and print its trace as
 * the CPU columns kernel developers write (and, with --mermaid, as a sequence diagram).
 * Tokens name driver, variant and scenario; a token from a user-written variant needs that
 * module again (--variant path.ts). Exit 0 when the replayed verdict is the expected one.
 */
import { expectationFor, parseHarnessToken, replayScenario, withCoreVariant } from "@mnlab/core";
import { cpuColumns, sequenceDiagram, stableJson } from "@mnlab/report";
import { decodeToken } from "@mnlab/sim";
import { loadCoreVariant } from "../core-variant.ts";
import { choices, firstLine, UsageError } from "../errors.ts";
import { driverNamed } from "../registry.ts";
import { loadUserVariant } from "../user-variant.ts";

export async function replayCommand(
  token: string,
  o: { variant: string[]; mermaid: boolean; json: boolean; core?: string },
): Promise<number> {
  let t: ReturnType<typeof parseHarnessToken>;
  try {
    t = parseHarnessToken(token);
  } catch (e) {
    throw new UsageError(firstLine(e));
  }
  // A token from a run on a core variant (`--core`) replays on that core variant.
  const core = o.core === undefined ? null : await loadCoreVariant(o.core);
  const d = await driverNamed(t.driver);
  const user = [];
  for (const p of o.variant) {
    const v = await loadUserVariant(p);
    if (v.info.driver !== d.name) {
      throw new UsageError(
        `--variant ${p} is a ${v.info.driver} patch (its info.driver), but the token replays ${d.name}/${t.variant}`,
      );
    }
    user.push(v);
  }
  const variants = [...d.variants, ...user];
  const variant = variants.find((v) => v.info.id === t.variant);
  if (variant === undefined) {
    throw new UsageError(
      `token names variant "${t.variant}", not a ${d.name} variant (${choices(variants.map((v) => v.info.id))}); ` +
        "a user-written one needs --variant path.ts",
    );
  }
  const scenario = d.scenarios.find((s) => s.name === t.scenario);
  if (scenario === undefined) {
    throw new UsageError(
      `token names scenario "${t.scenario}", not a ${d.name} scenario (${choices(d.scenarios.map((s) => s.name))})`,
    );
  }
  let outcome: Awaited<ReturnType<typeof replayScenario>>;
  let recorded: number[];
  try {
    recorded = decodeToken(t.sim).executions.at(-1)!.decisions;
    outcome = await withCoreVariant(core?.variant ?? null, () => replayScenario(variant, scenario, t.sim));
  } catch (e) {
    throw new UsageError(`cannot replay this token: ${firstLine(e)}`);
  }
  const diverged = divergence(
    recorded,
    outcome.choices.map((c) => c.chosen),
  );
  if (diverged !== null) {
    // The replay strategy would quietly fall back to other choices: that is another execution.
    throw new UsageError(
      `the token diverged at decision ${diverged} of ${recorded.length}: ${d.name}/${variant.info.id} ` +
        `${scenario.name} no longer makes the choices it records (changed since the token was made?); nothing replayed`,
    );
  }
  const verdict = outcome.failure?.kind ?? "pass";
  const expected = expectationFor(scenario, variant.info.id)?.verdict ?? null;
  const trace = outcome.trace ?? [];
  if (o.json) {
    process.stdout.write(
      stableJson({
        schema: "mnlab-replay/1",
        driver: d.name,
        variant: variant.info.id,
        scenario: scenario.name,
        ...(core === null ? {} : { core: { id: core.variant.id, module: o.core } }),
        replay: token.trim(),
        verdict,
        expected,
        asExpected: verdict === expected,
        message: outcome.failure?.message ?? null,
        steps: outcome.steps,
        trace,
        threads: outcome.failure?.threads ?? null,
      }),
    );
  } else {
    const head =
      `${d.name}/${variant.info.id} ${scenario.name}${core === null ? "" : ` on core ${core.variant.id}`}: ${verdict}` +
      (outcome.failure === null ? "" : ` — ${outcome.failure.message}`) +
      (verdict === expected ? " (as expected)" : ` (expected ${expected ?? "nothing stated"})`);
    const out = [head, "", cpuColumns(trace)];
    if (o.mermaid) out.push("", sequenceDiagram(trace));
    process.stdout.write(`${out.join("\n")}\n`);
  }
  return verdict === expected ? 0 : 1;
}

/**
 * 1-based index of the first decision the replay did not follow as recorded (or where one
 * list ran out before the other); null when it followed every one. A token's list is the
 * recorded choices of its execution (explore.ts, shrink.ts), so a faithful replay makes
 * exactly those choices, no more and no fewer.
 */
export function divergence(recorded: readonly number[], made: readonly number[]): number | null {
  const n = Math.min(recorded.length, made.length);
  for (let i = 0; i < n; i++) if (recorded[i] !== made[i]) return i + 1;
  return recorded.length === made.length ? null : n + 1;
}
