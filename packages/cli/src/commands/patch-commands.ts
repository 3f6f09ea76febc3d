/**
 * The commands for migration patches — new-variant, evaluate, mutate — added to the `mnlab`
 * program in one call, so main.ts keeps one line for them.
 */
import { availableParallelism } from "node:os";
import { type Command, Option } from "commander";
import { UsageError } from "../errors.ts";
import { collect, explorationOptions, positiveInt } from "../options.ts";
import { type EvaluateOptions, evaluateCommand } from "./evaluate.ts";
import { evaluateCoreCommand } from "./evaluate-core.ts";
import type { MutateOptions } from "./mutate.ts";

// new-variant and mutate parse TypeScript with the compiler API: loaded when one of them runs,
// since `import "typescript"` alone costs every other mnlab command over a second of start-up.
const newVariant = () => import("./new-variant.ts");
const mutate = () => import("./mutate.ts");

const JOBS = availableParallelism();

const jsonOption = () =>
  new Option("--json", "print the JSON document only (see the README's --json contract)").default(false);

export function addPatchCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command("new-variant")
    .description(
      "start a migration patch: copy a merged variant to <driver package>/patches/<id>/, ready to run",
    )
    .argument("<driver>", "a registered driver")
    .argument("<id>", "the new variant's id (lower-case letters, digits, dashes)")
    .addOption(
      new Option("--from <variant>", "the variant to start from").default(
        "interval",
        "interval (the 5.5 one)",
      ),
    )
    .addOption(new Option("--out <dir>", "where to write the copy (default: <driver package>/patches/<id>)"))
    .action(async (driver: string, id: string, o: { from: string; out?: string }) =>
      setExit(await (await newVariant()).newVariantCommand(driver, id, o)),
    );

  explorationOptions(
    program
      .command("evaluate")
      .description(
        "judge a patch against the merged 5.5 variant, per scenario: regression, same, fixed or same bug; " +
          "or, with --core, a core patch against the merged core over every driver (exit 0 nothing regressed, 1 something did)",
      )
      .argument("[patch.ts]", "the patch module (as new-variant writes it); none with --core"),
    "each scenario's own",
  )
    .addOption(
      new Option(
        "--page <file.md>",
        "where to write the Markdown page (default: <id>.evaluation.md next to the patch)",
      ),
    )
    .addOption(
      new Option(
        "--results <merged.json>",
        "judge the records of a (merged, sharded) `test --variant <patch> --json` run instead of running (default: run)",
      ),
    )
    .addOption(
      new Option("--jobs <N>", "worker processes running scenarios side by side")
        .argParser(positiveInt)
        .default(JOBS, `${JOBS}: the CPUs here`),
    )
    .addOption(
      new Option(
        "--variant <path.ts>",
        "with --core: a driver patch written against the core variant (its new API), run next to the built-in variants and judged against its driver's interval variant on the merged core (repeatable)",
      )
        .argParser(collect)
        .default([], "none"),
    )
    .addOption(
      new Option(
        "--core <core.ts>",
        "evaluate a core variant (e.g. packages/core/patches/*.ts): every driver's scenarios, all variants, on it and on the merged core",
      ),
    )
    .addOption(
      new Option("--driver <name>", "with --core: a driver to run (repeatable)")
        .argParser(collect)
        .default([], "every registered driver"),
    )
    .addOption(jsonOption())
    .action(async (patch: string | undefined, o: EvaluateOptions) => {
      if (o.core !== undefined) {
        if (patch !== undefined) throw new UsageError("give a driver patch or --core <core.ts>, not both");
        return setExit(await evaluateCoreCommand(o.core, o));
      }
      if (patch !== undefined && (o.driver ?? []).length > 0) {
        throw new UsageError("--driver is for --core; a driver patch runs its own driver");
      }
      if ((o.variant ?? []).length > 0)
        throw new UsageError("--variant is for --core; give the driver patch itself");
      if (patch === undefined)
        throw new UsageError("missing the patch module: evaluate <patch.ts>, or --core <core.ts>");
      setExit(await evaluateCommand(patch, o));
    });

  explorationOptions(
    program
      .command("mutate")
      .description(
        "the scenarios' mutation score for a variant: mutants of its source (TypeScript AST), killed or survived",
      )
      .argument("<driver:variant...>", "variants to mutate, e.g. nouveau:interval"),
    "each scenario's own, capped by --cap",
  )
    .addOption(
      new Option("--cap <N>", "most executions per scenario run of a mutant (and of the original)")
        .argParser(positiveInt)
        .default(2000, "2000"),
    )
    .addOption(
      new Option("--operator <name>", "an operator to apply (repeatable)")
        .argParser(collect)
        .default([], "every operator"),
    )
    .addOption(new Option("--limit <N>", "most mutants per variant (default: all)").argParser(positiveInt))
    .addOption(
      new Option("--jobs <N>", "targets mutated side by side, each in its own process")
        .argParser(positiveInt)
        .default(JOBS, `${JOBS}: the CPUs here`),
    )
    .addOption(new Option("--out <file.json>", "also write the JSON document there (default: none)"))
    .addOption(jsonOption())
    .action(async (targets: string[], o: MutateOptions) =>
      setExit(await (await mutate()).mutateCommand(targets, o)),
    );
}
