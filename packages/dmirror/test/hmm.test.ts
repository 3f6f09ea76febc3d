/**
 * The `hmm` fixture tests of hmm-tests.c that exercise the notifier with one device:
 * open_close, anon_read, anon_read_multiple, anon_read_prot, anon_write, anon_write_prot.
 * Each is one deterministic interleaving (runSingle); the expected outcomes are the
 * kernel test's ASSERTs (reference core.md 5.2).
 */
import { EFAULT, EPERM, mprotect, munmap } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { DMIRROR_VA_LENGTH } from "../src/index.ts";
import {
  BUFFER_BASE,
  cpuRead,
  fillBuffer,
  HMM_BUFFER_PAGES,
  hmmClose,
  hmmDmirrorCmd,
  hmmOpen,
  mmapAnon,
  NTIMES,
  PROT_NONE,
  PROT_READ,
  PROT_RW,
  pageAddr,
  pageValue,
  readBuffer,
  runSingle,
} from "./hmm-tests.ts";

const npages = HMM_BUFFER_PAGES;
const values = (c = 0) => Array.from({ length: npages }, (_, i) => pageValue(i, c));

describe("hmm", () => {
  it("open_close", async () => {
    await runSingle(async ({ mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      // One notifier over [0, ULONG_MAX & PAGE_MASK), in the tree at once (the mm was idle).
      const nmm = mm.notifierMm!;
      expect(nmm.itree.size).toBe(1);
      expect(fd.notifier.interval).toEqual({ start: 0, end: DMIRROR_VA_LENGTH });
      expect(fd.notifier.invalidateSeq % 2).toBe(1);
      await hmmClose(fd);
      expect(nmm.itree.size).toBe(0);
      expect(nmm.deferredList).toEqual([]);
    });
  });

  it("anon_read", async () => {
    await runSingle(async ({ k, mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
      // Leave the first two pages zero (pte_none and the zero pfn).
      await fillBuffer(mm, buffer, 0, 2);
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_READ)).toBe(0);
      // Populate the CPU page table with the zero page.
      expect(await cpuRead(mm, pageAddr(buffer, 1))).toBe(0);
      expect(mm.pt.get(pageAddr(buffer, 1))?.page).toBe(k.zeroPage);

      const ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, npages);
      expect(ret).toBe(0);
      expect(buffer.cpages).toBe(npages);
      expect(buffer.faults).toBe(1);
      expect(buffer.mirror).toEqual([0, 0, ...values().slice(2)]);
      // Everything the device maps is read-only now: the VMA is PROT_READ.
      expect([...fd.pt.all()].every((e) => !e.write)).toBe(true);

      expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
      expect(fd.pt.size).toBe(0);
      await hmmClose(fd);
    });
  });

  it("anon_read_multiple", async () => {
    await runSingle(async ({ mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      for (let c = 0; c < NTIMES; c++) {
        // The same VA each pass: the munmap of the last pass must have emptied the device
        // page table there, so a new mapping needs a new fault.
        const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
        await fillBuffer(mm, buffer, c);
        const ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, npages);
        expect(ret).toBe(0);
        expect(buffer.cpages).toBe(npages);
        expect(buffer.faults).toBe(1);
        expect(buffer.mirror).toEqual(values(c));
        expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
      }
      await hmmClose(fd);
    });
  });

  it("anon_read_prot", async () => {
    await runSingle(async ({ mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
      await fillBuffer(mm, buffer);
      // Initialize the mirror buffer so we can verify it is not written.
      for (let i = 0; i < npages; i++) buffer.mirror[i] = -pageValue(i);
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_NONE)).toBe(0);

      const ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, npages);
      expect(ret).toBe(EFAULT);
      expect(fd.pt.size).toBe(0);

      // Allow the CPU to read the buffer so we can check it.
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_READ)).toBe(0);
      expect(await readBuffer(mm, buffer)).toEqual(values());
      expect(buffer.mirror).toEqual(values().map((v) => -v));

      expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
      await hmmClose(fd);
    });
  });

  it("anon_write", async () => {
    await runSingle(async ({ mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
      // Initialize the data the device will write to buffer->ptr.
      for (let i = 0; i < npages; i++) buffer.mirror[i] = pageValue(i);

      const ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_WRITE", buffer, npages);
      expect(ret).toBe(0);
      expect(buffer.cpages).toBe(npages);
      expect(buffer.faults).toBe(1);
      expect(await readBuffer(mm, buffer)).toEqual(values());

      expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
      await hmmClose(fd);
    });
  });

  it("anon_write_prot", async () => {
    await runSingle(async ({ mm }) => {
      const fd = await hmmOpen(mm, "hmm_dmirror0");
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_READ);

      // Simulate a device reading a zero page of memory.
      let ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, 1);
      expect(ret).toBe(0);
      expect(buffer.cpages).toBe(1);
      expect(buffer.faults).toBe(1);

      // Initialize the data the device will write to buffer->ptr.
      for (let i = 0; i < npages; i++) buffer.mirror[i] = pageValue(i);
      // A write to a read-only VMA: -EPERM (hmm_vma_walk_hole_ @5.5, as in 5.8).
      ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_WRITE", buffer, npages);
      expect(ret).toBe(EPERM);
      expect(await readBuffer(mm, buffer)).toEqual(new Array(npages).fill(0));

      // Now allow writing and see that the zero page is replaced.
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_RW)).toBe(0);
      ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_WRITE", buffer, npages);
      expect(ret).toBe(0);
      expect(buffer.cpages).toBe(npages);
      expect(buffer.faults).toBe(1);
      expect(await readBuffer(mm, buffer)).toEqual(values());

      expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
      await hmmClose(fd);
    });
  });
});
