/**
 * Lock-order validation across executions, after the kernel's lockdep
 * (kernel/locking/lockdep.c): every acquisition of class B while holding class A adds the
 * dependency A -> B; a new dependency that closes a cycle is a potential deadlock, reported
 * even when the schedule that produced it did not hang.
 *
 * One Lockdep instance lives for a whole exploration (the "test"), so orders seen in
 * different executions are combined, as lockdep combines them over a boot.
 *
 * Simplifications, stated: dependencies are keyed by lock class name; nesting a lock inside
 * another of the same class adds no edge (the kernel needs *_nested annotations there);
 * trylock acquisitions add no edge to the lock taken (they cannot wait), but locks held via
 * trylock still order later acquisitions, as in lockdep. Read and write acquisitions of an
 * rwsem are one class: with a writer-preferring rwsem a read-side inversion can deadlock.
 */

/** Where a dependency was first seen, for the report. */
export interface DependencySite {
  thread: string;
  held: string;
  acquired: string;
  execution: number;
  step: number;
}

export interface LockOrderInversion {
  /** The new dependency that closed the cycle. */
  newEdge: DependencySite;
  /** The existing chain from the acquired class back to the held one. */
  chain: DependencySite[];
}

export class Lockdep {
  private readonly edges = new Map<string, Map<string, DependencySite>>();
  /** Executions run so far under this instance; set by the explorer. */
  execution = 0;

  /** A disabled instance records nothing (for tests of what a hang looks like without it). */
  constructor(readonly enabled = true) {}

  get dependencyCount(): number {
    let n = 0;
    for (const m of this.edges.values()) n += m.size;
    return n;
  }

  /**
   * Record `held -> acquired` for each held class; return the first inversion found.
   * Called before the acquisition can block, as lock_acquire() runs before the lock op.
   */
  acquire(
    thread: string,
    held: readonly string[],
    acquired: string,
    step: number,
  ): LockOrderInversion | null {
    if (!this.enabled) return null;
    for (const h of held) {
      if (h === acquired) continue;
      let out = this.edges.get(h);
      if (out?.has(acquired)) continue;
      const site: DependencySite = { thread, held: h, acquired, execution: this.execution, step };
      const chain = this.path(acquired, h);
      if (chain !== null) return { newEdge: site, chain };
      if (out === undefined) {
        out = new Map();
        this.edges.set(h, out);
      }
      out.set(acquired, site);
    }
    return null;
  }

  /** A dependency chain from `from` to `to`, or null (depth-first; graphs are small). */
  private path(from: string, to: string): DependencySite[] | null {
    const seen = new Set<string>();
    const walk = (node: string): DependencySite[] | null => {
      if (seen.has(node)) return null;
      seen.add(node);
      const out = this.edges.get(node);
      if (out === undefined) return null;
      for (const [next, site] of out) {
        if (next === to) return [site];
        const rest = walk(next);
        if (rest !== null) return [site, ...rest];
      }
      return null;
    };
    return walk(from);
  }
}
