/**
 * `mnlab merge <files...>`: join the JSON of `mnlab test --shard i/n --json` runs (or any
 * results documents) into one. Shards must come from the same work list; each item must be
 * present exactly once, and the merged records follow the work list's order — the same
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
  const sharded = docs.filter((d) => d.doc.work !== undefined);
  if (sharded.length === 0) return docs.flatMap((d) => d.doc.results);
  if (sharded.length !== docs.length) throw new UsageError("cannot merge shards with unsharded results");
  const work = sharded[0]!.doc.work!;
  const count = sharded[0]!.doc.shard?.count;
  const seen = new Map<string, ResultRecord>();
  for (const { path, doc } of sharded) {
    if (doc.shard?.count !== count || JSON.stringify(doc.work) !== JSON.stringify(work)) {
      throw new UsageError(`${path}: shard of a different run (its work list or shard count differs)`);
    }
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
