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
 * Mermaid entity code, so any name can be drawn. A long label is broken onto lines (`<br/>`)
 * rather than cut, so that an address range reads whole and the diagram stays narrow.
 */
import type { TraceEvent } from "@mnlab/sim";
import { interleavingSteps, type Step, threadsOf } from "./interleaving.ts";
import { type RaceSlice, setupLine } from "./race.ts";
import { wrap } from "./wrap.ts";

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
function sharedObjects(steps: readonly Step[]): string[] {
  const touchers = new Map<string, Set<number>>();
  for (const s of steps) {
    if (s.object === undefined || s.kind === "call" || s.kind === "ret") continue;
    if (!touchers.has(s.object)) touchers.set(s.object, new Set());
    touchers.get(s.object)!.add(s.thread);
  }
  return [...touchers].filter(([, t]) => t.size > 1).map(([o]) => o);
}

interface Drawing {
  threads: { id: number; name: string; cpu: number }[];
  objects: string[];
  steps: readonly Step[];
  /** Notes drawn first, over a thread: its set-up line. */
  setup?: { thread: number; text: string }[];
  title?: string;
  /** Longest label (characters): a long label widens the whole diagram. */
  label: number;
}

/** A label broken into lines of at most `width` characters (`<br/>`), nothing cut. */
export function wrappedLabel(s: string, width: number): string {
  const flat = s.replace(/[\r\n\t]+/g, " ").trim();
  return wrap(flat, width)
    .map((l) => mermaidLabel(l.trim(), Number.MAX_SAFE_INTEGER))
    .join("<br/>");
}

function draw(d: Drawing): string {
  const tid = new Map(d.threads.map((t, i) => [t.id, `T${i}`]));
  const oid = new Map(d.objects.map((o, i) => [o, `O${i}`]));
  const lines = ["sequenceDiagram"];
  if (d.title !== undefined) lines.push(`  title ${mermaidLabel(d.title, 120)}`);
  for (const [i, t] of d.threads.entries())
    lines.push(`  participant T${i} as CPU ${t.cpu} (${wrappedLabel(t.name, d.label)})`);
  for (const [i, o] of d.objects.entries()) lines.push(`  participant O${i} as ${wrappedLabel(o, d.label)}`);
  const allThreads = d.threads.length > 1 ? `T0,T${d.threads.length - 1}` : "T0";
  for (const s of d.setup ?? []) {
    const t = tid.get(s.thread);
    if (t !== undefined) lines.push(`  Note over ${t}: ${wrappedLabel(s.text, d.label)}`);
  }
  for (const s of d.steps) {
    const t = tid.get(s.thread);
    if (t === undefined) continue;
    const indent = "·".repeat(Math.min(s.depth, 6));
    const target = s.object === undefined ? undefined : oid.get(s.object);
    if (s.kind === "fail") {
      lines.push(`  Note over ${allThreads}: ${wrappedLabel(`${s.text} in ${s.threadName}`, d.label)}`);
    } else if (target !== undefined && (s.kind === "op" || s.kind === "note")) {
      const rest = s.text.slice(s.op.length).replace(` ${s.object}`, "").trim();
      lines.push(`  ${t}->>${target}: ${wrappedLabel(rest === "" ? s.op : `${s.op} ${rest}`, d.label)}`);
    } else if (target !== undefined && s.kind === "block") {
      lines.push(`  ${t}--x${target}: ${wrappedLabel(`${s.op} (blocks)`, d.label)}`);
    } else {
      lines.push(`  Note over ${t}: ${wrappedLabel(indent + s.text, d.label)}`);
    }
  }
  return lines.join("\n");
}

/** The whole trace as a sequence diagram (what `mnlab replay --mermaid` prints). */
export function sequenceDiagram(trace: readonly TraceEvent[], opts: { title?: string } = {}): string {
  const steps = interleavingSteps(trace);
  return draw({
    threads: threadsOf(steps).map((t, cpu) => ({ ...t, cpu })),
    objects: sharedObjects(steps),
    steps,
    ...(opts.title === undefined ? {} : { title: opts.title }),
    label: 80,
  });
}

/**
 * The race slice as a sequence diagram: only the racing threads (numbered as in the CPU
 * columns) and the objects more than one of them touches, with short labels, so that the
 * diagram stays narrow enough to read on the page.
 */
export function raceDiagram(slice: RaceSlice): string {
  const racing = new Set(slice.threads.map((t) => t.id));
  return draw({
    threads: slice.threads,
    objects: sharedObjects(slice.steps).filter((o) => slice.objects.includes(o)),
    steps: slice.steps,
    setup: slice.setup
      .filter((s) => racing.has(s.thread.id))
      .map((s) => ({ thread: s.thread.id, text: setupLine(s.calls) })),
    label: 40,
  });
}
