/**
 * Driver behaviour the selftests do not reach, checked on the model:
 *  - the HMM_RANGE_DEFAULT_TIMEOUT bound of the again-loop (dmirror_range_fault);
 *  - process exit while the file is still open: the RELEASE invalidation (mn_itree_release)
 *    empties the device page table, the notifier stays until close, and a SNAPSHOT on the
 *    dead mm fails at mmget_not_zero.
 */
import {
  EBUSY,
  EINVAL,
  exitTask,
  HMM_RANGE_DEFAULT_TIMEOUT,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  rangeInit,
} from "@mnlab/core";
import { describe, expect, it } from "vitest";
import {
  BUFFER_BASE,
  fillBuffer,
  HMM_BUFFER_PAGES,
  hmmClose,
  hmmDmirrorCmd,
  hmmOpen,
  mmapAnon,
  PROT_RW,
  runSingle,
} from "./hmm-tests.ts";

const npages = HMM_BUFFER_PAGES;

describe("dmirror", () => {
  it("dmirror_range_fault gives up with -EBUSY once HMM_RANGE_DEFAULT_TIMEOUT has passed", async () => {
    const r = await runSingle(async ({ ex, mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
      await fillBuffer(mm, buffer);
      // A CPU-side update that holds mmap_sem for write for twice the timeout, then
      // invalidates the buffer (start, PTE change, end) before letting go.
      const slow = ex.spawn("slow_update", async () => {
        await mm.mmapSem.downWrite();
        await ex.sleep(2 * HMM_RANGE_DEFAULT_TIMEOUT);
        const range = rangeInit(mm, "CLEAR", buffer.ptr, buffer.ptr + buffer.size);
        await mmuNotifierInvalidateRangeStart(range);
        await ex.point("change_pte_range", mm.name);
        await mmuNotifierInvalidateRangeEnd(range);
        await mm.mmapSem.upWrite();
      });
      await ex.sleep(1); // let it take mmap_sem first
      // read_begin samples before the invalidation; mmap_read_lock waits 2000 ticks; the
      // walk then sees the collision (-EBUSY) and the loop finds its deadline passed.
      const ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, npages);
      expect(ret).toBe(EBUSY);
      expect(ex.now).toBeGreaterThan(1 + HMM_RANGE_DEFAULT_TIMEOUT);
      expect(fd.pt.size).toBe(0);
      await slow.join();
      await hmmClose(fd);
    });
    expect(r.counters.dmirror_retries).toBe(1);
  });

  it("process exit with the file open: RELEASE empties the device page table; close removes the notifier", async () => {
    await runSingle(async ({ mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
      await fillBuffer(mm, buffer);
      expect(await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, npages)).toBe(0);
      expect(fd.pt.size).toBe(npages);

      // do_exit() runs exit_mm() before exit_files(): the mm dies with the file still open.
      await exitTask(mm); // exit_mm -> mmput -> exit_mmap -> __mmu_notifier_release
      expect(mm.exited).toBe(true);
      expect(fd.pt.size).toBe(0);
      // The notifier stays registered until the file is closed.
      expect(mm.notifierMm!.itree.has(fd.notifier)).toBe(true);
      // The mm is dead: mmget_not_zero fails and SNAPSHOT says -EINVAL.
      expect(await hmmDmirrorCmd(fd, "HMM_DMIRROR_SNAPSHOT", buffer, 1)).toBe(EINVAL);

      await hmmClose(fd); // exit_files() -> fput -> dmirror_fops_release
      expect(mm.notifierMm!.itree.size).toBe(0);
    });
  });
});
