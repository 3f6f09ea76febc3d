/**
 * A counterexample as a Mermaid `sequenceDiagram`, from the same trimmed steps as the CPU
 * columns. Participants are the threads, and the objects more than one thread touches (the
 * locks, sequence counts and page tables the race is about); an operation on such an object is
 * an arrow to it, anything else a note over its thread. A blocking operation is a dashed
 * arrow with a cross, the failure a note spanning the threads.
 *
 * Labels come from the model (object names such as `svmm->mutex`, ranges such as
 * `[0x1000, 0x2000)`), and several characters mean something to Mermaid's parser: `;` and
 * newlines end a statement, `#` starts an entity code, `%%` a comment, `<`/`>` can read as
 * HTML or arrows, `:` splits a message from its label. `mermaidLabel` turns each into a
 * Mermaid entity code, so any name can be drawn.
 */
import type { TraceEvent } from "@mnlab/sim";
import { interleavingSteps, threadsOf } from "./interleaving.ts";

const ENTITIES: Record<string, string> = {
  "#": "#35;",
  ";": "#59;",
  ":": "#58;",
  "%": "#37;",
  "<": "#lt;",
  ">": "#gt;",
  '"': "#quot;",
  "`": "#96;",
  "{": "#123;",
  "}": "#125;",
  "|": "#124;",
  "\\": "#92;",
};

/** A label safe in any Mermaid sequence-diagram position (alias, message, note). */
export function mermaidLabel(s: string, maxLength = 80): string {
  const flat = s.replace(/[\r\n\t]+/g, " ").trim();
  const chars = [...flat];
  const clipped = chars.length <= maxLength ? flat : `${chars.slice(0, maxLength - 1).join("")}…`;
  const out = clipped.replace(/[#;:%<>"`{}|\\]/g, (c) => ENTITIES[c]!);
  return out === "" ? "#32;" : out;
}

/** Objects touched (by an operation, blocking or note) by more than one thread. */
function sharedObjects(steps: ReturnType<typeof interleavingSteps>): string[] {
  const touchers = new Map<string, Set<number>>();
  for (const s of steps) {
    if (s.object === undefined || s.kind === "call" || s.kind === "ret") continue;
    if (!touchers.has(s.object)) touchers.set(s.object, new Set());
    touchers.get(s.object)!.add(s.thread);
  }
  return [...touchers].filter(([, t]) => t.size > 1).map(([o]) => o);
}

export function sequenceDiagram(trace: readonly TraceEvent[], opts: { title?: string } = {}): string {
  const steps = interleavingSteps(trace);
  const threads = threadsOf(steps);
  const objects = sharedObjects(steps);
  const tid = new Map(threads.map((t, i) => [t.id, `T${i}`]));
  const oid = new Map(objects.map((o, i) => [o, `O${i}`]));
  const lines = ["sequenceDiagram"];
  if (opts.title !== undefined) lines.push(`  title ${mermaidLabel(opts.title, 120)}`);
  for (const [i, t] of threads.entries())
    lines.push(`  participant T${i} as CPU ${i} (${mermaidLabel(t.name)})`);
  for (const [i, o] of objects.entries()) lines.push(`  participant O${i} as ${mermaidLabel(o)}`);
  const allThreads = threads.length > 1 ? `T0,T${threads.length - 1}` : "T0";
  for (const s of steps) {
    const t = tid.get(s.thread)!;
    const indent = "·".repeat(Math.min(s.depth, 6));
    const target = s.object === undefined ? undefined : oid.get(s.object);
    if (s.kind === "fail") {
      lines.push(`  Note over ${allThreads}: ${mermaidLabel(`${s.text} in ${s.threadName}`)}`);
    } else if (target !== undefined && (s.kind === "op" || s.kind === "note")) {
      const rest = s.text.slice(s.op.length).replace(` ${s.object}`, "").trim();
      lines.push(`  ${t}->>${target}: ${mermaidLabel(rest === "" ? s.op : `${s.op} ${rest}`)}`);
    } else if (target !== undefined && s.kind === "block") {
      lines.push(`  ${t}--x${target}: ${mermaidLabel(`${s.op} (blocks)`)}`);
    } else {
      lines.push(`  Note over ${t}: ${mermaidLabel(indent + s.text)}`);
    }
  }
  return lines.join("\n");
}
