/**
 * A usage error: a bad option value, an unknown name, a module that does not load. The
 * command prints its message as one line and exits 2 — never a stack trace.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The first line of whatever was thrown. */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n").find((l) => l.trim() !== "") ?? msg;
}

/** "a, b or c" */
export function choices(names: readonly string[]): string {
  if (names.length === 0) return "(none)";
  if (names.length === 1) return names[0]!;
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}
