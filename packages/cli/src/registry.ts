/**
 * The driver packages `mnlab` knows: each exports its `driverPackage` (variants, scenarios
 * with expectations, designs, patches). Adding a driver is one list entry.
 *
 * MNLAB_DRIVERS=path/to/module.ts replaces the list with the module's `driverPackages` (or its
 * single `driverPackage`): the CLI's own tests use it to run on a small fixture driver, and a
 * driver still being written can be tried before it is registered here.
 */
import { pathToFileURL } from "node:url";
import { contractProblems, type DriverPackage } from "@mnlab/core";
import { choices, ToolFailure, UsageError } from "./errors.ts";
import { loadError } from "./load-error.ts";
import { userPath } from "./paths.ts";

/**
 * Registered drivers, in the order the reports show them. Imported when first needed, so a
 * package that throws while it loads (a model under edit) is one line naming it, not a stack
 * trace before the command has started.
 */
const BUILT_IN: readonly [string, () => Promise<{ driverPackage: DriverPackage }>][] = [
  ["@mnlab/amdgpu", () => import("@mnlab/amdgpu")],
  ["@mnlab/nouveau", () => import("@mnlab/nouveau")],
  ["@mnlab/radeon", () => import("@mnlab/radeon")],
  ["@mnlab/rdma-odp", () => import("@mnlab/rdma-odp")],
  ["@mnlab/hfi1", () => import("@mnlab/hfi1")],
  ["@mnlab/xen-gntdev", () => import("@mnlab/xen-gntdev")],
  ["@mnlab/dmirror", () => import("@mnlab/dmirror")],
];

async function builtIn(): Promise<DriverPackage[]> {
  const out: DriverPackage[] = [];
  for (const [name, load] of BUILT_IN) {
    try {
      out.push((await load()).driverPackage);
    } catch (e) {
      throw new ToolFailure(`driver package ${name} does not load: ${loadError(e)}`);
    }
  }
  return out;
}

function checkPackage(p: unknown, from: string): DriverPackage {
  const d = p as Partial<DriverPackage> | null;
  if (typeof d !== "object" || d === null || typeof d.name !== "string") {
    throw new UsageError(`${from}: a driver package needs a name`);
  }
  for (const f of ["variants", "scenarios", "patches"] as const) {
    if (!Array.isArray(d[f])) throw new UsageError(`${from}: driver package ${d.name} has no ${f} array`);
  }
  for (const v of d.variants!) {
    const problems = contractProblems(v);
    if (problems.length > 0) throw new UsageError(`${from}: a ${d.name} variant: ${problems.join("; ")}`);
  }
  return d as DriverPackage;
}

let cached: DriverPackage[] | null = null;

/** The drivers in force: the built-in list, or MNLAB_DRIVERS's. */
export async function drivers(): Promise<DriverPackage[]> {
  if (cached !== null) return cached;
  const override = process.env.MNLAB_DRIVERS;
  if (override === undefined || override === "") {
    cached = await builtIn();
    return cached;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(userPath(override)).href);
  } catch (e) {
    throw new UsageError(`MNLAB_DRIVERS=${override} does not load: ${loadError(e)}`);
  }
  const list = Array.isArray(mod.driverPackages)
    ? mod.driverPackages
    : mod.driverPackage !== undefined
      ? [mod.driverPackage]
      : null;
  if (list === null)
    throw new UsageError(`MNLAB_DRIVERS=${override} exports neither driverPackages nor driverPackage`);
  cached = list.map((p) => checkPackage(p, `MNLAB_DRIVERS=${override}`));
  return cached;
}

export async function driverNamed(name: string): Promise<DriverPackage> {
  const all = await drivers();
  const d = all.find((x) => x.name === name);
  if (d === undefined)
    throw new UsageError(`unknown driver "${name}": valid drivers are ${choices(all.map((x) => x.name))}`);
  return d;
}
