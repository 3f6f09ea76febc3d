/**
 * `mnlab test [driver...]`: run scenarios and compare each verdict with the expected one.
 * Exit 0 when every verdict is as expected, 1 otherwise. With --json, stdout holds only the
 * results document (packages/cli/schema/results.schema.json).
 */
import type { ResultRecord } from "@mnlab/core";
import { resultsDocument, stableJson } from "@mnlab/report";
import { type LoadedCore, loadCoreVariant } from "../core-variant.ts";
import { UsageError } from "../errors.ts";
import type { ExplorationFlags, Shard } from "../options.ts";
import { RunStopped, runWork } from "../runner.ts";
import { verdictTable } from "../verdict-table.ts";
import { budgetOf, keyOf, shardOf, workList } from "../work.ts";

export interface TestOptions extends ExplorationFlags {
  variant: string[];
  shard?: Shard;
  jobs: number;
  json: boolean;
  resume: boolean;
  /** A core variant module: run on it instead of the merged core. */
  core?: string;
}

export async function testCommand(driverNames: string[], o: TestOptions): Promise<number> {
  const all = await workList({ drivers: driverNames, variants: o.variant, scenarios: o.scenario });
  if (all.length === 0) throw new UsageError("nothing to run: no driver package is registered");
  const core: LoadedCore | null = o.core === undefined ? null : await loadCoreVariant(o.core);
  const mine = shardOf(all, o.shard);
  let results: ResultRecord[];
  let stopped: RunStopped | null = null;
  try {
    results = await runWork(mine, {
      budget: budgetOf(o),
      jobs: o.jobs,
      progress: true,
      resume: o.resume,
      core,
    });
  } catch (e) {
    if (!(e instanceof RunStopped)) throw e;
    // Print every record that completed, then say in one line why the rest did not.
    stopped = e;
    results = e.completed;
  }
  if (o.json) {
    const doc =
      o.shard === undefined
        ? resultsDocument(results)
        : { ...resultsDocument(results), shard: o.shard, work: all.map(keyOf) };
    const { results: rs, ...head } = doc;
    const onCore = core === null ? {} : { core: { id: core.variant.id, module: o.core } };
    const incomplete =
      stopped === null ? {} : { incomplete: { reason: stopped.message, missing: stopped.missing } };
    process.stdout.write(stableJson({ ...head, ...onCore, ...incomplete, results: rs }));
  } else {
    if (o.shard !== undefined) {
      process.stdout.write(
        `shard ${o.shard.index}/${o.shard.count}: ${mine.length} of ${all.length} runs\n\n`,
      );
    }
    if (core !== null)
      process.stdout.write(`core variant ${core.variant.id}: ${core.variant.description}\n\n`);
    if (results.length > 0) process.stdout.write(verdictTable(results));
  }
  if (stopped !== null) {
    process.stderr.write(`mnlab: ${stopped.message}\n`);
    return stopped.status;
  }
  return results.every((r) => r.asExpected) ? 0 : 1;
}
