/**
 * The `hmm2` fixture tests (two open devices, /dev/hmm_dmirror0 and 1, so two whole-VA
 * notifiers on one mm): double_map and snapshot.
 */
import { mprotect, munmap, PAGE_SIZE } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import {
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
} from "../src/index.ts";
import {
  BUFFER_BASE,
  cpuRead,
  cpuWrite,
  fillBuffer,
  hmmClose,
  hmmDmirrorCmd,
  hmmOpen,
  mmapAnon,
  PROT_NONE,
  PROT_READ,
  PROT_RW,
  pageAddr,
  pageValue,
  runSingle,
} from "./hmm-tests.ts";

describe("hmm2", () => {
  /**
   * double_map as of 5.8 (it ended with a munmap hole then; the current version migrates to
   * dev1 and reads from dev0 instead, which needs device memory): both devices read a
   * read-only buffer; the hole punched afterwards must reach both notifiers.
   */
  it("double_map", async () => {
    await runSingle(async ({ mm }) => {
      const fd0 = await hmmOpen(mm, "hmm_dmirror0");
      const fd1 = await hmmOpen(mm, "hmm_dmirror1");
      const npages = 6;
      const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_RW);
      await fillBuffer(mm, buffer);
      // Make the region read-only.
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_READ)).toBe(0);
      const values = Array.from({ length: npages }, (_, i) => pageValue(i));

      for (const fd of [fd0, fd1]) {
        buffer.mirror.fill(0);
        const ret = await hmmDmirrorCmd(fd, "HMM_DMIRROR_READ", buffer, npages);
        expect(ret).toBe(0);
        expect(buffer.cpages).toBe(npages);
        expect(buffer.faults).toBe(1);
        expect(buffer.mirror).toEqual(values);
      }
      expect(fd0.pt.size).toBe(npages);
      expect(fd1.pt.size).toBe(npages);

      // Punch a hole after the first page address: both notifiers drop that page.
      const hole = pageAddr(buffer, 1);
      expect(await munmap(mm, hole, PAGE_SIZE)).toBe(0);
      for (const fd of [fd0, fd1]) {
        expect(fd.pt.entry(hole)).toBeUndefined();
        expect(fd.pt.size).toBe(npages - 1);
      }

      expect(await munmap(mm, buffer.ptr, buffer.size)).toBe(0);
      await hmmClose(fd0);
      await hmmClose(fd1);
    });
  });

  /**
   * snapshot, the pages the model covers: 0 PROT_NONE, 1 a hole, 2 the read-only zero page,
   * 3 read-only data, 4 read-write data. Pages 5 and 6 of the C test are migrated to dev0
   * and dev1 (DEV_PRIVATE_LOCAL|WRITE, NONE): the model has no device-private memory, so
   * they are left out. The SNAPSHOT runs once with 5.8's 64-page chunks (one temporary
   * notifier) and once with 2-page chunks (three temporary notifiers inserted and removed).
   */
  for (const chunkPages of [undefined, 2]) {
    const chunks = chunkPages === undefined ? "" : ` (${chunkPages}-page chunks)`;
    it(`snapshot${chunks}`, async () => {
      await runSingle(async ({ k, mm }) => {
        const fd0 = await hmmOpen(mm, "hmm_dmirror0", chunkPages === undefined ? {} : { chunkPages });
        const fd1 = await hmmOpen(mm, "hmm_dmirror1");
        const npages = 5;
        const buffer = await mmapAnon(mm, BUFFER_BASE, npages, PROT_NONE);
        const page = (i: number) => pageAddr(buffer, i);
        // Punch a hole after the first page address.
        expect(await munmap(mm, page(1), PAGE_SIZE)).toBe(0);
        // Page 2 will be the read-only zero page.
        expect(await mprotect(mm, page(2), PAGE_SIZE, PROT_READ)).toBe(0);
        expect(await cpuRead(mm, page(2))).toBe(0);
        // Page 3 will be read-only.
        expect(await mprotect(mm, page(3), PAGE_SIZE, PROT_RW)).toBe(0);
        await cpuWrite(mm, page(3), pageValue(3));
        expect(await mprotect(mm, page(3), PAGE_SIZE, PROT_READ)).toBe(0);
        // Page 4 will be read-write.
        expect(await mprotect(mm, page(4), PAGE_SIZE, PROT_RW)).toBe(0);
        await cpuWrite(mm, page(4), pageValue(4));

        // Simulate a device snapshotting CPU page tables.
        const ret = await hmmDmirrorCmd(fd0, "HMM_DMIRROR_SNAPSHOT", buffer, npages);
        expect(ret).toBe(0);
        expect(buffer.cpages).toBe(npages);
        expect(buffer.mirror).toEqual([
          HMM_DMIRROR_PROT_ERROR,
          HMM_DMIRROR_PROT_ERROR,
          HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ,
          HMM_DMIRROR_PROT_READ,
          HMM_DMIRROR_PROT_WRITE,
        ]);
        // A snapshot faults nothing in and maps nothing on the device.
        expect(mm.pt.get(page(0))).toBeUndefined();
        expect(fd0.pt.size).toBe(0);
        // Every temporary notifier was removed again: only the two devices' remain.
        expect(mm.notifierMm!.itree.size).toBe(2);
        expect(k.warnings).toEqual([]);

        for (const i of [0, 2, 3, 4]) expect(await munmap(mm, page(i), PAGE_SIZE)).toBe(0);
        await hmmClose(fd0);
        await hmmClose(fd1);
      });
    });
  }
});
