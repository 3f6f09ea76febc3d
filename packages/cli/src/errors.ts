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

/**
 * Exit statuses, as the README documents them. 1 and 2 speak of the verdicts and of the
 * command line; 3 says the tool itself could not finish (a worker died twice on one item, a
 * file could not be written) — never a verdict; 130 is an interrupt (128 + SIGINT).
 */
export const EXIT = { ok: 0, unexpected: 1, usage: 2, toolFailed: 3, interrupted: 130 } as const;

/**
 * The tool could not finish: what it says is one line on stderr, and the command exits 3
 * after printing whatever completed.
 */
export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolFailure";
  }
}

/** A write that failed, named by its path and errno: "cannot write reports/index.md: EACCES (permission denied)". */
export function writeFailure(path: string, e: unknown): ToolFailure {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === undefined ? firstLine(e) : `${err.code} (${errnoText(err)})`;
  return new ToolFailure(`cannot write ${path}: ${why}`);
}

function errnoText(err: NodeJS.ErrnoException): string {
  // "EACCES: permission denied, open '/x'" -> "permission denied"
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(err.message);
  return m?.[1] ?? err.message;
}
