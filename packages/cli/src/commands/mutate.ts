/**
 * `mnlab mutate <driver:variant...>`: what a pass of the scenario suite is worth. Generates
 * the mutants of each variant's source (mutate/operators.ts), runs each through the driver's
 * scenarios (mutate/workspace.ts loads it next to the original) and calls it killed when some
 * scenario's verdict differs from the unmutated variant's under the same exploration —
 * survived otherwise. A mutant stops at the scenario that kills it; scenarios are tried
 * cheapest first (by the original's executions times median steps, which are deterministic).
 *
 * Budget: each scenario's own exploration, its executions capped by --cap (default 2000) so
 * that a driver takes minutes, not hours; --executions (exact) and the other test options go
 * deeper. The original runs under the same budget, so a kill is a difference, never a budget
 * artefact. Output: a table per variant and the survivors' diffs, or with --json / --out the
 * document `{"schema": "mnlab-mutation/1", "drivers": [...]}` the reports render. Exit 0.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { explorationFor, type ResultRecord, runScenario, type Scenario } from "@mnlab/core";
import { int, stableJson, table } from "@mnlab/report";
import { choices, firstLine, ToolFailure, UsageError } from "../errors.ts";
import { survivorNote } from "../mutate/notes.ts";
import {
  definesScenarios,
  type Mutant,
  mutantsOf,
  OPERATORS,
  type Operator,
  unifiedDiff,
} from "../mutate/operators.ts";
import { withMutant } from "../mutate/workspace.ts";
import type { ExplorationFlags } from "../options.ts";
import { repoRoot, userPath } from "../paths.ts";
import { driverNamed } from "../registry.ts";
import { findEntry, variantSource } from "../variant-source.ts";
import { type Budget, budgetOf } from "../work.ts";

export interface MutateOptions extends ExplorationFlags {
  /** Targets run side by side, each in its own process. */
  jobs: number;
  cap: number;
  operator: string[];
  limit?: number;
  out?: string;
  json: boolean;
}

export interface MutationDriver {
  driver: string;
  variant: string;
  mutants: number;
  killed: number;
  survived: number;
  /** Added to the shape: mutants that did not load (not counted in mutants). */
  invalid: number;
  /** Added: the exploration every run used. */
  budget: string;
  byOperator: { operator: string; generated: number; killed: number; survived: number }[];
  /** `description` is added to the shape: the edit in one line. */
  survivors: {
    id: string;
    operator: string;
    location: string;
    description: string;
    diff: string;
    note: string;
  }[];
  /** Added: which scenario killed each killed mutant, and with what verdict. */
  kills: {
    id: string;
    operator: string;
    location: string;
    scenario: string;
    verdict: string;
    original: string;
  }[];
}

/** The mutated variant's own exploration's budget (explorationFor), capped. */
function budgetFor(s: Scenario, variant: string, o: MutateOptions): Budget {
  const own = explorationFor(s, variant).executions;
  return { ...budgetOf(o), executions: o.executions ?? Math.min(own, o.cap) };
}

function describeBudget(o: MutateOptions): string {
  const parts = [
    o.executions !== undefined
      ? `${int(o.executions)} executions per scenario`
      : `each scenario's own exploration, at most ${int(o.cap)} executions`,
  ];
  if (o.strategy !== undefined) parts.push(`strategy ${o.strategy}`);
  if (o.seed !== undefined) parts.push(`seed ${o.seed}`);
  if (o.preemptions !== undefined) parts.push(`preemption bound ${o.preemptions}`);
  if (o.reduction !== undefined) parts.push(`reduction ${o.reduction}`);
  if (o.budget !== undefined) parts.push(`wall-clock cap ${o.budget} ms per run`);
  return parts.join(", ");
}

function parseTarget(t: string): { driver: string; variant: string } {
  const m = /^([^:]+):([^:]+)$/.exec(t);
  if (m === null) throw new UsageError(`"${t}" must look like driver:variant, e.g. nouveau:interval`);
  return { driver: m[1]!, variant: m[2]! };
}

const progress = (s: string) => process.stderr.write(`${s}\n`);

/** One turn of the event loop between runs, so Ctrl-C is seen (and the mutant's copy removed). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function mutateOne(target: string, o: MutateOptions): Promise<MutationDriver> {
  const { driver, variant } = parseTarget(target);
  const d = await driverNamed(driver);
  const v = d.variants.find((x) => x.info.id === variant);
  if (v === undefined) {
    throw new UsageError(
      `${target}: unknown variant "${variant}": valid ${d.name} variants are ${choices(d.variants.map((x) => x.info.id))}`,
    );
  }
  const scenarios = d.scenarios.filter((s) => o.scenario.length === 0 || o.scenario.includes(s.name));
  const src = variantSource(v);
  const entry = await findEntry(v, src);
  const operators = o.operator as Operator[];

  const snapshot = new Map(src.files.map((f) => [f, readFileSync(f, "utf8")]));
  // Scenario modules are the test, not the variant: the mutant runs the driver's original
  // scenarios, so a mutated scenario file could only ever "survive".
  const modelFiles = src.files.filter((f) => !definesScenarios(f, snapshot.get(f)!));
  let mutants: Mutant[] = modelFiles.flatMap((f) => mutantsOf(f, snapshot.get(f)!, repoRoot));
  if (operators.length > 0) mutants = mutants.filter((m) => operators.includes(m.operator));
  mutants.sort(
    (a, b) => OPERATORS.indexOf(a.operator) - OPERATORS.indexOf(b.operator) || (a.id < b.id ? -1 : 1),
  );
  if (o.limit !== undefined) mutants = mutants.slice(0, o.limit);

  progress(`${target}: ${mutants.length} mutants; the original under ${describeBudget(o)} first`);
  const original = new Map<string, ResultRecord>();
  for (const s of scenarios) original.set(s.name, await runScenario(v, s, budgetFor(s, v.info.id, o)));
  const cost = (s: Scenario) => {
    const r = original.get(s.name)!;
    return r.executions * Math.max(1, r.steps.median);
  };
  const ordered = [...scenarios].sort((a, b) => cost(a) - cost(b) || (a.name < b.name ? -1 : 1));

  const result: MutationDriver = {
    driver: d.name,
    variant,
    mutants: 0,
    killed: 0,
    survived: 0,
    invalid: 0,
    budget: describeBudget(o),
    byOperator: [],
    survivors: [],
    kills: [],
  };
  const per = new Map<string, { generated: number; killed: number; survived: number }>();
  for (const op of OPERATORS) {
    if (operators.length === 0 || operators.includes(op))
      per.set(op, { generated: 0, killed: 0, survived: 0 });
  }
  for (const [n, m] of mutants.entries()) {
    const before = snapshot.get(m.file)!;
    const verdict = await withMutant(src, entry, String(n), snapshot, m, async (loaded) => {
      if ("error" in loaded) return { kind: "invalid" as const, why: loaded.error };
      for (const s of ordered) {
        await turn();
        let r: ResultRecord;
        try {
          r = await runScenario(loaded.model, s, budgetFor(s, v.info.id, o));
        } catch (e) {
          return {
            kind: "killed" as const,
            scenario: s.name,
            verdict: `harness error: ${firstLine(e)}`,
            original: "",
          };
        }
        const base = original.get(s.name)!;
        if (r.verdict !== base.verdict) {
          return { kind: "killed" as const, scenario: s.name, verdict: r.verdict, original: base.verdict };
        }
      }
      return { kind: "survived" as const };
    });
    const tally = per.get(m.operator)!;
    const label = `  ${n + 1}/${mutants.length} ${m.id}`;
    if (verdict.kind === "invalid") {
      result.invalid++;
      progress(`${label}: did not load (${verdict.why})`);
      continue;
    }
    tally.generated++;
    result.mutants++;
    if (verdict.kind === "killed") {
      tally.killed++;
      result.killed++;
      result.kills.push({
        id: m.id,
        operator: m.operator,
        location: m.location,
        scenario: verdict.scenario,
        verdict: verdict.verdict,
        original: verdict.original,
      });
      progress(`${label}: killed by ${verdict.scenario} (${verdict.verdict}, not ${verdict.original})`);
    } else {
      const file = m.location.replace(/:\d+:\d+$/, "");
      tally.survived++;
      result.survived++;
      result.survivors.push({
        id: m.id,
        operator: m.operator,
        location: m.location,
        description: m.description,
        diff: unifiedDiff(file, before, m.text),
        note: survivorNote(m.operator, file, m.description),
      });
      progress(`${label}: survived`);
    }
  }
  result.byOperator = [...per.entries()].map(([operator, t]) => ({ operator, ...t }));
  return result;
}

function score(d: MutationDriver): string {
  return d.mutants === 0 ? "—" : `${Math.round((100 * d.killed) / d.mutants)}%`;
}

function text(drivers: MutationDriver[]): string {
  const out: string[] = [];
  for (const d of drivers) {
    out.push(
      `${d.driver}:${d.variant}: ${d.mutants} mutants, ${d.killed} killed, ${d.survived} survived — score ${score(d)}` +
        (d.invalid > 0 ? ` (${d.invalid} did not load)` : "") +
        ` (${d.budget})`,
      "",
      table(
        ["operator", "generated", "killed", "survived"],
        d.byOperator.map((b) => [b.operator, String(b.generated), String(b.killed), String(b.survived)]),
        ["l", "r", "r", "r"],
      ),
    );
    for (const s of d.survivors) out.push("", `survived: ${s.id}`, `  ${s.note}`, "", s.diff);
    out.push("");
  }
  return `${out.join("\n")}`;
}

/** The flags of `o` that change what a target's run gives, as a child's command line. */
function childFlags(o: MutateOptions): string[] {
  const f = ["--cap", String(o.cap)];
  for (const sc of o.scenario) f.push("--scenario", sc);
  for (const op of o.operator) f.push("--operator", op);
  if (o.limit !== undefined) f.push("--limit", String(o.limit));
  if (o.strategy !== undefined) f.push("--strategy", o.strategy);
  if (o.executions !== undefined) f.push("--executions", String(o.executions));
  if (o.seed !== undefined) f.push("--seed", String(o.seed));
  if (o.preemptions !== undefined) f.push("--preemptions", String(o.preemptions));
  if (o.reduction !== undefined) f.push("--reduction", o.reduction);
  if (o.budget !== undefined) f.push("--budget", `${o.budget}ms`);
  return f;
}

/**
 * --jobs N: each target in its own `mnlab mutate <target> --json` process, at most N at once,
 * the documents joined in the order the targets were given — the same bytes as one process
 * running them in turn, since a target's result depends on nothing but the target and flags.
 */
async function inChildren(targets: string[], o: MutateOptions): Promise<MutationDriver[]> {
  const out: MutationDriver[][] = new Array(targets.length);
  let next = 0;
  const one = (t: string) =>
    new Promise<MutationDriver[]>((resolveDoc, reject) => {
      const child = spawn(
        process.execPath,
        [...process.execArgv, process.argv[1]!, "mutate", t, "--json", "--jobs", "1", ...childFlags(o)],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let stdout = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (d: string) => {
        stdout += d;
      });
      child.on("error", (e) => reject(new ToolFailure(`mutate ${t}: ${firstLine(e)}`)));
      child.on("close", (code) => {
        if (code !== 0) return reject(new ToolFailure(`mutate ${t}: the child process exited ${code}`));
        try {
          resolveDoc((JSON.parse(stdout) as { drivers: MutationDriver[] }).drivers);
        } catch (e) {
          reject(new ToolFailure(`mutate ${t}: ${firstLine(e)}`));
        }
      });
    });
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      out[i] = await one(targets[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, targets.length) }, worker));
  return out.flat();
}

export async function mutateCommand(targets: string[], o: MutateOptions): Promise<number> {
  for (const op of o.operator) {
    if (!(OPERATORS as readonly string[]).includes(op)) {
      throw new UsageError(`unknown operator "${op}": valid operators are ${choices([...OPERATORS])}`);
    }
  }
  for (const t of targets) parseTarget(t);
  const drivers =
    o.jobs > 1 && targets.length > 1
      ? await inChildren(targets, o)
      : await targets.reduce<Promise<MutationDriver[]>>(
          async (acc, t) => [...(await acc), await mutateOne(t, o)],
          Promise.resolve([]),
        );
  const doc = { schema: "mnlab-mutation/1", drivers };
  if (o.out !== undefined) {
    try {
      writeFileSync(userPath(o.out), stableJson(doc));
    } catch (e) {
      throw new UsageError(`cannot write ${o.out}: ${firstLine(e)}`);
    }
  }
  process.stdout.write(o.json ? stableJson(doc) : text(drivers));
  return 0;
}
