/**
 * `mnlab list [--json]`: the registered drivers, their variants (id, kernel version, model
 * source) and scenarios (exploration, expected verdict per variant).
 */
import { describeExploration, expectationFor, type Scenario } from "@mnlab/core";
import { relativeSource, stableJson, table } from "@mnlab/report";
import { repoRoot } from "../paths.ts";
import { drivers } from "../registry.ts";

export async function listCommand(opts: { json: boolean }): Promise<number> {
  const all = await drivers();
  const doc = {
    schema: "mnlab-list/1",
    drivers: all.map((d) => ({
      name: d.name,
      title: d.title,
      variants: d.variants.map((v) => ({
        id: v.info.id,
        kernel: v.info.kernel,
        summary: v.info.summary,
        source: relativeSource(v.info.source, repoRoot),
        files: v.info.files,
        commits: v.info.commits,
      })),
      scenarios: d.scenarios.map((s) => ({
        name: s.name,
        exploration: s.exploration,
        ...(s.explorationByVariant === undefined ? {} : { explorationByVariant: s.explorationByVariant }),
        expected: s.expected,
      })),
    })),
  };
  if (opts.json) {
    process.stdout.write(stableJson(doc));
    return 0;
  }
  if (all.length === 0) {
    process.stdout.write("no driver package is registered\n");
    return 0;
  }
  const out: string[] = [];
  for (const d of doc.drivers) {
    out.push(`${d.name} — ${d.title}`, "");
    out.push(
      table(
        ["variant", "kernel", "model source", "summary"],
        d.variants.map((v) => [v.id, v.kernel, v.source, v.summary]),
      ),
      "",
    );
    const ids = d.variants.map((v) => v.id);
    out.push(
      table(
        ["scenario", "exploration", ...ids.map((id) => `expected: ${id}`)],
        d.scenarios.map((s) => [
          s.name,
          describeExplorations(s as Scenario),
          ...ids.map((id) => expectationFor(s as Scenario, id)?.verdict ?? "—"),
        ]),
      ),
      "",
    );
  }
  process.stdout.write(`${out.join("\n")}`);
  return 0;
}

/** The scenario's exploration, then each variant's own where it has one (explorationByVariant). */
function describeExplorations(s: Scenario): string {
  const own = Object.entries(s.explorationByVariant ?? {}).map(
    ([id, e]) => `${id}: ${describeExploration(e)}`,
  );
  return own.length === 0
    ? describeExploration(s.exploration)
    : `${describeExploration(s.exploration)} (${own.join("; ")})`;
}
