/**
 * Why a module did not load, in one line that keeps the place: tsx reports a syntax error as
 * "Transform failed with 1 error:" and puts `file:line:column: ERROR: reason` on the next line
 * (esbuild's `errors[]` has the same, structured); an exception thrown while the module runs
 * has its place in the first stack frame that is not Node's or a dependency's. A reviewer
 * reading "does not load: Transform failed" learns nothing, so this digs out the place.
 */
import { fileURLToPath } from "node:url";
import { firstLine } from "./errors.ts";

interface EsbuildMessage {
  text?: string;
  location?: { file?: string; line?: number; column?: number } | null;
}

function fromEsbuild(e: unknown): string | null {
  const errors = (e as { errors?: EsbuildMessage[] } | null)?.errors;
  const m = Array.isArray(errors) ? errors[0] : undefined;
  if (m?.location?.file === undefined || m.text === undefined) return null;
  // esbuild's column is 0-based; editors and tsc count from 1.
  return `${m.location.file}:${m.location.line}:${(m.location.column ?? 0) + 1}: ${m.text}`;
}

function fromTransformMessage(msg: string): string | null {
  if (!/^Transform failed/.test(msg)) return null;
  // "/path/x.ts:4:2: ERROR: Expected "}" but found "open""
  const line = msg.split("\n").find((l) => /:\d+:\d+: ERROR: /.test(l));
  if (line === undefined) return null;
  const m = /^(.*):(\d+):(\d+): ERROR: (.*)$/.exec(line.trim());
  if (m === null) return line.trim();
  return `${m[1]}:${m[2]}:${Number(m[3]) + 1}: ${m[4]}`;
}

function userFrame(stack: string): string | null {
  for (const l of stack.split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(l);
    if (m === null) continue;
    const file = m[1]!.startsWith("file:") ? fileURLToPath(m[1]!) : m[1]!;
    if (file.includes("/node_modules/") || file.startsWith("node:")) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return null;
}

/** One line: `file:line:column: reason` when the place is known, else the first line. */
export function loadError(e: unknown): string {
  const structured = fromEsbuild(e);
  if (structured !== null) return structured;
  const msg = e instanceof Error ? e.message : String(e);
  const transform = fromTransformMessage(msg);
  if (transform !== null) return transform;
  if (e instanceof Error && typeof e.stack === "string") {
    // Module resolution errors name the importing file themselves.
    if ((e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return firstLine(e);
    const at = userFrame(e.stack);
    if (at !== null) return `${at}: ${e.name}: ${firstLine(e)}`;
  }
  return firstLine(e);
}
