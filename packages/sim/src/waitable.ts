/**
 * Anything a thread can block on. `owners()` feeds the wait-for graph: a deadlock report
 * follows thread -> object -> owner until it closes a cycle.
 */
import type { SimThread } from "./thread.ts";

export interface Waitable {
  readonly name: string;
  /**
   * Threads whose progress would unblock `waiter`: lock holders, and for a writer-preferring
   * rwsem the writers queued ahead of a reader; none for wait queues and completions.
   */
  owners(waiter: SimThread): readonly SimThread[];
}
