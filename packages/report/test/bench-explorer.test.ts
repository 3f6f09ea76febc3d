// The bench page's explorer section (bench/explorer.mitata.ts): issue 18's step ratio per
// variant, with the interleaved rounds it is the median of and mitata's stats of each side.
import { describe, expect, it } from "vitest";
import { benchPage } from "../src/index.ts";

const stats = (p50: number) => ({ p50, p75: p50, p99: p50, avg: p50, min: p50, max: p50, samples: 7 });
const variant = (impl: string, timesRuntime: number, rounds: number[]) => ({
  program: "explorer",
  driver: "nouveau",
  impl,
  scenario: "populate-vs-munmap",
  executions: 100,
  nsPerStep: 5000,
  runtimeNsPerStep: 500,
  timesRuntime,
  timesRuntimeRounds: rounds,
  explore: stats(38_000_000),
  runtime: stats(3_800_000),
  floor: stats(900_000),
});

describe("bench page: the explorer section", () => {
  const md = benchPage({
    generated: "2026-12-01T00:00:00.000Z",
    explorer: {
      legacy: variant("legacy", 9.5, [9.1, 9.5, 10.2]),
      interval: variant("interval", 10.4, [10.4, 9.9, 11]),
    },
  } as never).markdown;

  it("renders one row per variant with the ratio, its rounds and each side's p50", () => {
    expect(md).toContain("## explorer");
    const legacy = md.split("\n").find((l) => l.startsWith("| explorer") && l.includes("| legacy "))!;
    expect(legacy).toMatch(/\| +9\.5 \| 9\.1, 9\.5, 10\.2 +\|/);
    expect(legacy).toContain("38,000,000");
    const interval = md.split("\n").find((l) => l.startsWith("| explorer") && l.includes("| interval "))!;
    expect(interval).toMatch(/\| +10\.4 \| 10\.4, 9\.9, 11 +\|/);
  });
});
