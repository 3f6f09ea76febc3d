/**
 * The core seam: the table of notifier-core functions a core patch may replace, and the
 * "core variant" that replaces some of them for one run. A driver variant answers "is this
 * conversion right?"; a core variant answers "is this change to mm/mmu_notifier.c right for
 * every user at once?", by running every driver's scenarios on it.
 *
 * The core calls these functions through the table (coreFunctions()), never directly, so a
 * replacement is seen by every caller — the driver-facing entry points, the core's own
 * internal calls (mn_itree_invalidate's mn_itree_inv_end on a refused range, release's walk)
 * and the other replacements. A replacement has the kernel function's signature (the same
 * arguments, the same return: errno ints stay errno ints); to call another core function it
 * calls it through coreFunctions() too, and to reach the merged body of one it uses
 * MERGED_CORE (what a patch's context lines would call).
 *
 * Not monkey-patching: the table is the only thing that changes, it has exactly these names,
 * installCoreVariant() refuses a name outside it or a replacement of another arity, and the
 * install is undone after the run (nothing else in the core is touched).
 */
import type { MmStruct } from "../mm/mm.ts";
import type { MmuIntervalNotifier } from "./interval-notifier.ts";
import {
  mmuIntervalNotifierRemove55,
  mmuIntervalReadBegin55,
  mnItreeInvalidate55,
  mnItreeInvEnd55,
  mnItreeRelease55,
} from "./interval-notifier.ts";
import {
  __mmuNotifierInvalidateRangeEnd55,
  __mmuNotifierInvalidateRangeStart55,
  mnHlistInvalidateEnd55,
  mnHlistInvalidateRangeStart55,
} from "./mmu-notifier.ts";
import type { MmuNotifierMm } from "./notifier-mm.ts";
import type { MmuNotifierRange } from "./range.ts";

/** The replaceable functions, by their kernel names (mm/mmu_notifier.c @5.5). */
export interface CoreFunctions {
  /** 0, or the first pass's error (-EAGAIN on a refused non-blockable range). */
  __mmu_notifier_invalidate_range_start(range: MmuNotifierRange): Promise<number>;
  /** The interval-tree pass of a start: counts the range; 0 or -EAGAIN. */
  mn_itree_invalidate(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<number>;
  /** The classic (hlist) pass of a start: 0 or the last callback error. */
  mn_hlist_invalidate_range_start(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<number>;
  /** Drop one counted range; the last ends the exclusion period and wakes the waiters. */
  mn_itree_inv_end(nmm: MmuNotifierMm): Promise<void>;
  /** The classic pass of an end. */
  mn_hlist_invalidate_end(nmm: MmuNotifierMm, range: MmuNotifierRange): Promise<void>;
  /**
   * The end of a range (mn_itree_inv_end, then the classic pass); the kernel's only_end
   * argument is not modelled (the model has no ->invalidate_range op for it to skip).
   */
  __mmu_notifier_invalidate_range_end(range: MmuNotifierRange): Promise<void>;
  /** exit_mmap's interval-tree pass. */
  mn_itree_release(nmm: MmuNotifierMm, mm: MmStruct): Promise<void>;
  mmu_interval_notifier_remove(sub: MmuIntervalNotifier): Promise<void>;
  mmu_interval_read_begin(sub: MmuIntervalNotifier): Promise<number>;
}

export type CoreFunctionName = keyof CoreFunctions;

/**
 * A core patch as a module's default export (or `coreVariant`): like a driver variant, an id
 * and a one-line description, and the functions it replaces by kernel name.
 */
export interface CoreVariant {
  id: string;
  /** One line: what the patch changes. */
  description: string;
  replaces: Partial<CoreFunctions>;
  /**
   * New API the patch adds (EXPORT_SYMBOL), by kernel name: functions the merged core does
   * not have, which a driver written against the patched core reaches with coreSymbol()
   * (symbol_get). Not part of the replaceable table; absent on the merged core.
   */
  provides?: Record<string, (...args: never[]) => unknown>;
}

let merged: CoreFunctions | null = null;

/** The merged 5.5 bodies (built on first use: the modules that define them import this one). */
function mergedCore(): CoreFunctions {
  merged ??= Object.freeze({
    __mmu_notifier_invalidate_range_start: __mmuNotifierInvalidateRangeStart55,
    mn_itree_invalidate: mnItreeInvalidate55,
    mn_hlist_invalidate_range_start: mnHlistInvalidateRangeStart55,
    mn_itree_inv_end: mnItreeInvEnd55,
    mn_hlist_invalidate_end: mnHlistInvalidateEnd55,
    __mmu_notifier_invalidate_range_end: __mmuNotifierInvalidateRangeEnd55,
    mn_itree_release: mnItreeRelease55,
    mmu_interval_notifier_remove: mmuIntervalNotifierRemove55,
    mmu_interval_read_begin: mmuIntervalReadBegin55,
  });
  return merged;
}

/** The merged bodies, for a replacement that keeps the kernel's call to one of them. */
export const MERGED_CORE: CoreFunctions = new Proxy({} as CoreFunctions, {
  get: (_t, name) => mergedCore()[name as CoreFunctionName],
  ownKeys: () => Reflect.ownKeys(mergedCore()),
  getOwnPropertyDescriptor: (_t, name) => Reflect.getOwnPropertyDescriptor(mergedCore(), name),
});

let installed: { variant: CoreVariant; table: CoreFunctions } | null = null;

/** The table the core calls through: the installed core variant's, else the merged one. */
export function coreFunctions(): CoreFunctions {
  return installed?.table ?? mergedCore();
}

/** The installed core variant, or null when the run is on the merged core. */
export function installedCoreVariant(): CoreVariant | null {
  return installed?.variant ?? null;
}

/**
 * include/linux/module.h: symbol_get() — the installed core variant's exported symbol of
 * that name (its `provides`), or null: the merged core exports none of them. A driver
 * written against a patched core's new API looks it up at open and fails the open when it
 * is absent, so on the merged core it reports that instead of running without it.
 */
export function coreSymbol<F extends (...args: never[]) => unknown>(name: string): F | null {
  const fn = installed?.variant.provides?.[name];
  return fn === undefined ? null : (fn as F);
}

/** The names the seam offers, in the table's order. */
export function coreFunctionNames(): CoreFunctionName[] {
  return Object.keys(mergedCore()) as CoreFunctionName[];
}

/**
 * What is wrong with a would-be core variant, as short phrases (empty when nothing): a missing
 * id or description, a name the seam does not offer, a replacement that is not a function or
 * takes another number of arguments than the kernel function it replaces.
 */
export function coreVariantProblems(v: unknown): string[] {
  if (typeof v !== "object" || v === null) return ["not an object"];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  if (typeof o.id !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(o.id))
    out.push("id must be lower-case letters, digits and dashes");
  if (typeof o.description !== "string" || o.description.trim() === "" || o.description.includes("\n"))
    out.push("description must be one non-empty line");
  if (o.provides !== undefined) {
    if (typeof o.provides !== "object" || o.provides === null)
      out.push("provides must be an object of functions by kernel name");
    else
      for (const [name, fn] of Object.entries(o.provides)) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) out.push(`provides.${name} is not a kernel symbol name`);
        else if ((coreFunctionNames() as string[]).includes(name))
          out.push(`provides.${name} is in the seam's table: replace it instead`);
        else if (typeof fn !== "function") out.push(`provides.${name} is not a function`);
      }
  }
  if (typeof o.replaces !== "object" || o.replaces === null) {
    out.push("replaces must be an object of functions by kernel name");
    return out;
  }
  const table = mergedCore() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const names = coreFunctionNames();
  const given = Object.keys(o.replaces);
  if (given.length === 0) out.push("replaces names no function");
  for (const name of given) {
    const fn = (o.replaces as Record<string, unknown>)[name];
    const orig = table[name];
    if (orig === undefined) {
      out.push(`the seam offers no "${name}" (it offers ${names.join(", ")})`);
    } else if (typeof fn !== "function") {
      out.push(`replaces.${name} is not a function`);
    } else if (fn.length !== orig.length) {
      out.push(
        `replaces.${name} takes ${fn.length} argument${fn.length === 1 ? "" : "s"}, ` +
          `the kernel's ${name} takes ${orig.length}`,
      );
    }
  }
  return out;
}

/**
 * Install a core variant for one run; returns the function that uninstalls it. Runs are
 * sequential in a process (the runner and a worker run one scenario at a time), so one
 * variant at a time: installing over another is API misuse.
 */
export function installCoreVariant(v: CoreVariant): () => void {
  const problems = coreVariantProblems(v);
  if (problems.length > 0) throw new Error(`not a core variant: ${problems.join("; ")}`);
  if (installed !== null) {
    throw new Error(`core variant ${installed.variant.id} is installed already (installing ${v.id})`);
  }
  const mine = { variant: v, table: Object.freeze({ ...mergedCore(), ...v.replaces }) as CoreFunctions };
  installed = mine;
  return () => {
    if (installed === mine) installed = null;
  };
}

/** Run fn with the core variant installed (none: the merged core), uninstalling after. */
export async function withCoreVariant<T>(v: CoreVariant | null, fn: () => Promise<T>): Promise<T> {
  if (v === null) return fn();
  const uninstall = installCoreVariant(v);
  try {
    return await fn();
  } finally {
    uninstall();
  }
}
