/**
 * anon_teardown: a thread munmaps the second half of the buffer while the device READs the
 * whole of it — MMU_NOTIFY_UNMAP racing the read_begin / hmm_range_fault / read_retry loop
 * and the device's copy under the mutex. The C test repeats it NTIMES with a random
 * 0–32 µs delay before the munmap; here one execution is one pass, and the explorer walks
 * the interleavings instead of sampling delays: bounded exhaustive search (preemption
 * bound stated per case), asserted to exhaust its space.
 *
 * Expected, in every execution: either the READ failed (-EFAULT: hmm_range_fault met the
 * unmapped half, or the copy found entries the UNMAP erased and the re-fault met the hole;
 * a -EBUSY timeout cannot happen, the virtual clock never moves here), or it returned 0
 * with cpages = npages, faults = 1 and the data the CPU wrote. Never a stale access: the
 * device oracles (and the unsafe-map check on every device page-table store) stay silent.
 */
import { EBUSY, EFAULT, munmap } from "@mnlab/core";
import { ExhaustiveStrategy } from "@mnlab/sim";
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
  runExplored,
} from "./hmm-tests.ts";

interface TeardownCase {
  npages: number;
  /** Pages per hmm_range (model knob; 64 in 5.8, so one range for these buffers). */
  chunkPages?: number;
  preemptionBound: number;
}

const CASES: TeardownCase[] = [
  // The port proper: the whole buffer in one hmm_range, as with 5.8's 64-page chunks.
  { npages: HMM_BUFFER_PAGES, preemptionBound: 4 },
  // Two-page chunks: the fault walks four ranges, so it can succeed on the surviving half
  // and fail on the hole, or lose entries of an earlier chunk while faulting a later one.
  { npages: HMM_BUFFER_PAGES, chunkPages: 2, preemptionBound: 3 },
];

describe("hmm", () => {
  for (const c of CASES) {
    const chunks = c.chunkPages === undefined ? "" : `, ${c.chunkPages}-page chunks`;
    it(`anon_teardown (${c.npages} pages${chunks}; exhaustive, preemption bound ${c.preemptionBound})`, async () => {
      const r = await runExplored(
        async ({ ex, mm }) => {
          const opts = c.chunkPages === undefined ? {} : { chunkPages: c.chunkPages };
          const fd = await hmmOpen(mm, "hmm_dmirror0", opts);
          const buffer = await mmapAnon(mm, BUFFER_BASE, c.npages, PROT_RW);
          await fillBuffer(mm, buffer);
          // unmap_buffer(): munmap the second half while it is being read.
          const thread = ex.spawn("unmap_buffer", async () => {
            expect(await munmap(mm, buffer.ptr + buffer.size / 2, buffer.size / 2)).toBe(0);
          });
          const rc = await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, c.npages);
          if (rc === 0) {
            expect(buffer.cpages).toBe(c.npages);
            expect(buffer.faults).toBe(1);
            expect(buffer.mirror).toEqual(Array.from({ length: c.npages }, (_, i) => pageValue(i)));
            ex.count("teardown_read_ok");
          } else {
            expect(rc).toBeLessThan(0);
            // The user buffer is written only on success (copy_to_user after the loop).
            expect(buffer.mirror).toEqual(new Array(c.npages).fill(0));
            ex.count(rc === EFAULT ? "teardown_read_efault" : `teardown_read_${rc}`);
          }
          await thread.join();
          // hmm_buffer_free(): the C test's thread sets buffer->ptr = NULL after its munmap,
          // so the first half is never unmapped there; the model unmaps it, so that the
          // end-of-run checks see every page freed.
          expect(await munmap(mm, buffer.ptr, buffer.size / 2)).toBe(0);
          await hmmClose(fd);
        },
        { strategy: new ExhaustiveStrategy(c.preemptionBound), executions: 200_000 },
      );
      expect(r.exhausted).toBe(true);
      const ok = r.counters.teardown_read_ok ?? 0;
      const efault = r.counters.teardown_read_efault ?? 0;
      console.log(
        `anon_teardown${chunks}: ${r.executions} executions (exhaustive, preemption bound ` +
          `${c.preemptionBound}): ${ok} read the whole buffer, ${efault} got -EFAULT; ` +
          `steps ${JSON.stringify(r.steps)}; ${r.wallMs} ms`,
      );
      // Both outcomes occur, so the race is really explored; nothing else came back.
      expect(ok).toBeGreaterThan(0);
      expect(efault).toBeGreaterThan(0);
      expect(ok + efault).toBe(r.executions);
      expect(r.counters[`teardown_read_${EBUSY}`]).toBeUndefined();
    });
  }
});
