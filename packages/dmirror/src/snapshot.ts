/**
 * HMM_DMIRROR_SNAPSHOT: report, per page, what the CPU page table holds, without faulting
 * anything in. Each chunk gets a temporary interval notifier of its own, inserted before
 * the again-loop and removed after it — the one place the selftests churn inserts and
 * removes while the mm is live. Its callback only takes the mutex and sets the seq: any
 * invalidation of the chunk invalidates the whole snapshot, which the read_retry under the
 * mutex then notices. The permission bytes are built under the mutex after a false retry,
 * and each is judged against the CPU page table as it is built (snapshot-oracle.ts).
 */
import {
  EBUSY,
  EINVAL,
  frameReturned,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type HmmPfn,
  HmmRange55,
  hex,
  type MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  mmgetNotZero,
  mmput,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  PAGE_SIZE,
  rangeBlockable,
  uniformRequest,
} from "@mnlab/core";
import type { Dmirror } from "./dmirror.ts";
import { msecsToJiffies } from "./fault.ts";
import { hmmRangeFault58 } from "./hmm.ts";
import { DmirrorInterval, dmirrorOf } from "./interval.ts";
import { checkSnapshotByte } from "./snapshot-oracle.ts";
import {
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  type HmmDmirrorCmd,
} from "./uapi.ts";

/**
 * lib/test_hmm.c: dmirror_mkentry() @5.8 — the permission byte of one hmm pfn. The
 * device-private (DEV_PRIVATE_LOCAL/REMOTE) and huge-mapping (PMD/PUD) cases are not
 * modelled: the model has neither device pages nor THP.
 */
export function dmirrorMkentry(pfn: HmmPfn): number {
  if (pfn.state === "error") return HMM_DMIRROR_PROT_ERROR;
  if (pfn.state !== "valid") return HMM_DMIRROR_PROT_NONE;
  let perm = pfn.zero ? HMM_DMIRROR_PROT_ZERO : HMM_DMIRROR_PROT_NONE; // is_zero_pfn(page_to_pfn(page))
  perm |= pfn.write ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
  return perm;
}

// lib/test_hmm.c: dmirror_snapshot_invalidate() @5.8
async function dmirrorSnapshotInvalidate(
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  const dmirror = dmirrorOf(mni);
  if (rangeBlockable(range)) await dmirror.mutex.lock();
  else if (!(await dmirror.mutex.trylock())) return false;
  // Snapshots only need the seq: any invalidation in the interval invalidates the whole snapshot.
  await mmuIntervalSetSeq(mni, curSeq);
  await dmirror.mutex.unlock();
  return true;
}

// lib/test_hmm.c: dmirror_mrn_ops @5.8
const dmirrorMrnOps: MmuIntervalNotifierOps = { invalidate: dmirrorSnapshotInvalidate };

/**
 * lib/test_hmm.c: dmirror_range_snapshot() @5.8 — its again-loop, up to `goto out`: 0 with the permission
 * bytes built under the mutex after a false read_retry, or the error.
 */
async function dmirrorRangeSnapshotLoop(
  dmirror: Dmirror,
  range: HmmRange55,
  timeout: number,
  perm: number[],
): Promise<number> {
  const mm = dmirror.mm;
  const ex = mm.kernel.ex;
  for (;;) {
    if (ex.now > timeout) return EBUSY; // time_after(jiffies, timeout)
    range.notifierSeq = await mmuIntervalReadBegin(range.notifier);
    await mm.mmapSem.downRead();
    const ret = await hmmRangeFault58(range, true);
    await mm.mmapSem.upRead();
    if (ret !== 0) {
      if (ret === EBUSY) {
        ex.count("dmirror_retries");
        continue;
      }
      return ret;
    }
    await dmirror.mutex.lock();
    if (mmuIntervalReadRetry(range.notifier, range.notifierSeq)) {
      await dmirror.mutex.unlock();
      ex.count("dmirror_retries");
      continue;
    }
    break;
  }
  // The `for (i = 0; i < n; i++) dmirror_mkentry(...)` loop, as one step (the walk's granularity)
  // with a scheduling point of its own: the kernel may be preempted between the read_retry and the
  // loop (dmirror->mutex, not the absence of preemption, keeps a callback's set_seq out). The point
  // names no object: the step reads the CPU page table (the oracle below), so it conflicts with
  // every PTE change for the partial-order reduction.
  await ex.point(
    "dmirror_mkentry",
    undefined,
    `${range.notifier.name} [${hex(range.start)}, ${hex(range.end)})`,
  );
  for (const [i, pfn] of range.pfns.entries()) {
    perm[i] = dmirrorMkentry(pfn);
    checkSnapshotByte(mm, range.notifier.name, pfn, perm[i]);
  }
  await dmirror.mutex.unlock();
  return 0;
}

// lib/test_hmm.c: dmirror_range_snapshot() @5.8 — one chunk; perm gets one byte per page.
async function dmirrorRangeSnapshot(
  dmirror: Dmirror,
  start: number,
  end: number,
  perm: number[],
): Promise<number> {
  const mm = dmirror.mm;
  const timeout = mm.kernel.ex.now + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  // struct dmirror_interval notifier, on the stack; range->notifier = &notifier.notifier
  const notifier = new DmirrorInterval(`${dmirror.name}->snapshot[${hex(start)}]`, dmirror);
  const ret = await mmuIntervalNotifierInsert(notifier, mm, start, end - start, dmirrorMrnOps);
  if (ret !== 0) {
    frameReturned(mm.kernel, notifier, "dmirror_range_snapshot");
    return ret;
  }
  const range = new HmmRange55(notifier, start, end, uniformRequest(false, false));
  const ret2 = await dmirrorRangeSnapshotLoop(dmirror, range, timeout, perm);
  // out:
  await mmuIntervalNotifierRemove(notifier);
  // Both live on dmirror_range_snapshot's stack.
  frameReturned(mm.kernel, range, "dmirror_range_snapshot");
  frameReturned(mm.kernel, notifier, "dmirror_range_snapshot");
  return ret2;
}

// lib/test_hmm.c: dmirror_snapshot() @5.8
export async function dmirrorSnapshot(dmirror: Dmirror, cmd: HmmDmirrorCmd): Promise<number> {
  const mm = dmirror.mm;
  const ex = mm.kernel.ex;
  const start = cmd.addr;
  const end = start + cmd.npages * PAGE_SIZE;
  if (end < start) return EINVAL;
  ex.trace("call", "dmirror_snapshot", dmirror.name, `[${hex(start)}, ${hex(end)})`);
  // Since the mm is for the mirrored process, get a reference first.
  if (!(await mmgetNotZero(mm))) return EINVAL;
  let ret = 0;
  let uptr = 0;
  for (let addr = start; addr < end; ) {
    const next = Math.min(end, addr + dmirror.chunkPages * PAGE_SIZE);
    const perm: number[] = [];
    ret = await dmirrorRangeSnapshot(dmirror, addr, next, perm);
    if (ret !== 0) break;
    const n = (next - addr) / PAGE_SIZE;
    // copy_to_user(uptr, perm, n)
    for (let i = 0; i < n; i++) cmd.ptr[uptr + i] = perm[i]!;
    cmd.cpages += n;
    uptr += n;
    addr = next;
  }
  await mmput(mm);
  return ret;
}
