/**
 * Running a work list: in this process, or — with --jobs above 1 — in worker processes
 * (pool.ts). Records come back in work-list order whatever finished first, and pass through
 * JSON either way, so the output does not depend on the number of jobs.
 *
 * Every completed record is journalled (journal.ts); with `resume`, the items the journal
 * has are not run again. A run that cannot finish — Ctrl-C (interrupt.ts), an item that
 * killed its worker twice — rejects with RunStopped, which carries the records that did
 * complete, so the command can print them before it exits 130 or 3.
 */
import { type ResultRecord, runScenario, withCoreVariant } from "@mnlab/core";
import type { LoadedCore } from "./core-variant.ts";
import { EXIT } from "./errors.ts";
import { Interrupt } from "./interrupt.ts";
import { Journal } from "./journal.ts";
import { userPath } from "./paths.ts";
import { runInPool } from "./pool.ts";
import { Progress } from "./progress.ts";
import { type Budget, keyOf, type WorkItem } from "./work.ts";

export interface RunOptions {
  budget: Budget;
  jobs: number;
  progress: boolean;
  /** Take the records of items a previous run of the same code and budget completed. */
  resume?: boolean;
  /** Run on this core variant (`--core path.ts`) instead of the merged core. */
  core?: LoadedCore | null;
}

/** The run stopped before every item completed: why, the exit status, and what completed. */
export class RunStopped extends Error {
  constructor(
    message: string,
    readonly status: typeof EXIT.toolFailed | typeof EXIT.interrupted,
    /** The completed records, in work-list order. */
    readonly completed: ResultRecord[],
    /** The work keys (driver/variant/scenario) of the items that did not complete. */
    readonly missing: string[],
  ) {
    super(message);
    this.name = "RunStopped";
  }
}

const normalise = (r: ResultRecord): ResultRecord => JSON.parse(JSON.stringify(r));

async function runHere(
  items: readonly WorkItem[],
  queue: number[],
  budget: Budget,
  done: (i: number, r: ResultRecord) => void,
  progress: Progress,
  interrupt: Interrupt,
  core: LoadedCore | null,
): Promise<void> {
  for (const i of queue) {
    if (interrupt.stopping) return;
    const w = items[i]!;
    // Installed for this run only: an abandoned run (Ctrl-C) ends the process anyway.
    const run = withCoreVariant((w.core === undefined ? core : w.core)?.variant ?? null, () =>
      runScenario(w.variant, w.scenario, {
        ...budget,
        onProgress: (p) => progress.update(i, p.executions, p.failures),
      }),
    );
    const r = await Promise.race([run, interrupt.abandoned.then(() => null)]);
    if (r === null) return;
    done(i, normalise(r));
  }
}

export async function runWork(items: WorkItem[], opts: RunOptions): Promise<ResultRecord[]> {
  const progress = new Progress(items.length, opts.progress);
  const core = opts.core ?? null;
  const cores = [
    ...new Set([core, ...items.map((w) => w.core ?? null)].flatMap((c) => (c === null ? [] : [c.path]))),
  ];
  if (cores.length > 1) throw new Error(`one core variant per run, not ${cores.join(" and ")}`);
  const journal = new Journal(items, opts.budget, cores.map(userPath));
  const results: (ResultRecord | undefined)[] = new Array(items.length);
  if (opts.resume === true) {
    for (const [i, w] of items.entries()) results[i] = journal.lookup(w);
    const found = results.filter((r) => r !== undefined).length;
    process.stderr.write(`mnlab: resuming: ${found} of ${items.length} runs are in the journal\n`);
    for (const [i, r] of results.entries())
      if (r !== undefined) progress.finish(i, r.executions, r.verdict !== "pass");
  }
  const queue = [...items.keys()].filter((i) => results[i] === undefined);
  const done = (i: number, r: ResultRecord) => {
    results[i] = r;
    journal.record(items[i]!, r);
    progress.finish(i, r.executions, r.verdict !== "pass");
  };

  const interrupt = new Interrupt();
  interrupt.install();
  let failure: string | null = null;
  try {
    if (opts.jobs <= 1 || queue.length <= 1) {
      await runHere(items, queue, opts.budget, done, progress, interrupt, core);
    } else {
      failure = await runInPool(
        items,
        queue,
        opts.jobs,
        opts.budget,
        { onResult: done, onProgress: (i, e, f) => progress.update(i, e, f) },
        interrupt,
        cores[0] ?? null,
        core !== null,
      );
    }
  } finally {
    interrupt.uninstall();
    progress.end();
  }

  const missing = items.filter((_, i) => results[i] === undefined).map(keyOf);
  if (missing.length === 0) return results as ResultRecord[];
  const completed = results.filter((r): r is ResultRecord => r !== undefined);
  const tail = `${completed.length} of ${items.length} runs completed; \`--resume\` goes on from there`;
  if (failure !== null) throw new RunStopped(`${failure}; ${tail}`, EXIT.toolFailed, completed, missing);
  if (interrupt.stopping) throw new RunStopped(`interrupted; ${tail}`, EXIT.interrupted, completed, missing);
  throw new RunStopped(`no result for ${missing[0]}; ${tail}`, EXIT.toolFailed, completed, missing);
}
