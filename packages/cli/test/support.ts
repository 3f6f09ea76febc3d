// Running the real `mnlab` command, as a user would: a node process with tsx, the fixture
// driver registered through MNLAB_DRIVERS.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The command, run to its end (at most timeoutMs: a hang fails the test rather than CI). */
export function mnlab(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Run {
  const r = spawnSync(process.execPath, ["--import", tsx, main, ...args], {
    encoding: "utf8",
    env: { ...process.env, MNLAB_DRIVERS: fixture("reference-package.ts"), ...env },
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Schema = {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  minimum?: number;
  pattern?: string;
  $defs?: Record<string, Schema>;
};

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/**
 * The part of JSON Schema the results schema uses ($ref, type, const, enum, required,
 * properties, items, anyOf, minimum, pattern): the problems found, as "path: reason".
 */
export function validate(root: Schema, v: unknown, s: Schema = root, path = "$"): string[] {
  if (s.$ref !== undefined) return validate(root, v, root.$defs![s.$ref.replace("#/$defs/", "")]!, path);
  const out: string[] = [];
  if (s.anyOf !== undefined && !s.anyOf.some((a) => validate(root, v, a, path).length === 0)) {
    out.push(`${path}: matches none of anyOf`);
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = typeOf(v);
    if (!types.includes(t) && !(t === "integer" && types.includes("number")))
      out.push(`${path}: ${t}, not ${types}`);
  }
  if (s.const !== undefined && v !== s.const) out.push(`${path}: not ${JSON.stringify(s.const)}`);
  if (s.enum !== undefined && !s.enum.includes(v)) out.push(`${path}: not one of ${s.enum.join(", ")}`);
  if (typeof v === "number" && s.minimum !== undefined && v < s.minimum)
    out.push(`${path}: below ${s.minimum}`);
  if (typeof v === "string" && s.pattern !== undefined && !new RegExp(s.pattern).test(v)) {
    out.push(`${path}: does not match ${s.pattern}`);
  }
  if (typeOf(v) === "object") {
    const o = v as Record<string, unknown>;
    for (const k of s.required ?? []) if (!(k in o)) out.push(`${path}: ${k} is missing`);
    for (const [k, ps] of Object.entries(s.properties ?? {})) {
      if (k in o) out.push(...validate(root, o[k], ps, `${path}.${k}`));
    }
  }
  if (Array.isArray(v) && s.items !== undefined) {
    for (const [i, x] of v.entries()) out.push(...validate(root, x, s.items!, `${path}[${i}]`));
  }
  return out;
}
