/**
 * Virtual time, in ticks. The clock moves only when no thread is runnable and a timed block
 * (msleep, wait_event_timeout) is pending, and then jumps straight to the earliest deadline:
 * an execution never waits for real time, and its timing is part of its decisions.
 */
import type { SimThread } from "./thread.ts";

export class VirtualClock {
  now = 0;

  /**
   * Jump to the earliest deadline among the blocked `threads` and return the threads whose
   * deadline has passed (in the order given); null when no timed block is pending.
   */
  advance(threads: readonly SimThread[]): SimThread[] | null {
    let earliest = Number.POSITIVE_INFINITY;
    for (const t of threads) {
      if (t.state === "blocked" && t.deadline !== null && t.deadline < earliest) earliest = t.deadline;
    }
    if (earliest === Number.POSITIVE_INFINITY) return null;
    this.now = earliest;
    const expired: SimThread[] = [];
    for (const t of threads) {
      if (t.state === "blocked" && t.deadline !== null && t.deadline <= earliest) expired.push(t);
    }
    return expired;
  }
}
