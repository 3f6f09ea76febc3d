/** A thread that ends holding a lock (lockdep's "lock held when returning to user space"). */
import type { SimThread } from "../thread.ts";

/** The leak message for a thread that just ended, or null when it holds nothing. */
export function leakedLocks(t: SimThread): string | null {
  if (t.held.length === 0) return null;
  return `thread ${t.name} ended holding ${t.held.map((h) => h.name).join(", ")}`;
}
