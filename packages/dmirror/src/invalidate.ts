/**
 * dmirror's invalidate callback for its whole-VA notifier: the canonical body of the 5.5
 * contract (reference core.md 1.10, 2.3). Take the user lock — sleeping if the range is
 * blockable, trylock otherwise and give up with false —, publish the collision with
 * set_seq, erase the device page-table entries of [start, end), unlock. When it returns
 * true no device entry of the range is left to use. The 5.9+ early return for the device's
 * own MMU_NOTIFY_MIGRATE is not in 5.8's test_hmm.c, and the model has no device migration.
 */
import {
  type MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  mmuIntervalSetSeq,
  rangeBlockable,
} from "@mnlab/core";
import type { Dmirror } from "./dmirror.ts";
import { dmirrorOf } from "./interval.ts";

// lib/test_hmm.c: dmirror_do_update() @5.8
async function dmirrorDoUpdate(dmirror: Dmirror, start: number, end: number): Promise<void> {
  // xa_for_each_range(&dmirror->pt, pfn, entry, start >> PAGE_SHIFT, end >> PAGE_SHIFT) xa_erase()
  await dmirror.pt.unmap(start, end);
}

// lib/test_hmm.c: dmirror_interval_invalidate() @5.8
export async function dmirrorIntervalInvalidate(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const dmirror = dmirrorOf(mni);
  if (rangeBlockable(range)) await dmirror.mutex.lock();
  else if (!(await dmirror.mutex.trylock())) return false;
  await mmuIntervalSetSeq(mni, curSeq);
  await dmirrorDoUpdate(dmirror, range.start, range.end);
  await dmirror.mutex.unlock();
  return true;
}

// lib/test_hmm.c: dmirror_min_ops @5.8
export const dmirrorMinOps: MmuIntervalNotifierOps = { invalidate: dmirrorIntervalInvalidate };
