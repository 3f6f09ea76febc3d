/**
 * What `mnlab test` and `mnlab merge` print without --json: a table of verdict against
 * expected verdict, the replay command of every violation found, and one closing line.
 */
import type { ResultRecord } from "@mnlab/core";
import { int, table, UNEXPECTED } from "@mnlab/report";

export function verdictTable(records: readonly ResultRecord[]): string {
  const rows = records.map((r) => [
    r.driver,
    r.variant,
    r.scenario,
    r.verdict,
    r.expected ?? "(none stated)",
    r.asExpected ? "yes" : `${UNEXPECTED} no`,
    `${int(r.executions)}${r.exhausted ? " (all)" : ""}`,
    r.firstFailureAt === null ? "—" : int(r.firstFailureAt),
  ]);
  const out = [
    table(
      ["driver", "variant", "scenario", "verdict", "expected", "as expected", "executions", "first found at"],
      rows,
      ["l", "l", "l", "l", "l", "l", "r", "r"],
    ),
  ];
  const found = records.filter((r) => r.replay !== null);
  if (found.length > 0) {
    out.push("");
    for (const r of found) {
      out.push(
        `${r.asExpected ? " " : UNEXPECTED} ${r.driver}/${r.variant} ${r.scenario}: ${r.verdict}: ${r.message ?? ""}`,
      );
      out.push(`    mnlab replay ${r.replay}`);
    }
  }
  const bad = records.filter((r) => !r.asExpected).length;
  out.push("");
  out.push(
    bad === 0
      ? `${records.length} runs, every verdict as expected`
      : `${records.length} runs, ${bad} ${UNEXPECTED} not as expected`,
  );
  return `${out.join("\n")}\n`;
}
