// `npm run mnlab -- <command>`: the mnlab command through tsx. On a fresh clone nothing is
// installed yet (tsx included), so install exactly what pnpm-lock.yaml records first, as
// `npm start` and `npm test` do, with pnpm's output on stderr (stdout stays the command's:
// `--json` prints the JSON document and nothing else).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { installFrozen, root, run } from "./pnpm.mjs";

// Ctrl-C reaches the command too (one process group); it stops cleanly and exits 130, and
// this wrapper waits for it rather than returning to the shell first.
process.on("SIGINT", () => {});
if (!existsSync(join(root, "node_modules", "tsx", "package.json"))) {
  process.stderr.write("mnlab: nothing installed yet; installing the locked dependencies first\n");
  const installed = installFrozen({ stdio: ["ignore", 2, 2] });
  if (installed !== 0) process.exit(installed);
}
process.exit(
  run(process.execPath, ["--import", "tsx", "packages/cli/src/main.ts", ...process.argv.slice(2)]),
);
