/**
 * The driver packages `mnlab` knows: each exports its `driverPackage` (variants, scenarios
 * with expectations, designs, patches). Adding a driver is one import and one list entry.
 *
 * MNLAB_DRIVERS=path/to/module.ts replaces the list with the module's `driverPackages` (or its
 * single `driverPackage`): the CLI's own tests use it to run on a small fixture driver, and a
 * driver still being written can be tried before it is registered here.
 */
import { pathToFileURL } from "node:url";
import { driverPackage as amdgpu } from "@mnlab/amdgpu";
import { contractProblems, type DriverPackage } from "@mnlab/core";
import { driverPackage as dmirror } from "@mnlab/dmirror";
import { driverPackage as hfi1 } from "@mnlab/hfi1";
import { driverPackage as nouveau } from "@mnlab/nouveau";
import { driverPackage as radeon } from "@mnlab/radeon";
import { driverPackage as rdmaOdp } from "@mnlab/rdma-odp";
import { driverPackage as xenGntdev } from "@mnlab/xen-gntdev";
import { choices, UsageError } from "./errors.ts";
import { loadError } from "./load-error.ts";
import { userPath } from "./paths.ts";

/** Registered drivers, in the order the reports show them. */
export const BUILT_IN: readonly DriverPackage[] = [
  amdgpu,
  nouveau,
  radeon,
  rdmaOdp,
  hfi1,
  xenGntdev,
  dmirror,
];

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
    cached = [...BUILT_IN];
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
