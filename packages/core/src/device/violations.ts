/**
 * The verdict vocabulary: `pass`, or the kind of the first violation an execution hit.
 * Kernel-level kinds come from the oracles and the kernel model; the rest from the runtime.
 */
export const VIOLATION_KINDS = [
  // device oracles (reference core.md 6.3)
  "stale-access", // the device reaches a page the CPU no longer maps at that address
  "use-after-free", // the device (or the kernel) touches a freed page or object
  "write-after-protect", // a device write, or writable mapping at rest, where the CPU write-protected
  "unsafe-map", // an interval-variant mapping made without the user lock after a false read_retry (6.2 item 16)
  "populate-failed", // liveness: a populate nothing raced failed or left part of its range unmapped (6.6; issue 22)
  "leak", // end of run: page references, pins, notifiers or device mappings left behind
  // kernel model
  "kernel-warn", // a WARN_ON fired
  "kernel-bug", // BUG_ON, or an oops (NULL dereference, rb-tree corruption)
  "core-invariant", // the notifier core's own state invariants (6.1)
  // runtime
  "deadlock",
  "potential-deadlock",
  "sleep-in-atomic",
  "livelock",
  "leaked-lock",
  "blocked-at-exit",
  "exception",
  "foreign-await",
] as const;

export type ViolationKind = (typeof VIOLATION_KINDS)[number];
export type Verdict = "pass" | ViolationKind;

export function isVerdict(s: string): s is Verdict {
  return s === "pass" || (VIOLATION_KINDS as readonly string[]).includes(s);
}
