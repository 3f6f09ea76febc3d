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
  /**
   * What the check reads, as a value that changes whenever any of that state is written: a
   * string of version counters and the values it tests (the device oracles' cache key, the
   * notifier core's seq and counts). The runtime compares it across every point of an
   * execution that a partial-order reduction watches, and a step that changes it is visible
   * to the check (footprint.ts, checkObject). Leave it out and every step is visible,
   * which is sound and makes the reduction walk what exhaustive search walks. It must cover
   * everything the check's result depends on, locks it asks isHeld() about included (the
   * `protectedBy` locks' are added by the runtime); missing a field is unsound.
   *
   * A check with `protectedBy` locks and no watch is taken at its word: it reads only state
   * those locks protect, which changes only inside their critical sections and is seen only
   * while they are free, so its watch is the locks' held state and release counts (the
   * step that releases one is the step whose work the check can see next). A check that
   * gates itself instead (protectedBy naming no lock, isHeld() inside) must give a watch.
   */
  watch?: () => string | number;
  /**
   * Run the check only when its watch key is not the one it last passed at, in every run, not
   * only while a reduction samples the keys (InvariantChecks.run): for a check whose watch is a
   * cheap cache key (version counters) in front of a costly walk. Needs a watch.
   */
  skipUnchanged?: boolean;
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
    watch: CheckOptions["watch"];
    skipUnchanged: boolean;
    /** watchKey's last key of a watched protected check, and what it was made of. */
    lastKey?: { base: string; mask: number; n: number; key: string };
  }[] = [];
  /** Checks registered without a watch: every step is visible to them. */
  private unwatched = 0;
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

  /** Whether some per-step check declared no watch: its state is every step's (footprint.ts). */
  get opaque(): boolean {
    return this.unwatched > 0;
  }

  add(name: FailureKind, check: InvariantCheck, opts: CheckOptions): void {
    if (opts.skipUnchanged === true && opts.watch === undefined)
      throw new Error(`sim: check ${name}: skipUnchanged needs a watch`);
    this.checks.push({
      name,
      check,
      protectedBy: opts.protectedBy,
      watch: opts.watch,
      skipUnchanged: opts.skipUnchanged === true,
    });
    if (opts.protectedBy !== undefined) this.protectedCount++;
    if (opts.watch === undefined && opts.protectedBy === undefined) this.unwatched++;
  }

  /**
   * The state watched check `i` reads now, as a string: equal at two points of an execution
   * only if no step between them wrote any of it (its watch, and whether each of its
   * protectedBy locks is held — with their release counts when it has no watch). Only asked
   * while a reduction records footprints.
   */
  watchKey(i: number): string {
    const c = this.checks[i]!;
    const base = c.watch === undefined ? "" : String(c.watch());
    if (c.protectedBy === undefined) return base;
    const list = typeof c.protectedBy === "function" ? c.protectedBy() : c.protectedBy;
    if (c.watch !== undefined) {
      // The watch, which locks are held (a bit mask) and how many are listed: the bit string
      // the general form below spells out, as the same key (one reference, a cheap compare
      // at every point) while none of it changes.
      let mask = 0;
      let n = 0;
      for (const l of list) {
        if (n < 30 && this.isHeld(l)) mask |= 1 << n;
        n++;
      }
      if (n <= 30) {
        const last = c.lastKey;
        if (last !== undefined && last.base === base && last.mask === mask && last.n === n) return last.key;
        const key = `${base}|${mask}/${n}`;
        c.lastKey = { base, mask, n, key };
        return key;
      }
    }
    let key = base;
    for (const l of list) {
      key += this.isHeld(l) ? "|1" : "|0";
      if (c.watch === undefined) key += `,${this.releases.get(l) ?? 0}`;
    }
    return key;
  }

  /** Per-step checks registered so far. */
  get count(): number {
    return this.checks.length;
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

  /** Releases of each lock, counted once a reduction asks for watch keys (watchKey). */
  private readonly releases = new Map<Holdable, number>();
  /** Set when watch keys are wanted: released() then counts (a cost plain runs do not pay). */
  countReleases = false;

  released(lock: Holdable): void {
    if (this.countReleases) this.releases.set(lock, (this.releases.get(lock) ?? 0) + 1);
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

  /** Each check's watch key when it last ran and passed (run's `keys`). */
  private readonly passedAt: (string | undefined)[] = [];

  /**
   * The first check that fails now (only the protected ones when `onlyProtected`), or null.
   * `keys`: each check's watch key now, when a reduction samples them (visibility.ts). A
   * check whose key is the one it last passed at is not run again: its watch covers all that
   * its result depends on (CheckOptions.watch), so nothing it reads has been written since,
   * and it would pass again. The reduction already relies on that contract; a missing field
   * in a watch is as unsound there as here. A check registered with `skipUnchanged` has its
   * key taken here when no reduction sampled it.
   */
  run(onlyProtected = false, keys?: readonly (string | undefined)[]): CheckFailure | null {
    const checks = this.checks;
    for (let i = 0; i < checks.length; i++) {
      const { name, check, protectedBy, skipUnchanged } = checks[i]!;
      if (onlyProtected && protectedBy === undefined) continue;
      const key = keys?.[i] ?? (skipUnchanged ? this.watchKey(i) : undefined);
      if (key !== undefined && key === this.passedAt[i]) continue;
      if (protectedBy !== undefined && this.anyHeld(protectedBy)) continue;
      const r = check();
      if (r !== null) return verdict(name, r);
      this.passedAt[i] = key;
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
