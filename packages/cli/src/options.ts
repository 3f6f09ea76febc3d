/**
 * Option values, parsed once: each parser turns the text into a typed value or throws
 * commander's InvalidArgumentError, which the command prints as one line and exits 2.
 */
import { type Command, InvalidArgumentError, Option } from "commander";

export function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) {
    throw new InvalidArgumentError("must be a positive integer.");
  }
  return Number(v);
}

export function nonNegativeInt(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new InvalidArgumentError("must be an integer, 0 or more.");
  }
  return Number(v);
}

/** A seed: an integer that fits the strategies' 32-bit generators. */
export function seed(v: string): number {
  if (!/^-?\d+$/.test(v) || Math.abs(Number(v)) > 2 ** 31 - 1) {
    throw new InvalidArgumentError("must be an integer between -2147483647 and 2147483647.");
  }
  return Number(v);
}

export const STRATEGIES = ["random", "pct", "exhaustive", "portfolio"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export function strategy(v: string): StrategyName {
  if (!(STRATEGIES as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`must be one of ${STRATEGIES.join(", ")}.`);
  }
  return v as StrategyName;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A wall-clock budget: "30s", "500ms", "2m", "1h" -> milliseconds. */
export function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (m === null || Number(m[1]) <= 0) {
    throw new InvalidArgumentError('must be a duration such as "500ms", "30s", "2m" or "1h".');
  }
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

export interface Shard {
  index: number;
  count: number;
}

/** "i/n" with 1 <= i <= n. */
export function shard(v: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index < 1 || index > count) {
    throw new InvalidArgumentError('must be "i/n" with 1 <= i <= n, e.g. "2/4".');
  }
  return { index, count };
}

/** For repeatable options: collect every occurrence. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** The exploration flags of every command that runs scenarios (test, evaluate, mutate). */
export interface ExplorationFlags {
  scenario: string[];
  strategy?: StrategyName;
  executions?: number;
  seed?: number;
  preemptions?: number;
  reduction?: "none" | "bpor";
  budget?: number;
}

/**
 * Adds the exploration flags to a command, one definition for all of them so their names,
 * parsers and help stay the same; `executions` is the help's text for the default.
 */
export function explorationOptions(c: Command, executions = "each scenario's own"): Command {
  const what = "each scenario's own";
  return c
    .addOption(
      new Option("--scenario <name>", "a scenario to run (repeatable)")
        .argParser(collect)
        .default([], "every scenario"),
    )
    .addOption(
      new Option("--strategy <name>", `exploration strategy (default: ${what})`)
        .choices(STRATEGIES)
        .argParser(strategy),
    )
    .addOption(
      new Option("--executions <N>", `most executions per run (default: ${executions})`).argParser(
        positiveInt,
      ),
    )
    .addOption(new Option("--seed <S>", `seed of random and pct (default: ${what})`).argParser(seed))
    .addOption(
      new Option(
        "--preemptions <B>",
        `preemption bound of exhaustive search (default: ${what}, else 2)`,
      ).argParser(nonNegativeInt),
    )
    .addOption(
      new Option(
        "--reduction <name>",
        "partial-order reduction of exhaustive search: bpor (bounded partial-order reduction) or none (every schedule) (default: each scenario's own, else bpor)",
      ).choices(["none", "bpor"]),
    )
    .addOption(
      new Option(
        "--budget <time>",
        "wall-clock cap per run, e.g. 30s (makes executions machine-dependent) (default: none)",
      ).argParser(duration),
    );
}
