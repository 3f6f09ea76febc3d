/// <reference lib="dom" />
/**
 * The viewer page (bundled by esbuild into reports/viewer/index.html; its data is data.js
 * beside it, loaded by a plain <script> so the page works from file:// with no server).
 *
 * State lives in `view` and the URL fragment names the counterexample, so a link from a
 * Markdown page (`viewer/index.html#driver/variant/scenario/kind`) opens it. Every change
 * redraws from `view`: the traces are at most a few hundred events.
 */
import type { TraceEvent } from "@mnlab/sim";
import { eventText, type LaneRow, laneRows } from "../lanes.ts";
import { type PackedEvent, unpackEvent, type ViewerData, type ViewerRun } from "../model.ts";
import { stateAt, type TraceState } from "../state.ts";
import { positions, type TimelineEntry, timeline } from "./timeline.ts";

declare global {
  // A global set by data.js.
  var MNLAB_VIEWER_DATA: ViewerData | undefined;
}

interface Pane {
  run: ViewerRun;
  title: string;
  trace: TraceEvent[];
  rows: LaneRow[];
  visible: number[];
}

const view = {
  id: "",
  slice: true,
  pair: true,
  cursor: 0,
  selected: null as string | null,
};

const data = globalThis.MNLAB_VIEWER_DATA;
const traceCache = new Map<string, TraceEvent[]>();

function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: (Node | string | null)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null) el.append(c);
  return el;
}

function traceOf(run: ViewerRun): TraceEvent[] {
  let t = traceCache.get(run.id + run.variant + run.replay);
  if (t === undefined) {
    const names = new Map(run.threads.map((x) => [x.id, x.name]));
    t = (data!.traces[run.trace] as PackedEvent[]).map((p) => unpackEvent(p, names));
    traceCache.set(run.id + run.variant + run.replay, t);
  }
  return t;
}

function paneOf(run: ViewerRun, title: string): Pane {
  const trace = traceOf(run);
  const rows = laneRows(trace, run.threads);
  const visible = view.slice ? run.slice : trace.map((_, i) => i);
  return { run, title, trace, rows, visible };
}

function currentRun(): ViewerRun | undefined {
  return data?.runs.find((r) => r.id === view.id) ?? data?.runs[0];
}

function panes(): Pane[] {
  const run = currentRun();
  if (run === undefined) return [];
  const pair = data!.pairs.find((p) => p.old === run.id);
  const old = paneOf(run, `${run.variant}: ${run.kind}`);
  if (pair === undefined || !view.pair) return [old];
  const how = pair.how === "retry-path" ? "the path that retries" : "same schedule";
  return [old, paneOf(pair.next, `${pair.next.variant}, ${how}: ${pair.next.kind}`)];
}

/** Does event e touch object o? Its object, or (for an address) its text names it. */
function touches(e: TraceEvent, o: string): boolean {
  if (e.object === o) return true;
  if (!/^0x[0-9a-f]+$/.test(o)) return false;
  return new RegExp(`${o}(?![0-9a-f])`).test(`${e.object ?? ""} ${e.detail ?? ""}`);
}

function objectLink(o: string, label = o): HTMLElement {
  // A span, not a <button>: a button is an inline block, and a long object name would wrap
  // inside it rather than with the line.
  const a = h("span", { class: "obj", "data-obj": o, role: "button", tabindex: "0" }, label);
  if (view.selected === o) a.classList.add("selected");
  return a;
}

function rowCell(p: Pane, row: LaneRow): HTMLElement {
  const e = p.trace[row.index]!;
  const cell = h("div", { class: "ev", style: `padding-left:${Math.min(row.depth, 6) * 1.2}em` });
  if (e.kind === "fail") {
    cell.append(h("span", { class: "op" }, `*** ${e.op}`), ` ${e.detail ?? ""}`);
    return cell;
  }
  const text = eventText(e);
  // The object follows the operation's name (which may contain it: `srcu_read_lock srcu`).
  const k = e.object === undefined || e.object === "" ? -1 : text.indexOf(e.object, e.op.length);
  if (e.object !== undefined && k >= 0) {
    cell.append(
      h("span", { class: e.kind === "call" ? "op call" : "op" }, text.slice(0, k)),
      objectLink(e.object),
      text.slice(k + e.object.length),
    );
  } else cell.append(h("span", { class: e.kind === "call" ? "op call" : "op" }, text));
  return cell;
}

function lanes(p: Pane, at: number): HTMLElement {
  // A lane for each thread with a step on show (the race slice leaves out set-up-only threads).
  const shown = p.run.threads.filter((t) => p.visible.some((i) => p.trace[i]!.thread === t.id));
  const head = h("tr", {}, h("th", { class: "gutter" }, "step"));
  for (const t of shown) head.append(h("th", {}, `CPU ${t.cpu} (${t.name})`));
  const body = h("tbody");
  for (const i of p.visible) {
    const row = p.rows[i]!;
    const e = p.trace[i]!;
    const tr = h("tr", { "data-index": String(i), "data-step": String(e.step) });
    tr.classList.add(e.kind === "note" && e.op === "WARN" ? "fail" : e.kind);
    if (row.bookkeeping) tr.classList.add("bookkeeping");
    if (i === at) tr.classList.add("current");
    if (i > at) tr.classList.add("future");
    if (view.selected !== null && touches(e, view.selected)) tr.classList.add("hl");
    tr.append(h("td", { class: "gutter" }, `#${e.step}`));
    for (const t of shown) tr.append(t.id === e.thread ? h("td", {}, rowCell(p, row)) : h("td"));
    body.append(tr);
  }
  // A violation found when the run ended (a leak, a lock still held) is at no step: say so
  // below the last one rather than pin it on an event.
  const atEnd = p.run.kind !== "pass" && !p.trace.some((e) => e.kind === "fail" || e.op === "WARN");
  if (atEnd && p.run.message !== null)
    body.append(
      h(
        "tr",
        { class: "fail end" },
        h("td", { class: "gutter" }, "end"),
        h(
          "td",
          { colspan: String(Math.max(1, shown.length)) },
          `*** ${p.run.kind} when the run ended: ${p.run.message}`,
        ),
      ),
    );
  return h("table", { class: "lanes" }, h("thead", {}, head), body);
}

function section(title: string, items: HTMLElement[], empty: string): HTMLElement {
  const list = h("ul");
  for (const it of items) list.append(it);
  if (items.length === 0) list.append(h("li", { class: "none" }, empty));
  return h("section", {}, h("h3", {}, title), list);
}

const stepRef = (p: Pane, i: number) => `#${p.trace[i]?.step ?? "?"}`;

function statePanel(p: Pane, s: TraceState): HTMLElement {
  const shared = new Set(p.run.shared);
  const threads = s.threads.map((t) =>
    h(
      "li",
      { "data-thread": t.name, "data-status": t.status, "data-holds": t.holds.join("\n") },
      h("b", {}, t.name),
      `: ${t.status}`,
      t.blockedOn === undefined ? null : " on ",
      t.blockedOn === undefined ? null : objectLink(t.blockedOn),
      t.holds.length === 0 ? null : "; holds ",
      ...t.holds.flatMap((l, k) => [k > 0 ? ", " : "", objectLink(l)]),
    ),
  );
  const locks = s.locks.map((l) =>
    h(
      "li",
      {
        "data-lock": l.lock,
        "data-holders": l.holders.map((x) => x.thread).join("\n"),
        "data-waiters": l.waiters.map((x) => x.thread).join("\n"),
      },
      objectLink(l.lock),
      l.holders.length === 0
        ? " free"
        : `: ${l.holders.map((x) => `${x.thread} (${x.mode}, since ${stepRef(p, x.at)})`).join(", ")}`,
      l.waiters.length === 0 ? null : `; waiting: ${l.waiters.map((w) => w.thread).join(", ")}`,
    ),
  );
  const value = (
    v: { object: string; value: string; how: string; thread: string; at: number },
    attr: string,
  ) =>
    h(
      "li",
      { [attr]: v.object, "data-value": v.value },
      objectLink(v.object),
      ` = ${v.value} `,
      h("span", { class: "src" }, `(${v.how} by ${v.thread}, ${stepRef(p, v.at)})`),
    );
  const core = [
    ...s.seqs.map((v) => value(v, "data-seq")),
    ...s.retries.map((v) =>
      h(
        "li",
        { "data-retry": v.object, "data-value": v.value },
        "read_retry ",
        objectLink(v.object),
        `: ${v.value} `,
        h("span", { class: "src" }, `(${v.thread}, ${stepRef(p, v.at)})`),
      ),
    ),
    h(
      "li",
      { "data-open-invalidations": String(s.invalidations.length) },
      `open invalidate_range_start..end brackets: ${s.invalidations.length}`,
      ...s.invalidations.map((x) =>
        h("div", { class: "sub" }, `${x.thread}: ${x.mm} ${x.range} (${stepRef(p, x.at)})`),
      ),
    ),
  ];
  const devices = s.devices.map((d) =>
    h(
      "li",
      { "data-device": d.device, "data-pages": d.pages.map((x) => `${x.addr}->${x.pfn}`).join(" ") },
      objectLink(d.device),
      d.pages.length === 0 ? ": nothing mapped" : ": ",
      ...d.pages.flatMap((x, k) => [k > 0 ? ", " : "", objectLink(x.addr), ` -> pfn ${x.pfn}`]),
      d.lastAccess === null
        ? null
        : h(
            "div",
            { class: "sub" },
            `last access: ${d.lastAccess.what} by ${d.lastAccess.thread} (${stepRef(p, d.lastAccess.at)})`,
          ),
    ),
  );
  const ptes = s.ptes.map((x) =>
    h(
      "li",
      { "data-pte": x.addr, "data-state": x.state },
      objectLink(x.addr),
      `: ${x.state} `,
      h("span", { class: "src" }, `(${x.thread}, ${stepRef(p, x.at)})`),
    ),
  );
  const freed = s.freed.map((f) =>
    h(
      "li",
      { "data-freed": f.object },
      objectLink(f.object),
      ` freed by ${f.how} `,
      h("span", { class: "src" }, `(${f.thread}, ${stepRef(p, f.at)})`),
    ),
  );
  const other = [...s.counters, ...s.fields]
    .filter((v) => shared.has(v.object))
    .map((v) => value(v, "data-field"));
  return h(
    "aside",
    { class: "state" },
    h("h2", { class: "state-title" }, `State after ${s.at < 0 ? "nothing" : stepRef(p, s.at)}`),
    section("Threads", threads, "none"),
    section("Locks held or waited for", locks, "no lock is held"),
    section("Notifier core", core, ""),
    section("Device mappings", devices, "no device mapping in the trace yet"),
    section(
      "CPU PTEs of the pages involved (the trace names the operation, not the pfn)",
      ptes,
      "no page-table operation yet",
    ),
    section("Freed pages and objects", freed, "nothing freed yet"),
    section("Shared counters and lockless fields", other, "none read or written yet"),
  );
}

function runLabel(r: ViewerRun): string {
  return `${r.driver} / ${r.scenario} / ${r.variant}: ${r.kind}`;
}

function render(): void {
  const root = document.getElementById("app")!;
  root.replaceChildren();
  if (data === undefined || data.runs.length === 0) {
    root.append(h("p", {}, "No counterexample in this report: every run passed (or data.js is missing)."));
    return;
  }
  const run = currentRun()!;
  view.id = run.id;
  const ps = panes();
  const line: TimelineEntry[] = timeline(
    ps.map((p) => ({ visible: p.visible, steps: p.trace.map((e) => e.step) })),
  );
  view.cursor = Math.max(0, Math.min(view.cursor, line.length - 1));
  const at = positions(line, ps.length, view.cursor);

  const select = h("select", { id: "run", "aria-label": "counterexample" }) as HTMLSelectElement;
  let group: HTMLElement | null = null;
  for (const r of data.runs) {
    if (group === null || group.getAttribute("label") !== r.driver) {
      group = h("optgroup", { label: r.driver });
      select.append(group);
    }
    const o = h("option", { value: r.id }, runLabel(r)) as HTMLOptionElement;
    if (r.id === run.id) o.selected = true;
    group.append(o);
  }
  const pair = data.pairs.find((p) => p.old === run.id);
  const radio = (value: string, label: string, on: boolean) =>
    h(
      "label",
      {},
      h("input", { type: "radio", name: "filter", value, ...(on ? { checked: "" } : {}) }),
      label,
    );
  const controls = h(
    "div",
    { class: "controls" },
    select,
    radio("slice", " race slice", view.slice),
    radio("all", " whole trace", !view.slice),
    pair === undefined
      ? null
      : h(
          "label",
          {},
          h("input", { type: "checkbox", id: "pair", ...(view.pair ? { checked: "" } : {}) }),
          " old next to new",
        ),
    h("button", { id: "first", type: "button", title: "first step (Home)" }, "first"),
    h("button", { id: "prev", type: "button", title: "step back (↑ or k)" }, "◀ back"),
    h("button", { id: "next", type: "button", title: "step forward (↓ or j)" }, "forward ▶"),
    h("button", { id: "last", type: "button", title: "last step (End)" }, "last"),
    h("span", { id: "position" }, `${view.cursor + 1} / ${line.length}`),
  );
  const info = h(
    "div",
    { class: "info" },
    h("p", { class: "message" }, h("b", {}, `${run.kind}`), run.message === null ? "" : `: ${run.message}`),
    h("p", { class: "note" }, run.note),
  );
  const replays = ps.map((p) =>
    h(
      "p",
      { class: "replay" },
      `${p.run.variant}: `,
      h("code", { "data-replay": p.run.variant }, `npm run mnlab -- replay ${p.run.replay}`),
      " ",
      h(
        "button",
        { type: "button", class: "copy", "data-copy": `npm run mnlab -- replay ${p.run.replay}` },
        "copy",
      ),
    ),
  );
  const highlight =
    view.selected === null
      ? h("p", { class: "hl-note" }, "Click an object to highlight every step that touches it.")
      : h(
          "p",
          { class: "hl-note", id: "highlighted" },
          "Highlighted: ",
          h("code", {}, view.selected),
          ` (${ps.reduce((n, p) => n + p.visible.filter((i) => touches(p.trace[i]!, view.selected!)).length, 0)} steps) `,
          h("button", { type: "button", id: "clear" }, "clear"),
        );
  const main = h("div", { class: ps.length > 1 ? "panes two" : "panes" });
  ps.forEach((p, k) => {
    const state = stateAt(p.trace, at[k]!);
    main.append(
      h(
        "div",
        { class: "pane", "data-pane": String(k) },
        h("h2", {}, p.title),
        k === 1 ? h("p", { class: "note" }, pair!.next.note) : null,
        h("div", { class: "scroll" }, lanes(p, at[k]!)),
        statePanel(p, state),
      ),
    );
  });
  root.append(controls, info, ...replays, highlight, main);
  root.querySelectorAll("tr.current").forEach((el) => {
    el.scrollIntoView({ block: "nearest" });
  });
}

function go(id: string): void {
  view.id = id;
  view.cursor = 0;
  view.selected = null;
  if (location.hash.slice(1) !== id) history.replaceState(null, "", `#${id}`);
  render();
}

function fromHash(): void {
  const raw = location.hash.slice(1);
  let id = raw;
  try {
    id = decodeURIComponent(raw);
  } catch {
    // keep it raw
  }
  const run = data?.runs.find((r) => r.id === raw || r.id === id || decodeURIComponent(r.id) === id);
  if (run !== undefined) {
    view.id = run.id;
    view.cursor = 0;
    view.selected = null;
  }
  render();
}

function step(d: number | "first" | "last"): void {
  view.cursor = d === "first" ? 0 : d === "last" ? Number.MAX_SAFE_INTEGER : view.cursor + d;
  render();
}

function copy(text: string, button: HTMLElement): void {
  const done = () => {
    button.textContent = "copied";
  };
  if (navigator.clipboard?.writeText !== undefined) {
    navigator.clipboard.writeText(text).then(done, () => fallback());
  } else fallback();
  function fallback() {
    const ta = h("textarea", {}, text) as HTMLTextAreaElement;
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
    done();
  }
}

document.addEventListener("click", (ev) => {
  const t = ev.target as HTMLElement;
  const obj = t.closest<HTMLElement>("[data-obj]");
  if (obj !== null) {
    const o = obj.dataset.obj!;
    view.selected = view.selected === o ? null : o;
    render();
    return;
  }
  const b = t.closest<HTMLElement>("button");
  if (b === null) return;
  if (b.id === "first") step("first");
  else if (b.id === "prev") step(-1);
  else if (b.id === "next") step(1);
  else if (b.id === "last") step("last");
  else if (b.id === "clear") {
    view.selected = null;
    render();
  } else if (b.dataset.copy !== undefined) copy(b.dataset.copy, b);
});

document.addEventListener("change", (ev) => {
  const t = ev.target as HTMLInputElement;
  if (t.id === "run") go(t.value);
  else if (t.name === "filter") {
    view.slice = t.value === "slice";
    view.cursor = 0;
    render();
  } else if (t.id === "pair") {
    view.pair = t.checked;
    view.cursor = 0;
    render();
  }
});

document.addEventListener("keydown", (ev) => {
  const obj = (ev.target as HTMLElement).closest<HTMLElement>("[data-obj]");
  if (obj !== null && (ev.key === "Enter" || ev.key === " ")) {
    ev.preventDefault();
    obj.click();
    return;
  }
  if ((ev.target as HTMLElement).tagName === "SELECT" || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const k = ev.key;
  if (k === "ArrowDown" || k === "ArrowRight" || k === "j") step(1);
  else if (k === "ArrowUp" || k === "ArrowLeft" || k === "k") step(-1);
  else if (k === "Home") step("first");
  else if (k === "End") step("last");
  else return;
  ev.preventDefault();
});

window.addEventListener("hashchange", fromHash);
fromHash();
