/**
 * Lockdep hooks: the lock-order check before an acquisition that may wait
 * (kernel/locking/lockdep.c: check_prev_add() "possible circular locking dependency").
 */
import type { WaitForEdge } from "../failure.ts";
import type { Lockdep } from "../lockdep.ts";
import type { Holdable, SimThread } from "../thread.ts";

export interface LockOrderReport {
  message: string;
  detail: Record<string, unknown>;
  cycle: WaitForEdge[];
}

/** Record `t` taking `lock`; the report when that closes a cycle in the lock-order graph. */
export function checkLockOrder(
  lockdep: Lockdep,
  t: SimThread,
  lock: Holdable,
  step: number,
): LockOrderReport | null {
  const held: string[] = [];
  for (const h of t.held) held.push(h.lockClass);
  const inv = lockdep.acquire(t.name, held, lock.lockClass, step);
  if (inv === null) return null;
  const chain = inv.chain.map((s) => `${s.held} -> ${s.acquired} (${s.thread}, execution ${s.execution})`);
  return {
    message:
      `possible circular locking dependency: ${t.name} takes ${inv.newEdge.acquired} while holding ` +
      `${inv.newEdge.held}, but ${chain.join(", ")} was seen before`,
    detail: { newEdge: inv.newEdge, chain: inv.chain },
    cycle: [
      { thread: t.name, object: inv.newEdge.acquired, owner: inv.newEdge.held },
      ...inv.chain.map((s) => ({ thread: s.thread, object: s.acquired, owner: s.held })),
    ],
  };
}
