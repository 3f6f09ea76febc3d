/**
 * compound: SNAPSHOT, mprotect(PROT_READ), SNAPSHOT again — the invalidation between the
 * two snapshots must be seen, and the second must report the new permission. The C test
 * maps a hugetlbfs region (and is skipped without one) and expects WRITE|PMD (or PUD) then
 * READ|PMD/PUD; the model has no hugetlb or THP, so the buffer is small pages and the
 * expectation is WRITE then READ.
 */
import { mprotect, munmap } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { HMM_DMIRROR_PROT_READ, HMM_DMIRROR_PROT_WRITE } from "../src/index.ts";
import {
  BUFFER_BASE,
  fillBuffer,
  HMM_BUFFER_PAGES,
  hmmClose,
  hmmDmirrorCmd,
  hmmOpen,
  mmapAnon,
  PROT_READ,
  PROT_RW,
  runSingle,
} from "./hmm-tests.ts";

describe("hmm", () => {
  it("compound (small pages: WRITE then READ, no PMD/PUD)", async () => {
    await runSingle(async ({ mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      const npages = HMM_BUFFER_PAGES;
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
      // Initialize the pages the device will snapshot.
      await fillBuffer(mm, buffer);

      let ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_SNAPSHOT", buffer, npages);
      expect(ret).toBe(0);
      expect(buffer.cpages).toBe(npages);
      expect(buffer.mirror).toEqual(new Array(npages).fill(HMM_DMIRROR_PROT_WRITE));

      // Make the region read-only.
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_READ)).toBe(0);

      ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_SNAPSHOT", buffer, npages);
      expect(ret).toBe(0);
      expect(buffer.cpages).toBe(npages);
      expect(buffer.mirror).toEqual(new Array(npages).fill(HMM_DMIRROR_PROT_READ));

      expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
      await hmmClose(fd);
    });
  });
});
