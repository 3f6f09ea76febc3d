/**
 * Running a work list: in this process, or — with --jobs above 1 — in worker processes
 * that take items one at a time (scenarios differ a lot in cost, so a fixed split would
 * leave a core idle). Records come back in work-list order whatever finished first, and
 * pass through JSON either way, so the output does not depend on the number of jobs.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ResultRecord, runScenario } from "@mnlab/core";
import { firstLine, UsageError } from "./errors.ts";
import { Progress } from "./progress.ts";
import type { Budget, WorkItem } from "./work.ts";

export interface RunOptions {
  budget: Budget;
  jobs: number;
  progress: boolean;
}

/** Messages between the runner and a worker (worker.ts). */
export type ToWorker =
  | { type: "init"; modules: string[] }
  | { type: "run"; index: number; driver: string; variant: string; scenario: string; budget: Budget };
export type FromWorker =
  | { type: "ready" }
  | { type: "error"; message: string }
  | { type: "progress"; index: number; executions: number; failures: number }
  | { type: "result"; index: number; record: ResultRecord };

const normalise = (r: ResultRecord): ResultRecord => JSON.parse(JSON.stringify(r));

async function runHere(items: WorkItem[], opts: RunOptions, progress: Progress): Promise<ResultRecord[]> {
  const out: ResultRecord[] = [];
  for (const [i, w] of items.entries()) {
    const r = await runScenario(w.variant, w.scenario, {
      ...opts.budget,
      onProgress: (p) => progress.update(i, p.executions, p.failures),
    });
    progress.finish(i, r.executions, r.verdict !== "pass");
    out.push(normalise(r));
  }
  return out;
}

function tsxLoader(): string {
  return import.meta.resolve("tsx");
}

async function runInWorkers(
  items: WorkItem[],
  opts: RunOptions,
  progress: Progress,
): Promise<ResultRecord[]> {
  const modules = [...new Set(items.flatMap((w) => (w.modulePath === null ? [] : [w.modulePath])))];
  const results: (ResultRecord | undefined)[] = new Array(items.length);
  const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));
  let next = 0;
  const children: ChildProcess[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let live = Math.min(opts.jobs, items.length);
      const feed = (child: ChildProcess) => {
        if (next >= items.length) {
          child.send({ type: "exit" });
          child.disconnect();
          if (--live === 0) resolve();
          return;
        }
        const index = next++;
        const w = items[index]!;
        const msg: ToWorker = {
          type: "run",
          index,
          driver: w.driver.name,
          variant: w.variant.info.id,
          scenario: w.scenario.name,
          budget: opts.budget,
        };
        child.send(msg);
      };
      for (let j = 0; j < live; j++) {
        const child = fork(workerPath, [], {
          execArgv: ["--import", tsxLoader()],
          stdio: ["ignore", "pipe", "inherit", "ipc"],
        });
        // stdout belongs to the result (--json): whatever a model prints goes to stderr.
        child.stdout?.pipe(process.stderr);
        children.push(child);
        child.on("message", (m: FromWorker) => {
          switch (m.type) {
            case "ready":
              feed(child);
              break;
            case "error":
              reject(new UsageError(m.message));
              break;
            case "progress":
              progress.update(m.index, m.executions, m.failures);
              break;
            case "result":
              results[m.index] = m.record;
              progress.finish(m.index, m.record.executions, m.record.verdict !== "pass");
              feed(child);
              break;
          }
        });
        child.on("exit", (code) => {
          if (code !== 0 && code !== null) reject(new Error(`a worker process exited with code ${code}`));
        });
        child.on("error", (e) => reject(new Error(`a worker process failed: ${firstLine(e)}`)));
        child.send({ type: "init", modules } satisfies ToWorker);
      }
    });
  } finally {
    for (const c of children) if (c.exitCode === null && c.connected) c.kill();
  }
  return results.map((r, i) => {
    if (r === undefined) throw new Error(`no result for work item ${i}`);
    return r;
  });
}

export async function runWork(items: WorkItem[], opts: RunOptions): Promise<ResultRecord[]> {
  const progress = new Progress(items.length, opts.progress);
  const results =
    opts.jobs <= 1 || items.length <= 1
      ? await runHere(items, opts, progress)
      : await runInWorkers(items, opts, progress);
  progress.end();
  return results;
}
