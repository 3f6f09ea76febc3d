/**
 * The work list of a run: (driver, variant, scenario) items in a fixed order — driver as
 * registered, then scenario as the driver lists it, then variant (built-ins first, then
 * user-written ones in the order given). `--shard i/n` keeps the items whose position is
 * i-1 modulo n, so n machines split any list the same way and `mnlab merge` can put the
 * pieces back in order.
 */
import type { DriverModel, DriverPackage, RunOverrides, Scenario } from "@mnlab/core";
import type { LoadedCore } from "./core-variant.ts";
import { choices, UsageError } from "./errors.ts";
import type { ExplorationFlags, Shard } from "./options.ts";
import { drivers } from "./registry.ts";
import { isModulePath, loadUserVariant } from "./user-variant.ts";

export interface WorkItem {
  driver: DriverPackage;
  variant: DriverModel;
  scenario: Scenario;
  /** User-written variant: its module path, which a worker process must load too. */
  modulePath: string | null;
  /**
   * Run on this core variant rather than the run's (RunOptions.core): `evaluate --core` puts
   * each item on the merged core (null) next to the same item on the patched one, in one run,
   * so both sides run the same code in the same worker processes.
   */
  core?: LoadedCore | null;
}

export function workKey(driver: string, variant: string, scenario: string): string {
  return `${driver}/${variant}/${scenario}`;
}

export function keyOf(w: WorkItem): string {
  return workKey(w.driver.name, w.variant.info.id, w.scenario.name);
}

export interface Selection {
  drivers: string[];
  variants: string[];
  scenarios: string[];
}

export async function workList(sel: Selection): Promise<WorkItem[]> {
  const all = await drivers();
  for (const name of sel.drivers) {
    if (!all.some((d) => d.name === name)) {
      throw new UsageError(`unknown driver "${name}": valid drivers are ${choices(all.map((d) => d.name))}`);
    }
  }
  let chosen = sel.drivers.length === 0 ? all : all.filter((d) => sel.drivers.includes(d.name));

  const ids = sel.variants.filter((v) => !isModulePath(v));
  const paths = sel.variants.filter(isModulePath);
  const user: { model: DriverModel; path: string }[] = [];
  for (const p of paths) {
    const model = await loadUserVariant(p);
    if (user.some((u) => u.model.info.driver === model.info.driver && u.model.info.id === model.info.id)) {
      throw new UsageError(`--variant ${p}: info.id "${model.info.id}" is given twice`);
    }
    user.push({ model, path: p });
  }
  for (const u of user) {
    if (!chosen.some((d) => d.name === u.model.info.driver)) {
      throw new UsageError(
        `--variant ${u.path} is a ${u.model.info.driver} patch (its info.driver), but this command runs ` +
          `${choices(chosen.map((d) => d.name))}: add ${u.model.info.driver} to the drivers, or leave the patch out`,
      );
    }
  }
  if (paths.length > 0 && sel.drivers.length === 0) {
    // A patch under evaluation: run its driver(s) only.
    chosen = chosen.filter((d) => user.some((u) => u.model.info.driver === d.name));
  }
  const validIds = [...new Set(chosen.flatMap((d) => d.variants.map((v) => v.info.id)))];
  for (const id of ids) {
    if (!validIds.includes(id)) {
      throw new UsageError(
        `unknown variant "${id}": valid variants are ${choices(validIds)}, or a module path`,
      );
    }
  }
  const validScenarios = [...new Set(chosen.flatMap((d) => d.scenarios.map((s) => s.name)))];
  for (const s of sel.scenarios) {
    if (!validScenarios.includes(s)) {
      throw new UsageError(`unknown scenario "${s}": valid scenarios are ${choices(validScenarios)}`);
    }
  }

  const items: WorkItem[] = [];
  for (const d of chosen) {
    const builtIns = d.variants.filter((v) => ids.length === 0 || ids.includes(v.info.id));
    const mine = user.filter((u) => u.model.info.driver === d.name);
    for (const s of d.scenarios) {
      if (sel.scenarios.length > 0 && !sel.scenarios.includes(s.name)) continue;
      for (const v of builtIns) items.push({ driver: d, variant: v, scenario: s, modulePath: null });
      for (const u of mine) items.push({ driver: d, variant: u.model, scenario: s, modulePath: u.path });
    }
  }
  return items;
}

export function shardOf<T>(items: readonly T[], shard: Shard | undefined): T[] {
  if (shard === undefined) return [...items];
  return items.filter((_, i) => i % shard.count === shard.index - 1);
}

/** The overrides a run applies to every scenario's default exploration. */
export type Budget = Omit<RunOverrides, "onProgress">;

/** The budget the exploration flags ask for: each flag given overrides the scenarios' own. */
export function budgetOf(o: Omit<ExplorationFlags, "scenario">): Budget {
  const b: Budget = {};
  if (o.strategy !== undefined) b.strategy = o.strategy;
  if (o.executions !== undefined) b.executions = o.executions;
  if (o.seed !== undefined) b.seed = o.seed;
  if (o.preemptions !== undefined) b.preemptionBound = o.preemptions;
  if (o.reduction !== undefined) b.reduction = o.reduction;
  if (o.budget !== undefined) b.timeBudgetMs = o.budget;
  return b;
}
