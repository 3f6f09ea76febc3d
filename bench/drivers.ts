/**
 * Driver variants as benchmark implementations, named "<driver>:<variant>", reached through
 * the DriverModel contract so any driver package that lands can be measured the same way.
 */
import {
  type DeviceContext,
  type DriverModel,
  type DriverPackage,
  type ExplorationSpec,
  expectationFor,
  explorationFor,
  type Kernel,
  type MmStruct,
  type Scenario,
  scenarioProgram,
} from "@mnlab/core";
import { type ExploreResult, explore, type Strategy } from "@mnlab/sim";
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

/** A catalogued bug: a scenario a variant is expected to fail (its expectation is a violation). */
export interface CataloguedBug {
  driver: string;
  scenario: Scenario;
  variant: DriverModel;
  expected: string;
  /** The exploration the reports run this variant under (explorationFor). */
  exploration: ExplorationSpec;
  /** Explore it under `strategy` to its first failure, unshrunk, with the scenario's own limits. */
  firstFailure(strategy: Strategy, executions?: number): Promise<ExploreResult>;
}

/** Every catalogued bug of these drivers, in package, scenario, variant order. */
export async function* cataloguedBugs(
  drivers: readonly string[] = Object.keys(DRIVER_PACKAGES),
): AsyncGenerator<CataloguedBug> {
  for (const driver of drivers) {
    const load = DRIVER_PACKAGES[driver];
    if (load === undefined) die(`no driver package "${driver}"`);
    const pkg = (await load()).driverPackage;
    for (const scenario of pkg.scenarios) {
      for (const variant of pkg.variants) {
        const exp = expectationFor(scenario, variant.info.id);
        if (exp === undefined || exp.verdict === "pass") continue;
        const e = explorationFor(scenario, variant.info.id);
        const program = scenarioProgram(variant, scenario);
        yield {
          driver,
          scenario,
          variant,
          expected: String(exp.verdict),
          exploration: e,
          firstFailure: (strategy, executions = e.executions) =>
            explore(program, {
              strategy,
              executions,
              shrink: false,
              ...(e.maxSteps === undefined ? {} : { maxSteps: e.maxSteps }),
              ...(e.lockdep === undefined ? {} : { lockdep: e.lockdep }),
            }),
        };
      }
    }
  }
}

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
