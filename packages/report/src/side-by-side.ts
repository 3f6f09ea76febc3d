/**
 * Old next to new: a 5.4 counterexample's race and what 5.5 does in the same schedule, in two
 * halves of one text block that together fit LINE_WIDTH. Each half is the race slice of its
 * trace written as one column — a CPU number, then the step indented by call depth — because
 * two sets of CPU columns side by side would not fit a screen. The halves run down the page
 * independently: line n on the left and on the right are not the same moment.
 */
import type { TraceEvent } from "@mnlab/sim";
import { MAX_DEPTH } from "./interleaving.ts";
import { raceSlice, setupLine } from "./race.ts";
import { LINE_WIDTH, length, padEnd, wrap } from "./wrap.ts";

export interface Side {
  title: string;
  trace: readonly TraceEvent[];
  message?: string | null;
}

/** One half: the race slice as CPU-numbered lines, wrapped to `width`. */
export function sideLines(side: Side, width: number): string[] {
  const slice = raceSlice(side.trace, side.message == null ? {} : { message: side.message });
  const cpu = new Map(slice.all.map((t) => [t.id, t.cpu]));
  const lines: string[] = [...wrap(side.title, width), "-".repeat(width)];
  const tag = (id: number) => `${cpu.get(id) ?? "?"}: `;
  for (const s of slice.setup) lines.push(...wrap(`${tag(s.thread.id)}${setupLine(s.calls)}`, width));
  for (const s of slice.steps) {
    const indent = "  ".repeat(Math.min(s.depth, MAX_DEPTH));
    const [first, ...rest] = wrap(s.text, width - 3, indent);
    lines.push(`${tag(s.thread)}${first}`, ...rest.map((r) => `   ${r}`));
  }
  return lines;
}

/** The legend under the block: which thread each CPU number is (from the left trace). */
function legend(left: Side, right: Side): string {
  const names = new Map<number, string>();
  for (const side of [left, right])
    for (const t of raceSlice(side.trace).all) if (!names.has(t.cpu)) names.set(t.cpu, t.name);
  return [...names].map(([c, n]) => `${c}: CPU ${c} (${n})`).join(", ");
}

export function sideBySide(left: Side, right: Side, total = LINE_WIDTH): string {
  const half = Math.floor((total - 3) / 2);
  const a = sideLines(left, half);
  const b = sideLines(right, total - 3 - half);
  const n = Math.max(a.length, b.length);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const l = a[i] ?? "";
    const r = b[i] ?? "";
    out.push(`${padEnd(l, half)} | ${r}`.replace(/\s+$/, ""));
  }
  const key = legend(left, right);
  return [...out, "", ...wrap(key, total)].filter((l, i, all) => i < all.length || length(l) > 0).join("\n");
}
