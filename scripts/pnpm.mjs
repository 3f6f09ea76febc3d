// Brings the pinned pnpm through npx (no corepack, no root) and runs it.
// The version is the one package.json's "packageManager" names, so the two cannot drift.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
export const pnpmSpec = manifest.packageManager; // "pnpm@10.34.9"

/** Run a command in the repository root, inheriting stdio; returns its exit status. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.error) {
    process.stderr.write(`cannot run ${cmd}: ${r.error.message}\n`);
    return 127;
  }
  return r.status ?? 1;
}

/** `pnpm <args>` with the pinned version. */
export function pnpm(args, opts = {}) {
  return run("npx", ["--yes", pnpmSpec, ...args], opts);
}

/** Install exactly what pnpm-lock.yaml records; a fresh clone needs nothing else. */
export function installFrozen(opts = {}) {
  return pnpm(["install", "--frozen-lockfile", "--reporter=append-only"], {
    env: { ...process.env, npm_config_update_notifier: "false" },
    ...opts,
  });
}
