/**
 * The journal of completed work items, so an interrupted run (Ctrl-C, a worker's death, a
 * reboot) goes on with `--resume` where it stopped. A record follows from its work item,
 * its budget and the code it ran, and nothing else (no wall clock), so a journalled record
 * is exactly what a rerun would give: resuming changes no byte of the output.
 *
 * One file per completed item, named by a hash of (the code, the item, the budget), written
 * to a temporary name and renamed, so a crash never leaves half a record. "The code" is every
 * source file under packages/<pkg>/src plus the user-written variant modules of the run: a
 * change anywhere in the models, the harness or the runtime makes every old entry a miss.
 *
 * The folder is `node_modules/.cache/mnlab/journal` in the repository, or $MNLAB_CACHE/journal.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ResultRecord } from "@mnlab/core";
import { repoRoot } from "./paths.ts";
import { type Budget, keyOf, type WorkItem } from "./work.ts";

function cacheRoot(): string {
  const env = process.env.MNLAB_CACHE;
  return env !== undefined && env !== "" ? resolve(env) : join(repoRoot, "node_modules", ".cache", "mnlab");
}

function sourceFiles(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    if (n === "node_modules") continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|mts|js|mjs|json)$/.test(n)) out.push(p);
  }
}

/** A hash of every model, harness and runtime source file, and of the given extra modules. */
function codeHash(extraModules: readonly string[]): string {
  const h = createHash("sha256");
  const files: string[] = [];
  const pkgs = join(repoRoot, "packages");
  for (const p of readdirSync(pkgs).sort()) sourceFiles(join(pkgs, p, "src"), files);
  for (const m of [...extraModules].sort()) files.push(resolve(m));
  for (const f of files) {
    h.update(f.slice(repoRoot.length));
    h.update("\0");
    h.update(readFileSync(f));
    h.update("\0");
  }
  return h.digest("hex");
}

export class Journal {
  private readonly dir: string;
  private readonly code: string;

  constructor(
    items: readonly WorkItem[],
    private readonly budget: Budget,
    /** Further modules the run loads: the core variant of `--core`. */
    extraModules: readonly string[] = [],
  ) {
    this.dir = join(cacheRoot(), "journal");
    this.code = codeHash([
      ...items.flatMap((w) => (w.modulePath === null ? [] : [w.modulePath])),
      ...extraModules,
    ]);
  }

  private file(w: WorkItem): string {
    const key = createHash("sha256")
      .update(this.code)
      .update("\0")
      .update(keyOf(w))
      .update("\0")
      .update(w.core === undefined ? "" : w.core === null ? "merged core" : `core ${w.core.path}`)
      .update("\0")
      .update(JSON.stringify(this.budget, Object.keys(this.budget).sort()))
      .digest("hex");
    return join(this.dir, `${key.slice(0, 40)}.json`);
  }

  /** The journalled record of this item, if a run of the same code and budget completed it. */
  lookup(w: WorkItem): ResultRecord | undefined {
    try {
      const entry = JSON.parse(readFileSync(this.file(w), "utf8")) as { key: string; record: ResultRecord };
      return entry.key === keyOf(w) ? entry.record : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Journal a completed item. A failure to write the journal loses nothing but the chance to
   * resume, so it is said once on stderr and the run goes on.
   */
  record(w: WorkItem, rec: ResultRecord): void {
    if (this.broken) return;
    const path = this.file(w);
    try {
      mkdirSync(this.dir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ key: keyOf(w), record: rec }));
      renameSync(tmp, path);
    } catch (e) {
      this.broken = true;
      process.stderr.write(
        `mnlab: cannot journal results under ${this.dir} (${(e as NodeJS.ErrnoException).code ?? e}): --resume will not find this run\n`,
      );
    }
  }

  private broken = false;
}
