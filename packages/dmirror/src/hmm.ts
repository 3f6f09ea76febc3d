/**
 * hmm_range_fault() as lib/test_hmm.c calls it, on the 5.5 core. test_hmm.c was merged in
 * 5.8 and is written against that hmm_range_fault; the 5.5 model is asked for the later
 * conventions explicitly instead of the driver papering over the difference:
 *  - (no option needed) a write fault on a VMA without VM_WRITE is -EPERM in 5.5 already
 *    (hmm_vma_walk_hole_ checks VM_WRITE, since 5.2) as in 5.8 (hmm_vma_fault): the selftest
 *    anon_write_prot's -EPERM holds on the 5.5 core as it is.
 *  - `unreadableAsError: true` — a page with no VMA or without VM_READ that is not faulted
 *    (SNAPSHOT) reads HMM_PFN_ERROR, as from 5.7 on; 5.5 reports HMM_PFN_NONE. The
 *    selftest snapshot expects ERROR for the hole and the PROT_NONE page.
 *  - return value: 5.5 returns the number of valid pages on success, 5.8 returns 0
 *    (be957c886d92); the callers here test `ret !== 0`, so success is mapped to 0.
 *  - SNAPSHOT: 5.8 asks for no fault with default_flags = 0 (HMM_FAULT_SNAPSHOT was removed
 *    in 5.7, 6bfef2f91945); on the 5.5 core that is the `snapshot` flag.
 */
import { type HmmRange55, hmmRangeFault } from "@mnlab/core";

// mm/hmm.c: hmm_range_fault() @5.8, over the 5.5 model (see above)
export async function hmmRangeFault58(range: HmmRange55, snapshot: boolean): Promise<number> {
  const ret = await hmmRangeFault(range, { snapshot, unreadableAsError: true });
  return Math.min(ret, 0);
}
