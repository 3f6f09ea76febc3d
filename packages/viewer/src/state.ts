/**
 * The state panel: what the trace says about the shared state after a given event. Derived
 * from the trace events alone (the runtime records structured events, not snapshots), so a
 * piece of state the models do not trace is not shown — it is not guessed either:
 *
 *   - locks and who holds them: from the lock operations (`mutex_lock`, `down_read`, ...). A
 *     lock operation followed by a block on the same lock is a wait; the thread holds it from
 *     its next event on. A failed trylock is traced as a `failed` note (mutex, rwsem); a
 *     `spin_trylock` leaves no such note, so it counts as taken when the thread's next event
 *     on that lock is its unlock. Lockdep's pseudo-locks (`mmu_notifier_invalidate_range_start`,
 *     `fs_reclaim`) are not traced and do not appear.
 *   - the notifier core's sequence counts: the mm's `invalidate_seq` where it is stored (its
 *     initial value is not traced), each notifier's `invalidate_seq` where `set_seq` writes it
 *     and where `read_begin` samples it, and what `read_retry` answered. The core's
 *     `active_invalidate_ranges` is not traced; the panel counts the open
 *     `mmu_notifier_invalidate_range_start` .. `_end` brackets per mm instead, from the calls.
 *   - device mappings: from the `device_map` notes (address -> pfn) and `device_unmap` ranges.
 *   - CPU PTEs of the pages involved (those a device mapped or accessed, or a CPU page-table
 *     operation names, over at most 64 pages): the last page-table operation on each. The pfn
 *     a CPU PTE points to is not traced, only what was done to it.
 *   - freed pages and objects: the `free_page` notes and every lifetime's `freed` note.
 *   - counters (refcounts, atomics) and other lockless fields, where they are read or written.
 */
import type { TraceEvent } from "@mnlab/sim";

export interface Holder {
  thread: string;
  mode: "write" | "read" | "held" | "read section";
  /** Index of the event that took it. */
  at: number;
}

export interface LockState {
  lock: string;
  holders: Holder[];
  waiters: { thread: string; at: number }[];
}

export interface Value {
  object: string;
  value: string;
  /** How the trace shows it: `store`, `WRITE_ONCE`, `read_begin`, `load`, ... */
  how: string;
  thread: string;
  at: number;
}

export interface OpenInvalidation {
  mm: string;
  thread: string;
  range: string;
  at: number;
}

export interface DeviceState {
  device: string;
  pages: { addr: string; pfn: string; at: number }[];
  lastAccess: { what: string; thread: string; at: number } | null;
}

export interface PteState {
  addr: string;
  /** The last page-table operation on the page, as the trace names it. */
  state: string;
  thread: string;
  at: number;
}

export interface Freed {
  object: string;
  how: string;
  thread: string;
  at: number;
}

export interface ThreadStatus {
  id: number;
  name: string;
  status: "no step yet" | "running" | "blocked" | "exited";
  blockedOn?: string;
  /** Locks it holds (taken and not released), in acquisition order. */
  holds: string[];
}

export interface TraceState {
  /** Index of the last event applied (-1: none). */
  at: number;
  threads: ThreadStatus[];
  locks: LockState[];
  /** The notifier core's counts: mm and notifier invalidate_seq, read_begin samples. */
  seqs: Value[];
  /** read_retry answers, per notifier. */
  retries: Value[];
  invalidations: OpenInvalidation[];
  devices: DeviceState[];
  ptes: PteState[];
  freed: Freed[];
  counters: Value[];
  fields: Value[];
}

const ACQUIRE: Record<string, Holder["mode"]> = {
  spin_lock: "held",
  spin_lock_irqsave: "held",
  spin_trylock: "held",
  mutex_lock: "held",
  mutex_trylock: "held",
  down_read: "read",
  down_read_trylock: "read",
  down_write: "write",
  down_write_trylock: "write",
  srcu_read_lock: "read section",
};
const RELEASE = new Set([
  "spin_unlock",
  "spin_unlock_irqrestore",
  "mutex_unlock",
  "up_read",
  "up_write",
  "srcu_read_unlock",
]);
const COUNTER_OPS = new Set([
  "atomic_read",
  "atomic_set",
  "refcount_inc",
  "refcount_inc_not_zero",
  "refcount_dec_and_test",
]);
/** Page-table operations on one page, named by `mm addr` objects. */
const PTE_AT: Record<string, string> = {
  handle_mm_fault: "faulted in",
  ptep_clear_flush: "cleared and flushed",
  remove_migration_ptes: "migration entry replaced by the new page",
  migrate_page_move_mapping: "page moved (mapping)",
  __remove_mapping: "reclaimed (removed from its mapping)",
};
/** Page-table operations on a range, `[start, end)` in the detail. */
const PTE_RANGE: Record<string, string> = {
  zap_pte_range: "zapped",
  change_pte_range: "protection changed",
  copy_pte_range: "write-protected for COW (fork)",
};

const PAGE = 0x1000;
const HEX = /0x[0-9a-f]+/g;
const SEQ_FIELD = /(invalidate_seq|notifiers_seq|notifier_seq)$/;

export function parseRange(s: string | undefined): { start: number; end: number } | null {
  const m = /\[(0x[0-9a-f]+), (\+)?(0x[0-9a-f]+)\)/.exec(s ?? "");
  if (m === null) return null;
  const start = Number(m[1]);
  const b = Number(m[3]);
  return { start, end: m[2] === "+" ? start + b : b };
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The pages a trace involves: what a device mapped or accessed, what a CPU op names. */
export function pagesInvolved(trace: readonly TraceEvent[]): string[] {
  const pages = new Set<number>();
  for (const e of trace) {
    if (e.kind === "note" && e.op === "device_map")
      for (const m of (e.detail ?? "").matchAll(/(0x[0-9a-f]+)->/g)) pages.add(Number(m[1]));
    if (e.op === "device_access") for (const h of e.detail?.match(HEX) ?? []) pages.add(Number(h));
    if (e.kind === "op" && PTE_AT[e.op] !== undefined)
      for (const h of e.object?.match(HEX) ?? []) pages.add(Number(h));
    // A page-table operation over a few pages names them too (not exit_mmap's whole space).
    const r = e.kind === "op" && PTE_RANGE[e.op] !== undefined ? parseRange(e.detail) : null;
    if (r !== null && r.end - r.start <= 64 * PAGE)
      for (let a = r.start - (r.start % PAGE); a < r.end; a += PAGE) pages.add(a);
  }
  return [...pages].sort((a, b) => a - b).map(hex);
}

/** Objects two threads or more touch in the whole trace. */
export function sharedObjects(trace: readonly TraceEvent[]): string[] {
  const by = new Map<string, Set<number>>();
  for (const e of trace) {
    if (e.object === undefined) continue;
    if (!by.has(e.object)) by.set(e.object, new Set());
    by.get(e.object)!.add(e.thread);
  }
  return [...by].filter(([, t]) => t.size > 1).map(([o]) => o);
}

function nextOfThread(trace: readonly TraceEvent[], i: number): number {
  for (let j = i + 1; j < trace.length; j++) if (trace[j]!.thread === trace[i]!.thread) return j;
  return -1;
}

/** Did this trylock take its lock? (See the file comment.) */
function trylockTook(trace: readonly TraceEvent[], i: number): boolean {
  const e = trace[i]!;
  for (let j = nextOfThread(trace, i); j >= 0; j = nextOfThread(trace, j)) {
    const n = trace[j]!;
    if (n.kind === "note" && n.op === e.op && n.object === e.object && n.detail === "failed") return false;
    if (n.object !== e.object) continue;
    return e.op !== "spin_trylock" || RELEASE.has(n.op);
  }
  return e.op !== "spin_trylock";
}

function counterAfter(e: TraceEvent): string {
  const v = Number(e.detail);
  if (e.detail === undefined || Number.isNaN(v)) return e.detail ?? "?";
  if (e.op === "refcount_inc") return String(v + 1);
  if (e.op === "refcount_inc_not_zero") return v === 0 ? "0" : String(v + 1);
  if (e.op === "refcount_dec_and_test") return String(v - 1);
  return String(v);
}

function setValue(list: Value[], v: Value): void {
  const i = list.findIndex((x) => x.object === v.object);
  if (i >= 0) list[i] = v;
  else list.push(v);
}

/** The state after event `at` (inclusive); `at` = -1 is before the first event. */
export function stateAt(trace: readonly TraceEvent[], at: number): TraceState {
  const threads = new Map<number, ThreadStatus>();
  for (const e of trace)
    if (!threads.has(e.thread))
      threads.set(e.thread, { id: e.thread, name: e.threadName, status: "no step yet", holds: [] });
  const locks = new Map<string, LockState>();
  const lockOf = (name: string) => {
    if (!locks.has(name)) locks.set(name, { lock: name, holders: [], waiters: [] });
    return locks.get(name)!;
  };
  /** Thread id -> lock it waits to take (it holds it from its next event). */
  const pending = new Map<number, { lock: string; mode: Holder["mode"] }>();
  const seqs: Value[] = [];
  const retries: Value[] = [];
  const counters: Value[] = [];
  const fields: Value[] = [];
  const invalidations: OpenInvalidation[] = [];
  const devices = new Map<string, DeviceState>();
  const deviceOf = (name: string) => {
    if (!devices.has(name)) devices.set(name, { device: name, pages: [], lastAccess: null });
    return devices.get(name)!;
  };
  const involved = pagesInvolved(trace);
  const ptes = new Map<string, PteState>();
  const freed: Freed[] = [];

  const take = (t: ThreadStatus, lock: string, mode: Holder["mode"], i: number) => {
    lockOf(lock).holders.push({ thread: t.name, mode, at: i });
    if (mode !== "read section") t.holds.push(lock);
  };
  const release = (t: ThreadStatus, lock: string) => {
    const l = lockOf(lock);
    const k = l.holders.findIndex((h) => h.thread === t.name);
    if (k >= 0) l.holders.splice(k, 1);
    const h = t.holds.indexOf(lock);
    if (h >= 0) t.holds.splice(h, 1);
  };

  for (let i = 0; i <= at && i < trace.length; i++) {
    const e = trace[i]!;
    const t = threads.get(e.thread)!;
    if (e.kind !== "block") {
      if (t.status === "blocked" || t.status === "no step yet") t.status = "running";
      delete t.blockedOn;
      const p = pending.get(e.thread);
      if (p !== undefined) {
        pending.delete(e.thread);
        const l = lockOf(p.lock);
        l.waiters = l.waiters.filter((w) => w.thread !== t.name);
        take(t, p.lock, p.mode, i);
      }
    }
    const obj = e.object ?? "";
    switch (e.kind) {
      case "exit":
        t.status = "exited";
        break;
      case "block":
        t.status = "blocked";
        t.blockedOn = obj;
        break;
      case "op": {
        const mode = ACQUIRE[e.op];
        if (mode !== undefined && e.object !== undefined) {
          const j = nextOfThread(trace, i);
          const n = j >= 0 ? trace[j] : undefined;
          if (n?.kind === "block" && n.object === e.object) {
            pending.set(e.thread, { lock: obj, mode });
            lockOf(obj).waiters.push({ thread: t.name, at: i });
          } else if (!e.op.endsWith("trylock") || trylockTook(trace, i)) {
            take(t, obj, mode, i);
          }
        } else if (RELEASE.has(e.op)) {
          release(t, obj);
        } else if (e.op === "downgrade_write") {
          const h = lockOf(obj).holders.find((x) => x.thread === t.name);
          if (h !== undefined) h.mode = "read";
        } else if (COUNTER_OPS.has(e.op)) {
          setValue(counters, { object: obj, value: counterAfter(e), how: e.op, thread: t.name, at: i });
        } else if (e.op === "store" || e.op === "WRITE_ONCE") {
          const v = { object: obj, value: e.detail ?? "?", how: e.op, thread: t.name, at: i };
          setValue(SEQ_FIELD.test(obj) ? seqs : fields, v);
        } else if (e.op === "device_unmap") {
          const r = parseRange(e.detail);
          const d = deviceOf(obj);
          if (r !== null)
            d.pages = d.pages.filter((p) => Number(p.addr) < r.start || Number(p.addr) >= r.end);
        } else if (e.op === "device_access") {
          deviceOf(obj).lastAccess = { what: e.detail ?? "", thread: t.name, at: i };
        } else if (PTE_AT[e.op] !== undefined) {
          const detail = e.detail === undefined ? "" : ` (${e.detail})`;
          for (const h of e.object?.match(HEX) ?? [])
            ptes.set(h, { addr: h, state: `${PTE_AT[e.op]}${detail}: ${e.op}`, thread: t.name, at: i });
        } else if (PTE_RANGE[e.op] !== undefined) {
          const r = parseRange(e.detail);
          if (r === null) break;
          const event = e.detail?.match(/MMU_NOTIFY_\w+/)?.[0];
          for (const a of involved) {
            const n = Number(a);
            if (n + PAGE <= r.start || n >= r.end) continue;
            const why = event === undefined ? "" : ` (${event})`;
            ptes.set(a, { addr: a, state: `${PTE_RANGE[e.op]}${why}: ${e.op}`, thread: t.name, at: i });
          }
        }
        break;
      }
      case "note": {
        if (e.detail === "freed") {
          freed.push({ object: obj, how: e.op, thread: t.name, at: i });
        } else if (e.op === "free_page") {
          freed.push({ object: obj, how: "free_page", thread: t.name, at: i });
        } else if (e.op === "device_map") {
          const d = deviceOf(obj);
          for (const m of (e.detail ?? "").matchAll(/(0x[0-9a-f]+)->(0x[0-9a-f]+)/g)) {
            d.pages = d.pages.filter((p) => p.addr !== m[1]);
            d.pages.push({ addr: m[1]!, pfn: m[2]!, at: i });
          }
          d.pages.sort((a, b) => Number(a.addr) - Number(b.addr));
        } else if (e.op === "mmu_interval_read_begin") {
          const seq = /seq=(\d+)/.exec(e.detail ?? "")?.[1] ?? "?";
          const slept = e.detail?.includes("slept") ? " (slept)" : "";
          setValue(seqs, {
            object: `${obj}->invalidate_seq`,
            value: `${seq}${slept}`,
            how: "mmu_interval_read_begin",
            thread: t.name,
            at: i,
          });
        } else if (e.op === "mmu_interval_read_retry") {
          setValue(retries, { object: obj, value: e.detail ?? "", how: e.op, thread: t.name, at: i });
        } else if (e.op === "load") {
          const v = { object: obj, value: e.detail ?? "?", how: "load", thread: t.name, at: i };
          setValue(SEQ_FIELD.test(obj) ? seqs : fields, v);
        }
        break;
      }
      case "call":
        if (
          e.op === "mmu_notifier_invalidate_range_start" ||
          e.op === "mmu_notifier_invalidate_range_start_nonblock"
        )
          invalidations.push({ mm: obj, thread: t.name, range: e.detail ?? "", at: i });
        else if (e.op === "mmu_notifier_invalidate_range_end") {
          const k = invalidations.findLastIndex((x) => x.thread === t.name && x.mm === obj);
          if (k >= 0) invalidations.splice(k, 1);
        }
        break;
      case "ret":
        // On -EAGAIN the OOM reaper must not call _end: the bracket closes here.
        if (e.op === "mmu_notifier_invalidate_range_start_nonblock" && e.detail !== "0") {
          const k = invalidations.findLastIndex((x) => x.thread === t.name && x.mm === obj);
          if (k >= 0) invalidations.splice(k, 1);
        }
        break;
      default:
        break;
    }
  }
  return {
    at: Math.min(at, trace.length - 1),
    threads: [...threads.values()],
    locks: [...locks.values()].filter((l) => l.holders.length > 0 || l.waiters.length > 0),
    seqs,
    retries,
    invalidations,
    devices: [...devices.values()],
    ptes: involved.map((a) => ptes.get(a)).filter((p): p is PteState => p !== undefined),
    freed,
    counters,
    fields,
  };
}
