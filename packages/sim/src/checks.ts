/**
 * Invariant checks: the oracles models register, run after every step (and at each thread
 * exit), and the exit checks run once when every thread has finished.
 */
import type { FailureKind } from "./failure.ts";
import type { Holdable } from "./thread.ts";

/**
 * A check run after every step: null when the invariant holds, else a message (the failure
 * takes the check's registered kind) or a kind and message (a check that tells several
 * kinds apart, like the device oracles).
 */
export type InvariantCheck = () => string | { kind: FailureKind; message: string } | null;

/**
 * Options of a registered invariant check.
 *
 * `protectedBy` names the lock(s) that protect the state the check reads: the check then
 * runs only at points where no thread holds any of them, as a kernel assertion made under
 * those locks would (lockdep_assert_held, or a check taken after spin_lock). Without it a
 * checker running between two stores of one critical section — stores of lockless fields
 * are scheduling points — would report the half-done update as a violation. Give the locks
 * themselves, or a function returning the ones that exist now (per-mm locks created later).
 * A lock counts as held from its acquisition until its release, including at the
 * scheduling point of the unlock itself; protected checks also run right after every
 * release, so the state a critical section leaves is checked before anything else runs.
 */
export interface CheckOptions {
  protectedBy?: readonly Holdable[] | (() => Iterable<Holdable>);
}

/** A check that failed: the kind it reports and its message. */
export interface CheckFailure {
  kind: FailureKind;
  message: string;
}

export class InvariantChecks {
  private readonly checks: {
    name: string;
    check: InvariantCheck;
    protectedBy: CheckOptions["protectedBy"];
  }[] = [];
  private readonly exitChecks: { name: string; check: InvariantCheck }[] = [];
  /** Checks registered with `protectedBy`: also run whenever a lock is released. */
  private protectedCount = 0;

  /** Whether any per-step check is registered. */
  get any(): boolean {
    return this.checks.length > 0;
  }

  get anyProtected(): boolean {
    return this.protectedCount > 0;
  }

  add(name: FailureKind, check: InvariantCheck, opts: CheckOptions): void {
    this.checks.push({ name, check, protectedBy: opts.protectedBy });
    if (opts.protectedBy !== undefined) this.protectedCount++;
  }

  addAtExit(name: FailureKind, check: InvariantCheck): void {
    this.exitChecks.push({ name, check });
  }

  /**
   * Holders of each lock now (more than one for a read-held rwsem): isHeld is asked per lock
   * at every step by protected checks, and scanning every thread's held list there was a
   * visible part of a driver's step (the profile in issue 18).
   */
  private readonly holders = new Map<Holdable, number>();

  acquired(lock: Holdable): void {
    this.holders.set(lock, (this.holders.get(lock) ?? 0) + 1);
  }

  released(lock: Holdable): void {
    const n = (this.holders.get(lock) ?? 0) - 1;
    if (n > 0) this.holders.set(lock, n);
    else this.holders.delete(lock);
  }

  /**
   * Whether any live thread holds `lock`. A thread that ends holding a lock ends the
   * execution (leaked-lock), so the holders counted are the live threads' holds.
   */
  isHeld(lock: Holdable): boolean {
    return this.holders.has(lock);
  }

  private anyHeld(locks: CheckOptions["protectedBy"]): boolean {
    if (locks === undefined) return false;
    const list = typeof locks === "function" ? locks() : locks;
    for (const l of list) if (this.isHeld(l)) return true;
    return false;
  }

  /** The first check that fails now (only the protected ones when `onlyProtected`), or null. */
  run(onlyProtected = false): CheckFailure | null {
    for (const { name, check, protectedBy } of this.checks) {
      if (onlyProtected && protectedBy === undefined) continue;
      if (protectedBy !== undefined && this.anyHeld(protectedBy)) continue;
      const r = check();
      if (r !== null) return verdict(name, r);
    }
    return null;
  }

  /** The first exit check that fails, or null. */
  runAtExit(): CheckFailure | null {
    for (const { name, check } of this.exitChecks) {
      const r = check();
      if (r !== null) return verdict(name, r);
    }
    return null;
  }
}

function verdict(name: string, r: string | CheckFailure): CheckFailure {
  return typeof r === "string" ? { kind: name, message: r } : r;
}
