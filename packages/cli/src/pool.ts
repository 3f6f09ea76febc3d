/**
 * Worker processes that take work items one at a time (scenarios differ a lot in cost, so a
 * fixed split would leave a core idle).
 *
 * A worker that dies — killed by a signal (the OOM killer's SIGKILL), crashed, or exited
 * unasked — is said in one line on stderr, naming the worker, its item and the signal or
 * code, and its item is rerun on a fresh worker: a record follows from its item alone, so a
 * rerun gives the same bytes. A second death on the same item ends the run (the tool failed,
 * exit 3) with every record that completed. A worker belongs to its parent: it ignores
 * SIGINT and exits when the IPC channel closes, so none outlives the command.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ResultRecord } from "@mnlab/core";
import { firstLine, UsageError } from "./errors.ts";
import type { Interrupt } from "./interrupt.ts";
import { type Budget, keyOf, type WorkItem } from "./work.ts";

/** Messages between the pool and a worker (worker.ts). */
export type ToWorker =
  | { type: "init"; modules: string[]; core: string | null }
  | {
      type: "run";
      index: number;
      driver: string;
      variant: string;
      scenario: string;
      budget: Budget;
      /** Install the core variant of init for this run. */
      onCore: boolean;
    }
  | { type: "exit" };
export type FromWorker =
  | { type: "ready" }
  | { type: "error"; message: string }
  | { type: "progress"; index: number; executions: number; failures: number }
  | { type: "result"; index: number; record: ResultRecord };

export interface PoolHooks {
  onResult(index: number, record: ResultRecord): void;
  onProgress(index: number, executions: number, failures: number): void;
}

interface Worker {
  id: number;
  child: ChildProcess;
  /** The item this worker holds: sent, or to be sent when it is ready. */
  current: number | null;
  /** Told to exit, or killed by the pool: its exit is no death. */
  leaving: boolean;
}

const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));
const tsxLoader = () => import.meta.resolve("tsx");

/**
 * Run the queued items (indices into items) on `jobs` workers. Resolves with the reason the
 * run was cut short (a twice-dead item), or null when the queue ran dry or the interrupt
 * stopped it; rejects with a UsageError when a worker cannot load the drivers or modules.
 */
export function runInPool(
  items: readonly WorkItem[],
  queue: number[],
  jobs: number,
  budget: Budget,
  hooks: PoolHooks,
  interrupt: Interrupt,
  /** The core variant's module (`--core`), which every worker loads, and installs for the items on it. */
  core: string | null = null,
  /** Items that do not say (WorkItem.core undefined) run on that core variant. */
  coreByDefault = false,
): Promise<string | null> {
  const modules = [...new Set(items.flatMap((w) => (w.modulePath === null ? [] : [w.modulePath])))];
  const deaths = new Map<number, number>();
  const live = new Set<Worker>();
  let nextId = 1;
  let failure: string | null = null;
  let usage: UsageError | null = null;

  return new Promise((resolve, reject) => {
    const settle = () => {
      if (live.size > 0) return;
      process.off("exit", killAll);
      if (usage !== null) reject(usage);
      else resolve(failure);
    };
    const killAll = () => {
      for (const w of live) {
        w.leaving = true;
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
      }
    };
    const stop = (why: string | null, err: UsageError | null = null) => {
      if (failure === null && why !== null) failure = why;
      if (usage === null && err !== null) usage = err;
      killAll();
    };
    process.on("exit", killAll);

    const send = (w: Worker, m: ToWorker) => {
      if (w.child.connected) w.child.send(m);
    };
    const feed = (w: Worker) => {
      const index = w.current ?? (interrupt.stopping || failure !== null ? undefined : queue.shift());
      if (index === undefined) {
        w.leaving = true;
        send(w, { type: "exit" });
        return;
      }
      w.current = index;
      const item = items[index]!;
      send(w, {
        type: "run",
        index,
        driver: item.driver.name,
        variant: item.variant.info.id,
        scenario: item.scenario.name,
        budget,
        onCore: core !== null && (item.core === undefined ? coreByDefault : item.core !== null),
      });
    };

    const spawn = (assigned: number | null): Worker => {
      const child = fork(workerPath, [], {
        execArgv: ["--import", tsxLoader()],
        stdio: ["ignore", "pipe", "inherit", "ipc"],
      });
      // stdout belongs to the result (--json): whatever a model prints goes to stderr.
      child.stdout?.pipe(process.stderr);
      const w: Worker = { id: nextId++, child, current: assigned, leaving: false };
      live.add(w);
      interrupt.track(child);
      child.on("message", (m: FromWorker) => {
        switch (m.type) {
          case "ready":
            feed(w);
            break;
          case "error":
            stop(null, new UsageError(m.message));
            break;
          case "progress":
            hooks.onProgress(m.index, m.executions, m.failures);
            break;
          case "result":
            w.current = null;
            hooks.onResult(m.index, m.record);
            feed(w);
            break;
        }
      });
      child.on("error", (e) => {
        if (!w.leaving) stop(`a worker process failed: ${firstLine(e)}`);
      });
      child.on("exit", (code, signal) => {
        live.delete(w);
        if (!w.leaving) died(w, code, signal);
        settle();
      });
      send(w, { type: "init", modules, core });
      return w;
    };

    const died = (w: Worker, code: number | null, signal: NodeJS.Signals | null) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      const index = w.current;
      const what = index === null ? "while starting" : `while running ${keyOf(items[index]!)}`;
      const head = `mnlab: worker ${w.id} (pid ${w.child.pid}) ${how} ${what}`;
      const n = (deaths.get(index ?? -1) ?? 0) + 1;
      deaths.set(index ?? -1, n);
      if (n >= 2) {
        const reason =
          index === null
            ? "workers die while starting: giving up"
            : `${keyOf(items[index]!)} killed its worker twice: giving up`;
        process.stderr.write(`${head}\n`);
        stop(reason);
        return;
      }
      if (interrupt.stopping || failure !== null) {
        process.stderr.write(`${head}\n`);
        if (index !== null) queue.unshift(index);
        return;
      }
      const fresh = spawn(index);
      process.stderr.write(
        `${head}: ${index === null ? "starting" : "rerunning it on"} worker ${fresh.id} (pid ${fresh.child.pid})\n`,
      );
    };

    interrupt.onStop(() => {
      // Idle workers leave at their next feed; abandon the busy ones after the grace.
      interrupt.abandoned.then(killAll);
    });

    const n = Math.min(jobs, queue.length);
    for (let j = 0; j < n; j++) spawn(null);
    if (n === 0) settle();
  });
}
