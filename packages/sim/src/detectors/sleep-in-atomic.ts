/**
 * might_sleep() (kernel/sched/core.c: ___might_sleep()): sleeping while holding a spinlock
 * or inside a non-blocking region (a non-blockable notifier range) is a bug.
 */
import type { SimThread } from "../thread.ts";

/** The "BUG: sleeping function called from invalid context" message, or null when `t` may sleep. */
export function sleepInAtomic(t: SimThread, op: string): string | null {
  if (!t.isAtomic()) return null;
  const why =
    t.spinDepth > 0
      ? `holding ${t.spinLocks.map((h) => h.name).join(", ")}`
      : `inside non-blocking ${t.nonBlocking[t.nonBlocking.length - 1]}`;
  return `BUG: sleeping function called from invalid context: ${op} by ${t.name} ${why}`;
}
