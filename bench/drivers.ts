/**
 * Driver variants as benchmark implementations, named "<driver>:<variant>", reached through
 * the DriverModel contract so any driver package that lands can be measured the same way.
 */
import type { DeviceContext, DriverModel, DriverPackage, Kernel, MmStruct } from "@mnlab/core";
import { die } from "./lib.ts";

/** Every driver package the bench programs measure, loaded on first use. */
export const DRIVER_PACKAGES: Record<string, () => Promise<{ driverPackage: DriverPackage }>> = {
  amdgpu: () => import("@mnlab/amdgpu"),
  nouveau: () => import("@mnlab/nouveau"),
  radeon: () => import("@mnlab/radeon"),
  "rdma-odp": () => import("@mnlab/rdma-odp"),
  hfi1: () => import("@mnlab/hfi1"),
  "xen-gntdev": () => import("@mnlab/xen-gntdev"),
  dmirror: () => import("@mnlab/dmirror"),
};

/** The "driver:variant" implementation names for these drivers' legacy and interval variants. */
export function driverImpls(drivers: readonly string[]): string[] {
  return drivers.flatMap((d) => [`${d}:legacy`, `${d}:interval`]);
}

export async function loadVariant(impl: string): Promise<DriverModel> {
  const [driver, id] = impl.split(":");
  const load = driver === undefined ? undefined : DRIVER_PACKAGES[driver];
  if (load === undefined) return die(`no driver package "${driver}"`);
  const v = (await load()).driverPackage.variants.find((x) => x.info.id === id);
  if (v === undefined) return die(`${driver} has no variant "${id}"`);
  return v;
}

export async function openOrDie(v: DriverModel, k: Kernel, mm: MmStruct): Promise<DeviceContext> {
  const ctx = await v.open(k, mm);
  if (typeof ctx === "number") return die(`${v.info.driver}:${v.info.id} open() returned ${ctx}`);
  return ctx;
}
