/**
 * anon_write_child and anon_write_child_shared: fork, then the child opens its own
 * /dev/hmm_dmirror0 (a new whole-VA notifier on the child's mm) and the device writes the
 * child's buffer. The parent waits (waitpid) and checks its own copy. The migrate and THP
 * variants of anon_write_child need device-private memory and THP, which the model does not
 * have: only migrate = 0, THP = 0 is ported. The parent's fixture fd stays open across the
 * fork, so fork's COW write-protect (MMU_NOTIFY_PROTECTION_PAGE) reaches the parent's notifier.
 */
import { exitTask, fork, munmap } from "@mnlab/core";
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
  pageValue,
  readBuffer,
  runSingle,
} from "./hmm-tests.ts";

const npages = HMM_BUFFER_PAGES;
const values = () => Array.from({ length: npages }, (_, i) => pageValue(i));
const negated = () => values().map((v) => -v);

describe("hmm", () => {
  for (const shared of [false, true]) {
    const name = shared ? "anon_write_child_shared" : "anon_write_child";
    it(name, async () => {
      const r = await runSingle(async ({ ex, mm }) => {
        const fd = await hmmOpen(mm, "hmm_dmirror0");
        const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW, shared);
        // Initialize buffer->ptr so we can tell if it is written.
        await fillBuffer(mm, buffer);
        // Initialize the data the device will write to buffer->ptr.
        for (let i = 0; i < npages; i++) buffer.mirror[i] = -pageValue(i);

        const childMm = await fork(mm, "hmm-tests.child");
        const child = ex.spawn("child", async () => {
          // Check that we see the parent's values.
          expect(await readBuffer(childMm, buffer)).toEqual(values());
          expect(buffer.mirror).toEqual(negated());
          // The child process needs its own mirror of its own mm.
          const childFd = await hmmOpen(childMm, "hmm_dmirror0.child");
          const ret = await hmmDmirrorCmd(childFd, "HMM_DMIRROR_WRITE", buffer, npages);
          expect(ret).toBe(0);
          expect(buffer.cpages).toBe(npages);
          expect(buffer.faults).toBe(1);
          // Check what the device wrote.
          expect(await readBuffer(childMm, buffer)).toEqual(negated());
          await hmmClose(childFd);
          await exitTask(childMm); // exit(0)
        });
        await child.join(); // waitpid()
        // Private: COW broke the sharing, the parent's buffer did not change.
        // Shared: no COW, the parent sees what the child's device wrote.
        expect(await readBuffer(mm, buffer)).toEqual(shared ? negated() : values());
        expect(childMm.exited).toBe(true);

        expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
        await hmmClose(fd);
      });
      // Private: the child's write faults break COW (wp_page_copy, MMU_NOTIFY_CLEAR on the
      // child's mm), which hits the child's own notifier while it faults: one more trip
      // round the again-loop. Shared: the pages are already writable, nothing collides.
      const retries = r.counters.dmirror_retries ?? 0;
      if (shared) expect(retries).toBe(0);
      else expect(retries).toBeGreaterThan(0);
    });
  }
});
