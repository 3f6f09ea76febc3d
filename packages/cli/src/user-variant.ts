/**
 * Loading a user-written variant (`--variant path.ts`): a migration patch under evaluation.
 * The module exports a DriverModel as its default export or as `variant`; its `info.driver`
 * names the registered driver whose scenarios it runs, next to that driver's own variants.
 * Whatever is wrong — the file does not load, it exports no model, the model misses part of
 * the contract, it names no known driver, its id is taken — is one line naming what is missing.
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { contractProblems, type DriverModel } from "@mnlab/core";
import { choices, UsageError } from "./errors.ts";
import { loadError } from "./load-error.ts";
import { userPath } from "./paths.ts";
import { drivers } from "./registry.ts";

/** Is this `--variant` value a module path (rather than a variant id)? */
export function isModulePath(v: string): boolean {
  return /[/\\]/.test(v) || /\.(ts|mts|js|mjs)$/.test(v);
}

export async function loadUserVariant(path: string, label = `--variant ${path}`): Promise<DriverModel> {
  const abs = userPath(path);
  if (!existsSync(abs)) throw new UsageError(`${label}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (e) {
    throw new UsageError(`${label} does not load: ${loadError(e)}`);
  }
  const model = mod.default ?? mod.variant;
  if (model === undefined) {
    throw new UsageError(`${label} exports no DriverModel: export it as default or as \`variant\``);
  }
  const problems = contractProblems(model);
  if (problems.length > 0) {
    throw new UsageError(`${label} is not a DriverModel: ${problems.join("; ")}`);
  }
  const m = model as DriverModel;
  const all = await drivers();
  const d = all.find((x) => x.name === m.info.driver);
  if (d === undefined) {
    throw new UsageError(
      `${label}: info.driver "${m.info.driver}" is not a registered driver (${choices(all.map((x) => x.name))})`,
    );
  }
  if (d.variants.some((v) => v.info.id === m.info.id)) {
    throw new UsageError(
      `${label}: info.id "${m.info.id}" is already a ${d.name} variant; choose another id`,
    );
  }
  return m;
}
