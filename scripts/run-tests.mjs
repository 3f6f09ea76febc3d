// `npm test`: install (frozen), type-check, lint, run every package's vitest project,
// and close with the plain line `N passed, N failed` that CI reads.
// A failed install, type check or lint counts as one failed test each, so the line never
// says "0 failed" for a tree that does not build.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { installFrozen, root, run } from "./pnpm.mjs";

const bin = (name) => join(root, "node_modules", ".bin", name);
const results = join(root, ".vitest-results.json");
let passed = 0;
let failed = 0;

function step(label, fn) {
  process.stderr.write(`\n== ${label}\n`);
  const status = fn();
  if (status === 0) {
    passed += 1;
  } else {
    failed += 1;
    process.stderr.write(`== ${label}: FAILED (exit ${status})\n`);
  }
  return status === 0;
}

function finish() {
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(failed === 0 ? 0 : 1);
}

if (!step("install (pnpm, frozen lockfile)", installFrozen)) finish();
step("typecheck (tsc --noEmit, strict)", () => run(bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]));
step("lint (biome check)", () => run(bin("biome"), ["check", "."]));

rmSync(results, { force: true });
process.stderr.write("\n== vitest (every package project)\n");
// Each driver's scenario suite also checks its records against the committed results
// (@mnlab/core/testing), which is what lets the cli's committed-reports test re-render the
// pages from those rows instead of running every scenario a second time.
const vitestStatus = run(
  bin("vitest"),
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`, ...process.argv.slice(2)],
  { env: { ...process.env, MNLAB_COMMITTED_RESULTS: join(root, "reports", "data", "results.json") } },
);
if (existsSync(results)) {
  const report = JSON.parse(readFileSync(results, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  // A suite that failed to load has no tests to count; count it as a failure.
  const brokenSuites = (report.testResults ?? []).filter(
    (s) => s.status === "failed" && (s.assertionResults ?? []).length === 0,
  ).length;
  failed += brokenSuites;
  if (report.numTotalTests === 0) {
    process.stderr.write("vitest ran no test\n");
    failed += 1;
  }
  if (vitestStatus !== 0 && failed === 0) failed += 1;
} else {
  process.stderr.write(`vitest wrote no JSON report (exit ${vitestStatus})\n`);
  failed += 1;
}
finish();
