// The trimming rules of the CPU columns, one by one, on the fixture trace.
import { describe, expect, it } from "vitest";
import { cpuColumns, interleavingSteps, threadsOf } from "../src/index.ts";
import { TRACE } from "./fixtures.ts";

const steps = interleavingSteps(TRACE);
const texts = steps.map((s) => `${s.threadName}:${"  ".repeat(s.depth)}${s.text}`);

describe("CPU columns", () => {
  it("drop thread bookkeeping: spawn, exit, the main thread's join", () => {
    expect(texts.some((t) => /spawn|exit|join|thread device/.test(t))).toBe(false);
  });

  it("fold a call and its immediate return into one line", () => {
    expect(texts).toContain("device:mmu_interval_read_begin toy.buf0 = seq=1");
  });

  it("indent what a call does until its return", () => {
    expect(texts).toContain("munmap:mni->ops->invalidate toy.buf0 MMU_NOTIFY_UNMAP");
    expect(texts).toContain("munmap:  device_unmap toy.dev [0x101000, 0x102000)");
    expect(texts).toContain("munmap:mni->ops->invalidate returns = true");
    // munmap returns nowhere in the trace: it does not indent
    expect(texts).toContain("munmap:down_write proc->mmap_sem");
  });

  it("show a contended lock, and the operation that blocked on it, in one line", () => {
    expect(texts).toContain("device:mutex_lock toy->mutex (blocks)");
    expect(texts).toContain("munmap:  mutex_lock toy->mutex");
  });

  it("drop an uncontended lock/unlock pair, keep a contended one", () => {
    // and with the pair gone, the insert's call and return meet: one line
    expect(texts.filter((t) => t.startsWith("main:"))).toEqual([
      "main:mmu_interval_notifier_insert toy.buf0 [0x100000, +0x2000) = 0",
    ]);
    expect(texts).toContain("device:down_read proc->mmap_sem");
  });

  it("end with the failure in the failing thread's column", () => {
    expect(steps.at(-1)).toMatchObject({ kind: "fail", threadName: "device", text: "*** use-after-free" });
  });

  it("give one column per thread, in order of appearance", () => {
    expect(threadsOf(steps).map((t) => t.name)).toEqual(["main", "device", "munmap"]);
    const [header, rule] = cpuColumns(TRACE).split("\n");
    expect(header).toMatch(/^CPU 0 \(main\) +\| CPU 1 \(device\) +\| CPU 2 \(munmap\)$/);
    expect(rule).toMatch(/^-+-\+-+-\+-+$/);
  });
});
