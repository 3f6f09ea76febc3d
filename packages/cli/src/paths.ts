/**
 * Where things are: the repository root (reports/ and bench/ live there), and the directory
 * a user's relative paths mean — `npm run mnlab` runs in the root, but the user typed the
 * path where they stood, which npm keeps in INIT_CWD.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export function userPath(p: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), p);
}
