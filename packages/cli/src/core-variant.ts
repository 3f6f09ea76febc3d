/**
 * Loading a core variant (`--core path.ts`): a patch to the notifier core itself, a module
 * whose default export (or `coreVariant`) has an id, a one-line description and the core
 * functions it replaces by kernel name (@mnlab/core's seam, core-seam.ts). Whatever is
 * wrong — no file, it does not load, no export, a name the seam does not offer, a
 * replacement of the wrong shape — is one line (a UsageError: exit 2).
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { type CoreVariant, coreVariantProblems } from "@mnlab/core";
import { UsageError } from "./errors.ts";
import { loadError } from "./load-error.ts";
import { userPath } from "./paths.ts";

/** A core variant and the module path it was loaded from (which a worker loads again). */
export interface LoadedCore {
  variant: CoreVariant;
  path: string;
}

export async function loadCoreVariant(path: string): Promise<LoadedCore> {
  const label = `--core ${path}`;
  const abs = userPath(path);
  if (!existsSync(abs)) throw new UsageError(`${label}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (e) {
    throw new UsageError(`${label} does not load: ${loadError(e)}`);
  }
  const v = mod.default ?? mod.coreVariant;
  if (v === undefined) {
    throw new UsageError(`${label} exports no core variant: export it as default or as \`coreVariant\``);
  }
  const problems = coreVariantProblems(v);
  if (problems.length > 0) throw new UsageError(`${label} is not a core variant: ${problems.join("; ")}`);
  return { variant: v as CoreVariant, path };
}
