/**
 * The snapshot oracle: each HMM_DMIRROR_SNAPSHOT byte, at the moment dmirror_range_snapshot
 * builds it, agrees with the CPU page table (a model oracle, not kernel code).
 *
 * Why it holds in the kernel (lib/test_hmm.c dmirror_range_snapshot() @5.8 on the 5.5 core):
 * the bytes are built under dmirror->mutex after mmu_interval_read_retry() returned false for
 * the seq read_begin gave before the walk. Every change that takes a mapping or a permission
 * away from a PTE (zap, mprotect, fork's write-protect, try_to_unmap's migration or swap
 * entry, wp_page_copy's new page) is bracketed by invalidate_range_start, and the PTE changes
 * only after the start returned, so after the temporary notifier's callback took
 * dmirror->mutex and set_seq'd (dmirror_snapshot_invalidate). Such a change after the walk is
 * therefore either fully before the retry (set_seq done: the retry is true, the loop walks
 * again) or blocked in the callback on the mutex the fill holds (the PTE is as the walk saw
 * it). What may change with no invalidation only grants more: a fault filling a none PTE
 * (the byte says NONE), wp_page_reuse making a read-only PTE writable (the byte says READ),
 * remove_migration_ptes or a swap-in filling a non-present entry (the byte says NONE). So the
 * oracle flags only a byte that claims more than the CPU PTE grants now: a mapping (READ or
 * WRITE) where the CPU maps nothing or a different page — the page the hmm pfn named, its
 * zero-page bit included — or WRITE where the PTE is read-only. NONE and ERROR bytes claim
 * nothing and are never flagged. A non-present migration or swap entry counts as no mapping:
 * the bytes report PTEs, and the walk itself reports such an entry as NONE.
 *
 * Without the retry, the set_seq or the mutex, an invalidation can complete between the walk
 * (or the retry) and the fill, and a byte reports a mapping the CPU already removed: the
 * kind is stale-access (a mapping the CPU no longer has at that address) or
 * write-after-protect (writable where the CPU write-protected), the device oracles' kinds
 * for the same disagreement (core device-mmu.ts classify()).
 */
import { type HmmPfn, hex, type MmStruct } from "@mnlab/core";
import { HMM_DMIRROR_PROT_READ, HMM_DMIRROR_PROT_WRITE } from "./uapi.ts";

/** What is wrong with the byte `perm` built from `pfn`, judged against mm's page table now (null: nothing). */
export function snapshotByteDisagreement(
  mm: MmStruct,
  pfn: HmmPfn,
  perm: number,
): { kind: "stale-access" | "write-after-protect"; message: string } | null {
  // dmirror_mkentry's ERROR (0xff) has the READ and WRITE bits set too: only a valid pfn claims a mapping.
  if (pfn.state !== "valid" || (perm & (HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_WRITE)) === 0) return null;
  const where = `${hex(pfn.addr)} byte ${hex(perm)} (pfn ${pfn.page === null ? "none" : hex(pfn.page.pfn)})`;
  const pte = mm.pt.get(pfn.addr);
  if (pte === undefined || pte.page !== pfn.page) {
    const now = pte === undefined ? "nothing" : `pfn ${hex(pte.page.pfn)}`;
    return { kind: "stale-access", message: `${where}: the CPU now maps ${now} there` };
  }
  if ((perm & HMM_DMIRROR_PROT_WRITE) !== 0 && !pte.write) {
    return { kind: "write-after-protect", message: `${where}: WRITE in the snapshot, read-only on the CPU` };
  }
  return null;
}

/** Judge one byte as dmirror_range_snapshot fills it: an oracle failure when it claims more than the CPU PTE. */
export function checkSnapshotByte(mm: MmStruct, snapshot: string, pfn: HmmPfn, perm: number): void {
  const bad = snapshotByteDisagreement(mm, pfn, perm);
  if (bad !== null) mm.kernel.ex.fail(bad.kind, `${snapshot}: snapshot ${bad.message}`);
}
