/**
 * `mnlab bench`: the benchmark programs belong to bench/ (`npm run bench`); this delegates to
 * them, passing its arguments through, and says so plainly when they are not there.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { repoRoot } from "../paths.ts";

const HELP = `Usage: mnlab bench [args...]

run the benchmark programs in bench/ (bench/run.ts, the same as npm run bench); they write
reports/data/bench.json, which mnlab report renders as reports/bench.md. Arguments go to
bench/run.ts: --smoke (tiny sizes, to check the programs run), --out <path> (default:
reports/data/bench.json), --only <name,...> (default: every program).
`;

export function benchCommand(args: string[]): number {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(HELP);
    return 0;
  }
  const entry = join(repoRoot, "bench", "run.ts");
  if (!existsSync(entry)) throw new UsageError("bench is not available yet: bench/run.ts has not landed");
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", import.meta.resolve("tsx"), entry, ...args],
    {
      cwd: repoRoot,
      stdio: "inherit",
    },
  );
  return r.status ?? 1;
}
