// `npm start`: install exactly what pnpm-lock.yaml records, then regenerate reports/ by running
// every driver's scenarios at their default budgets (`mnlab report`). Arguments after
// `npm start --` go to `mnlab report` (e.g. `npm start -- --check`).
import { installFrozen, root, run } from "./pnpm.mjs";

const started = Date.now();
const installed = installFrozen();
if (installed !== 0) process.exit(installed);
const status = run(
  process.execPath,
  ["--import", "tsx", "packages/cli/src/main.ts", "report", ...process.argv.slice(2)],
  {
    cwd: root,
  },
);
process.stderr.write(`npm start: ${Math.round((Date.now() - started) / 1000)} s\n`);
process.exit(status);
