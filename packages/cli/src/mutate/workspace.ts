/**
 * Where a mutant runs: a copy of the variant's source next to the original (a sibling
 * directory `.mutant-<variant>-<pid>-<n>`, or a sibling file for a one-file source), so that
 * every relative import outside the variant resolves exactly as the original's does and the
 * mutant shares the driver's other modules (knobs a scenario sets included). The mutated file
 * replaces its original in the copy; the copy is loaded as a fresh module graph (new paths)
 * and removed afterwards — also when the command is interrupted.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { contractProblems, type DriverModel } from "@mnlab/core";
import { loadError } from "../load-error.ts";
import type { VariantEntry, VariantSource } from "../variant-source.ts";

const live = new Set<string>();

function cleanAll(): void {
  for (const p of live) rmSync(p, { recursive: true, force: true });
  live.clear();
}

let hooked = false;
function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", cleanAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      cleanAll();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

export type Loaded = { model: DriverModel } | { error: string };

/** Write the mutant's copy, load its entry, and hand back the model (or why it did not load). */
export async function withMutant<T>(
  src: VariantSource,
  entry: VariantEntry,
  tag: string,
  /** The source files' texts as read once at the start: the tree may change meanwhile. */
  snapshot: ReadonlyMap<string, string>,
  mutated: { file: string; text: string },
  run: (loaded: Loaded) => Promise<T>,
): Promise<T> {
  hookSignals();
  let root: string;
  let entryCopy: string;
  if (src.isDirectory) {
    root = join(dirname(src.base), `.mutant-${basename(src.base)}-${process.pid}-${tag}`);
    live.add(root);
    for (const f of src.files) {
      const target = join(root, relative(src.base, f));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f === mutated.file ? mutated.text : snapshot.get(f)!);
    }
    entryCopy = join(root, relative(src.base, entry.file));
  } else {
    root = join(src.base, `.mutant-${process.pid}-${tag}-${basename(src.files[0]!)}`);
    live.add(root);
    writeFileSync(root, mutated.text);
    entryCopy = root;
  }
  try {
    let loaded: Loaded;
    try {
      const mod: Record<string, unknown> = await import(pathToFileURL(entryCopy).href);
      const model = mod[entry.exportName];
      const problems = contractProblems(model);
      loaded = problems.length === 0 ? { model: model as DriverModel } : { error: problems.join("; ") };
    } catch (e) {
      loaded = { error: loadError(e) };
    }
    return await run(loaded);
  } finally {
    rmSync(root, { recursive: true, force: true });
    live.delete(root);
  }
}
