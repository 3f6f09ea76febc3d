/**
 * A worker process of the pool (pool.ts): loads the same drivers (and user-written variant
 * modules) as its parent, then runs the items it is sent, one at a time, reporting progress
 * and each record over IPC. It belongs to its parent: Ctrl-C is the parent's to handle (a
 * terminal sends SIGINT to the whole process group), and when the IPC channel closes — the
 * parent exited or was killed — the worker exits too.
 */
import { type CoreVariant, runScenario, withCoreVariant } from "@mnlab/core";
import { loadCoreVariant } from "./core-variant.ts";
import { firstLine } from "./errors.ts";
import type { FromWorker, ToWorker } from "./pool.ts";
import { drivers } from "./registry.ts";
import { loadUserVariant } from "./user-variant.ts";

const send = (m: FromWorker) => {
  if (process.connected) process.send!(m);
};
let extra: Awaited<ReturnType<typeof loadUserVariant>>[] = [];
/** The core variant of the run (`--core`), installed for the items sent with onCore. */
let core: CoreVariant | null = null;

process.on("SIGINT", () => {});
process.on("disconnect", () => process.exit(0));

process.on("message", async (m: ToWorker) => {
  try {
    if (m.type === "exit") {
      process.disconnect?.();
      return;
    }
    if (m.type === "init") {
      extra = [];
      for (const p of m.modules) extra.push(await loadUserVariant(p));
      core = m.core === null ? null : (await loadCoreVariant(m.core)).variant;
      await drivers();
      send({ type: "ready" });
      return;
    }
    const d = (await drivers()).find((x) => x.name === m.driver)!;
    const variant =
      d.variants.find((v) => v.info.id === m.variant) ??
      extra.find((v) => v.info.driver === m.driver && v.info.id === m.variant)!;
    const scenario = d.scenarios.find((s) => s.name === m.scenario)!;
    const record = await withCoreVariant(m.onCore ? core : null, () =>
      runScenario(variant, scenario, {
        ...m.budget,
        onProgress: (p) =>
          send({ type: "progress", index: m.index, executions: p.executions, failures: p.failures }),
      }),
    );
    send({ type: "result", index: m.index, record: JSON.parse(JSON.stringify(record)) });
  } catch (e) {
    send({ type: "error", message: firstLine(e) });
  }
});
