/**
 * The snapshot oracle (src/snapshot-oracle.ts) on its own: a byte built from an hmm pfn,
 * judged against the CPU page table after the table moved on. It must flag a byte that claims
 * more than the CPU PTE grants now (a mapping that was zapped, migrated or write-protected)
 * and nothing else: a PTE that became more permissive with no invalidation (a fault filling a
 * none PTE, wp_page_reuse making a read-only PTE writable) leaves every byte true enough.
 */
import { type HmmPfn, type MmStruct, migratePage, mprotect, munmap, nonePfn, PAGE_SIZE } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { dmirrorMkentry, HMM_DMIRROR_PROT_NONE } from "../src/index.ts";
import { snapshotByteDisagreement } from "../src/snapshot-oracle.ts";
import {
  BUFFER_BASE,
  cpuRead,
  cpuWrite,
  fillBuffer,
  mmapAnon,
  PROT_READ,
  PROT_RW,
  runSingle,
} from "./hmm-tests.ts";

/** What hmm_range_fault's walk would report for addr now (core hmm/walk.ts pfnOf()). */
function pfnNow(mm: MmStruct, addr: number): HmmPfn {
  const pte = mm.pt.get(addr);
  if (pte === undefined) return nonePfn(addr);
  return {
    addr,
    state: "valid",
    write: pte.write,
    page: pte.page,
    zero: pte.page === mm.kernel.zeroPage,
    gen: pte.gen,
  };
}

/** The oracle's verdict on the byte dmirror_mkentry builds from pfn, judged now. */
function judge(mm: MmStruct, pfn: HmmPfn): string | null {
  return snapshotByteDisagreement(mm, pfn, dmirrorMkentry(pfn))?.kind ?? null;
}

describe("snapshot oracle (model extension)", () => {
  it("flags a byte the CPU page table no longer backs, and only that", async () => {
    await runSingle(async ({ mm }) => {
      const buffer = await mmapAnon(mm, BUFFER_BASE, 4, PROT_RW);
      await fillBuffer(mm, buffer, 0, 1); // pages 1..3 written, page 0 untouched
      const at = (i: number) => BUFFER_BASE + i * PAGE_SIZE;

      // Agreement, and a NONE byte that a later fault made stale in the permissive direction.
      const none = pfnNow(mm, at(0));
      expect(dmirrorMkentry(none)).toBe(HMM_DMIRROR_PROT_NONE);
      expect(judge(mm, pfnNow(mm, at(1)))).toBeNull();
      await cpuRead(mm, at(0)); // do_anonymous_page: the zero page, no invalidation
      expect(judge(mm, none)).toBeNull();
      const zero = pfnNow(mm, at(0));
      expect(zero.zero).toBe(true);
      expect(judge(mm, zero)).toBeNull();
      // A write breaks COW of the zero page (wp_page_copy, an invalidation): a new page.
      await cpuWrite(mm, at(0), 7);
      expect(judge(mm, zero)).toBe("stale-access");

      // Write-protected after the walk: WRITE claims more than the PTE; READ from before the
      // write-protect still agrees.
      const writable = pfnNow(mm, at(1));
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_READ)).toBe(0);
      expect(judge(mm, writable)).toBe("write-after-protect");
      const readOnly = pfnNow(mm, at(1));
      expect(judge(mm, readOnly)).toBeNull();
      // mprotect back to RW leaves the PTE read-only; the write fault reuses the page
      // (wp_page_reuse, no invalidation): the READ byte claims less than the PTE now grants.
      expect(await mprotect(mm, buffer.ptr, buffer.size, PROT_RW)).toBe(0);
      await cpuWrite(mm, at(1), 9);
      expect(mm.pt.get(at(1))?.write).toBe(true);
      expect(mm.pt.get(at(1))?.page).toBe(readOnly.page);
      expect(judge(mm, readOnly)).toBeNull();

      // Migrated after the walk: a migration entry, then a new page — both no longer the byte's page.
      const beforeMigration = pfnNow(mm, at(2));
      expect(await migratePage(mm, at(2))).toBe(1);
      expect(judge(mm, beforeMigration)).toBe("stale-access");

      // Unmapped after the walk.
      const beforeMunmap = pfnNow(mm, at(3));
      expect(await munmap(mm, at(3), PAGE_SIZE)).toBe(0);
      expect(judge(mm, beforeMunmap)).toBe("stale-access");
      expect(judge(mm, { ...nonePfn(at(3)), state: "error" })).toBeNull(); // ERROR claims nothing

      expect(await munmap(mm, buffer.ptr, 3 * PAGE_SIZE)).toBe(0);
    });
  });
});
