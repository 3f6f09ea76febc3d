// The state panel's derivation on small hand-written traces: waits, trylocks, downgrade,
// device map/unmap, PTE operations over a range, frees, the OOM reaper's -EAGAIN bracket.
import type { TraceEvent } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { stateAt } from "../src/index.ts";

let step = 0;
function ev(
  thread: number,
  kind: TraceEvent["kind"],
  op: string,
  object?: string,
  detail?: string,
): TraceEvent {
  const e: TraceEvent = { step: step++, tick: 0, thread, threadName: ["main", "a", "b"][thread]!, kind, op };
  if (object !== undefined) e.object = object;
  if (detail !== undefined) e.detail = detail;
  return e;
}

describe("stateAt", () => {
  it("a lock op followed by a block is a wait; the waiter holds it from its next event", () => {
    const t = [
      ev(1, "op", "mutex_lock", "m"),
      ev(2, "op", "mutex_lock", "m"),
      ev(2, "block", "block", "m"),
      ev(1, "op", "mutex_unlock", "m"),
      ev(2, "op", "device_access", "dev", "read 0x1000"),
    ];
    expect(stateAt(t, 2).locks).toEqual([
      { lock: "m", holders: [{ thread: "a", mode: "held", at: 0 }], waiters: [{ thread: "b", at: 1 }] },
    ]);
    expect(stateAt(t, 2).threads.find((x) => x.name === "b")).toMatchObject({
      status: "blocked",
      blockedOn: "m",
    });
    expect(stateAt(t, 3).locks).toEqual([{ lock: "m", holders: [], waiters: [{ thread: "b", at: 1 }] }]);
    expect(stateAt(t, 4).locks).toEqual([
      { lock: "m", holders: [{ thread: "b", mode: "held", at: 4 }], waiters: [] },
    ]);
    expect(stateAt(t, 4).threads.find((x) => x.name === "b")).toMatchObject({
      status: "running",
      holds: ["m"],
    });
  });

  it("a failed trylock takes nothing; downgrade_write turns a writer into a reader", () => {
    const t = [
      ev(1, "op", "down_write", "sem"),
      ev(2, "op", "down_read_trylock", "sem"),
      ev(2, "note", "down_read_trylock", "sem", "failed"),
      ev(1, "op", "downgrade_write", "sem"),
    ];
    expect(stateAt(t, 2).locks[0]!.holders.map((h) => [h.thread, h.mode])).toEqual([["a", "write"]]);
    expect(stateAt(t, 3).locks[0]!.holders.map((h) => [h.thread, h.mode])).toEqual([["a", "read"]]);
  });

  it("device mappings, PTE operations on the pages involved, frees", () => {
    const t = [
      ev(1, "note", "device_map", "dev", "0x100000->0x101 0x101000->0x102"),
      ev(2, "op", "zap_pte_range", "proc", "[0x101000, 0x102000)"),
      ev(2, "note", "free_page", "pfn 0x102"),
      ev(2, "note", "kfree", "struct foo", "freed"),
      ev(1, "op", "device_unmap", "dev", "[0x100000, 0x101000)"),
    ];
    const s = stateAt(t, 4);
    expect(s.devices).toEqual([
      {
        device: "dev",
        pages: [{ addr: "0x101000", pfn: "0x102", at: 0 }],
        lastAccess: null,
      },
    ]);
    expect(s.ptes).toEqual([{ addr: "0x101000", state: "zapped: zap_pte_range", thread: "b", at: 1 }]);
    expect(s.freed.map((f) => [f.object, f.how])).toEqual([
      ["pfn 0x102", "free_page"],
      ["struct foo", "kfree"],
    ]);
  });

  it("counts open invalidate_range_start brackets; a non-blocking start that fails closes its own", () => {
    const t = [
      ev(1, "call", "mmu_notifier_invalidate_range_start", "proc", "[0x0, 0x1000) MMU_NOTIFY_CLEAR"),
      ev(2, "call", "mmu_notifier_invalidate_range_start_nonblock", "proc", "[0x0, 0x1000) MMU_NOTIFY_UNMAP"),
      ev(2, "ret", "mmu_notifier_invalidate_range_start_nonblock", "proc", "-EAGAIN"),
      ev(1, "op", "store", "proc->mmu_notifier_mm->invalidate_seq", "3"),
      ev(1, "call", "mmu_notifier_invalidate_range_end", "proc", "[0x0, 0x1000) MMU_NOTIFY_CLEAR"),
    ];
    expect(stateAt(t, 1).invalidations).toHaveLength(2);
    expect(stateAt(t, 2).invalidations.map((x) => x.thread)).toEqual(["a"]);
    expect(stateAt(t, 3).seqs).toEqual([
      { object: "proc->mmu_notifier_mm->invalidate_seq", value: "3", how: "store", thread: "a", at: 3 },
    ]);
    expect(stateAt(t, 4).invalidations).toEqual([]);
  });
});
