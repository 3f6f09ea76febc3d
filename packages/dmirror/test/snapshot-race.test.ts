/**
 * Not a hmm-tests.c test: compound's two steps made concurrent. SNAPSHOT inserts and removes
 * a temporary notifier per chunk while an mprotect(PROT_READ) of the same buffer runs, so
 * inserts land while the mm is idle or fully excluded (a deferred insert: the mprotect has
 * already hit dmirror's whole-VA notifier) and removes may have to wait for the exclusion
 * period to end (both happen in hundreds of the explored executions). What the
 * protocol promises: each chunk's bytes come from one consistent page-table state — all
 * WRITE (read before the invalidation reached the chunk's notifier) or all READ — and no
 * check fires (core invariants, lockdep, the end-of-run "every notifier removed").
 */
import { mprotect, munmap } from "@mnlab/core";
import { ExhaustiveStrategy } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import { HMM_DMIRROR_PROT_READ, HMM_DMIRROR_PROT_WRITE } from "../src/index.ts";
import {
  BUFFER_BASE,
  fillBuffer,
  hmmClose,
  hmmDmirrorCmd,
  hmmOpen,
  mmapAnon,
  PROT_READ,
  PROT_RW,
  runExplored,
} from "./hmm-tests.ts";

const NPAGES = 4;
const CHUNK_PAGES = 2;
const PREEMPTION_BOUND = 3;

describe("hmm (model extension)", () => {
  it(`snapshot racing mprotect (${NPAGES} pages, ${CHUNK_PAGES}-page chunks; exhaustive, preemption bound ${PREEMPTION_BOUND})`, async () => {
    const r = await runExplored(
      async ({ ex, mm }) => {
        const fd = await hmmOpen(mm, "hmm_dmirror0", { chunkPages: CHUNK_PAGES });
        const buffer = await mmapAnon(mm, BUFFER_BASE, NPAGES, PROT_RW);
        await fillBuffer(mm, buffer);
        const thread = ex.spawn("mprotect", async () => {
          expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_READ)).toBe(0);
        });
        const ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_SNAPSHOT", buffer, NPAGES);
        expect(ret).toBe(0);
        expect(buffer.cpages).toBe(NPAGES);
        for (let c = 0; c < NPAGES; c += CHUNK_PAGES) {
          const chunk = buffer.mirror.slice(c, c + CHUNK_PAGES);
          expect([HMM_DMIRROR_PROT_WRITE, HMM_DMIRROR_PROT_READ]).toContain(chunk[0]);
          expect(chunk.every((b) => b === chunk[0])).toBe(true);
          ex.count(chunk[0] === HMM_DMIRROR_PROT_WRITE ? "chunk_write" : "chunk_read");
        }
        await thread.join();
        expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
        await hmmClose(fd);
      },
      { strategy: new ExhaustiveStrategy(PREEMPTION_BOUND), executions: 200_000 },
    );
    expect(r.exhausted).toBe(true);
    console.log(
      `snapshot racing mprotect: ${r.executions} executions; chunks WRITE ${r.counters.chunk_write ?? 0}, ` +
        `READ ${r.counters.chunk_read ?? 0}, retries ${r.counters.dmirror_retries ?? 0}; ${r.wallMs} ms`,
    );
    expect(r.counters.chunk_write ?? 0).toBeGreaterThan(0);
    expect(r.counters.chunk_read ?? 0).toBeGreaterThan(0);
  });
});
