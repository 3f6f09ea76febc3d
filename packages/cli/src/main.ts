/**
 * The `mnlab` command. Every subcommand that reports takes --json (stdout then holds only
 * the document); progress goes to stderr. Exit codes: 0 every verdict as expected, 1 one is
 * not (or --check found a difference), 2 a usage error, printed as one line — never a stack
 * trace (MNLAB_DEBUG=1 adds it, for bugs in mnlab itself).
 *
 *   node --import tsx packages/cli/src/main.ts <command> ...   (npm run mnlab -- <command> ...)
 */
import { availableParallelism } from "node:os";
import { Argument, Command, CommanderError, Option } from "commander";
import { benchCommand } from "./commands/bench.ts";
import { listCommand } from "./commands/list.ts";
import { mergeCommand } from "./commands/merge.ts";
import { addPatchCommands } from "./commands/patch-commands.ts";
import { replayCommand } from "./commands/replay.ts";
import { reportCommand } from "./commands/report.ts";
import { type TestOptions, testCommand } from "./commands/test.ts";
import { EXIT, firstLine, ToolFailure, UsageError } from "./errors.ts";
import { collect, explorationOptions, positiveInt, shard } from "./options.ts";

const JOBS = availableParallelism();

function jobsOption(def: number): Option {
  return new Option("--jobs <N>", "worker processes running scenarios side by side")
    .argParser(positiveInt)
    .default(def, `${def}: the CPUs here`);
}

const resumeOption = () =>
  new Option(
    "--resume",
    "take the results a stopped run of the same code and options completed (from the journal); run the rest",
  ).default(false);

const coreOption = () =>
  new Option(
    "--core <path.ts>",
    "run on a core variant (a module replacing notifier-core functions, e.g. packages/core/patches/*.ts) instead of the merged core",
  );

const jsonOption = () =>
  new Option("--json", "print the JSON document only (see the README's --json contract)").default(false);

function build(setExit: (code: number) => void): Command {
  const program = new Command("mnlab")
    .description(
      "Linux 5.4 vs 5.5 MMU-notifier users under a deterministic scheduler: run the scenarios, " +
        "replay counterexamples, regenerate reports/.\n" +
        "Exit status: 0 every verdict as expected, 1 one is not, 2 usage error, 3 the tool failed " +
        "(a worker died twice on one item, a file could not be written), 130 interrupted.",
    )
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(`mnlab: ${str.replace(/^error: /, "")}`) })
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false });

  program
    .command("list")
    .description("drivers, their variants (id, kernel version, model source) and scenarios")
    .addOption(jsonOption())
    .action(async (o) => setExit(await listCommand(o)));

  const test = program
    .command("test")
    .description("run scenarios; print each verdict against the expected one")
    .addArgument(new Argument("[driver...]", "drivers to run").default([], "every registered driver"))
    .addOption(
      new Option(
        "--variant <id|path.ts>",
        "a variant id to keep, or a module exporting a DriverModel to add (repeatable)",
      )
        .argParser(collect)
        .default([], "every built-in variant"),
    );
  explorationOptions(test)
    .addOption(
      new Option(
        "--shard <i/n>",
        "run the i-th of n deterministic slices of the work list (default: 1/1, everything)",
      ).argParser(shard),
    )
    .addOption(coreOption())
    .addOption(jobsOption(JOBS))
    .addOption(resumeOption())
    .addOption(jsonOption())
    .action(async (names: string[], o: TestOptions) => setExit(await testCommand(names, o)));

  program
    .command("replay")
    .description("re-run one execution from its token; print it as CPU columns")
    .argument("<token>", "replay token (driver:variant:scenario:v1...), as test and the reports print it")
    .addOption(new Option("--mermaid", "also print the Mermaid sequenceDiagram").default(false))
    .addOption(
      new Option("--variant <path.ts>", "module of the user-written variant the token names (repeatable)")
        .argParser(collect)
        .default([], "none"),
    )
    .addOption(coreOption())
    .addOption(jsonOption())
    .action(async (token: string, o) => setExit(await replayCommand(token, o)));

  program
    .command("report")
    .description("run every driver's scenarios at their default budgets and regenerate reports/")
    .addOption(new Option("--out <dir>", "report directory (default: reports/ in the repository root)"))
    .addOption(
      new Option("--check", "write nothing; fail when the committed files differ from a fresh run").default(
        false,
      ),
    )
    .addOption(
      new Option(
        "--results <file.json>",
        "render the records of an earlier run (a results document, e.g. reports/data/results.json) instead of running",
      ),
    )
    .addOption(jobsOption(JOBS))
    .addOption(resumeOption())
    .action(async (o) => setExit(await reportCommand(o)));

  program
    .command("merge")
    .description("join the --json output of sharded test runs (test --shard i/n --json)")
    .argument("<files...>", "results documents, one per shard")
    .addOption(jsonOption())
    .action(async (files: string[], o) => setExit(await mergeCommand(files, o)));

  addPatchCommands(program, setExit);

  program
    .command("bench")
    .description("run the benchmark programs in bench/ (writes reports/data/bench.json)")
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .helpOption(false)
    .argument("[args...]", "passed to bench/run.ts, e.g. --smoke")
    .action((args: string[]) => setExit(benchCommand(args)));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--json")) {
    // stdout holds the document and nothing else: a model's console output goes to stderr.
    console.log = console.error;
    console.info = console.error;
    console.debug = console.error;
  }
  let code = 0;
  const program = build((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its one-line message (or the help) already.
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0
        ? 0
        : 2;
    }
    if (process.env.MNLAB_DEBUG === "1" && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    if (e instanceof ToolFailure) {
      process.stderr.write(`mnlab: ${firstLine(e)}\n`);
      return EXIT.toolFailed;
    }
    process.stderr.write(`mnlab: ${e instanceof UsageError ? "" : "error: "}${firstLine(e)}\n`);
    return EXIT.usage;
  }
}

process.on("uncaughtException", (e) => {
  process.stderr.write(`mnlab: error: ${firstLine(e)}\n`);
  process.exit(2);
});
process.exitCode = await main(process.argv);
