/**
 * Deadlock detection: when no thread can run and no timer is pending, either every thread
 * finished, or some are blocked for ever. A cycle in the wait-for graph (thread -> object ->
 * owner) is a deadlock; blocked threads with no cycle are a deadlock too (nobody will wake
 * them) — unless main has finished, which is a thread left blocked at exit.
 */
import type { WaitForEdge } from "../failure.ts";
import type { SimThread } from "../thread.ts";

export interface Stuck {
  kind: "deadlock" | "blocked-at-exit";
  message: string;
  /** The thread the failure is attributed to (the first blocked one). */
  thread: SimThread;
  cycle?: WaitForEdge[];
}

/** Why the execution cannot go on, or null when every thread finished. `main` is thread 0. */
export function stuck(live: readonly SimThread[], main: SimThread): Stuck | null {
  const blocked = live.filter((t) => t.state === "blocked");
  if (blocked.length === 0) return null;
  const cycle = waitForCycle(blocked);
  if (cycle === null && main.state === "done") {
    return {
      kind: "blocked-at-exit",
      message: `main finished while ${blocked.map((t) => `${t.name} (on ${t.blockedOn?.name})`).join(", ")} stay blocked`,
      thread: blocked[0]!,
    };
  }
  const what =
    cycle !== null
      ? cycle.map((e) => `${e.thread} waits for ${e.object} held by ${e.owner}`).join("; ")
      : blocked.map((t) => `${t.name} waits on ${t.blockedOn?.name} that nobody will wake`).join("; ");
  const s: Stuck = { kind: "deadlock", message: `deadlock: ${what}`, thread: blocked[0]! };
  if (cycle !== null) s.cycle = cycle;
  return s;
}

/** A cycle in the wait-for graph (thread -> object -> owner), depth-first from each blocked thread. */
export function waitForCycle(blocked: readonly SimThread[]): WaitForEdge[] | null {
  const path: WaitForEdge[] = [];
  const onPath = new Map<SimThread, number>();
  const done = new Set<SimThread>();
  const visit = (t: SimThread): WaitForEdge[] | null => {
    const at = onPath.get(t);
    if (at !== undefined) return path.slice(at);
    if (done.has(t) || t.state !== "blocked" || t.blockedOn === null) return null;
    onPath.set(t, path.length);
    for (const owner of t.blockedOn.owners(t)) {
      path.push({ thread: t.name, object: t.blockedOn.name, owner: owner.name });
      const c = visit(owner);
      if (c !== null) return c;
      path.pop();
    }
    onPath.delete(t);
    done.add(t);
    return null;
  };
  for (const t of blocked) {
    const c = visit(t);
    if (c !== null) return c;
  }
  return null;
}
