/**
 * `mnlab merge <files...>`: join the JSON of `mnlab test --shard i/n --json` runs into one.
 * Every document must be a shard of the same work list (an unsharded document, or the same
 * shard twice, is refused: joining those would count runs twice or mix runs); each item must
 * be present exactly once, and the merged records follow the work list's order — the same
 * document an unsharded run prints.
 */
import { readFileSync } from "node:fs";
import type { ResultRecord } from "@mnlab/core";
import { RESULTS_SCHEMA, type ResultsDocument, resultsDocument, stableJson } from "@mnlab/report";
import { firstLine, UsageError } from "../errors.ts";
import { userPath } from "../paths.ts";
import { verdictTable } from "../verdict-table.ts";
import { workKey } from "../work.ts";

function read(path: string): ResultsDocument {
  let doc: ResultsDocument;
  try {
    doc = JSON.parse(readFileSync(userPath(path), "utf8"));
  } catch (e) {
    throw new UsageError(`${path}: ${firstLine(e)}`);
  }
  if (
    typeof doc !== "object" ||
    doc === null ||
    doc.schema !== RESULTS_SCHEMA ||
    !Array.isArray(doc.results)
  ) {
    throw new UsageError(`${path}: not a results document (schema "${RESULTS_SCHEMA}")`);
  }
  return doc;
}

export function mergeDocuments(docs: { path: string; doc: ResultsDocument }[]): ResultRecord[] {
  for (const { path, doc } of docs) {
    if (doc.work === undefined || doc.shard === undefined) {
      throw new UsageError(
        `${path}: not a shard (no "shard" and "work"): merge joins the outputs of test --shard i/n --json`,
      );
    }
  }
  const sharded = docs;
  const work = sharded[0]!.doc.work!;
  const count = sharded[0]!.doc.shard!.count;
  const seen = new Map<string, ResultRecord>();
  const shardFrom = new Map<number, string>();
  for (const { path, doc } of sharded) {
    if (doc.shard!.count !== count || JSON.stringify(doc.work) !== JSON.stringify(work)) {
      throw new UsageError(`${path}: shard of a different run (its work list or shard count differs)`);
    }
    const index = doc.shard!.index;
    const twin = shardFrom.get(index);
    if (twin !== undefined) {
      throw new UsageError(`${path}: shard ${index}/${count} is given twice (also ${twin})`);
    }
    shardFrom.set(index, path);
    for (const r of doc.results) {
      const k = workKey(r.driver, r.variant, r.scenario);
      if (seen.has(k)) throw new UsageError(`${path}: ${k} is in two shards`);
      seen.set(k, r);
    }
  }
  const missing = work.filter((k) => !seen.has(k));
  if (missing.length > 0) {
    throw new UsageError(
      `${missing.length} of ${work.length} runs missing (first: ${missing[0]}): a shard is absent`,
    );
  }
  return work.map((k) => seen.get(k)!);
}

export async function mergeCommand(files: string[], o: { json: boolean }): Promise<number> {
  const results = mergeDocuments(files.map((path) => ({ path, doc: read(path) })));
  process.stdout.write(o.json ? stableJson(resultsDocument(results)) : verdictTable(results));
  return results.every((r) => r.asExpected) ? 0 : 1;
}
