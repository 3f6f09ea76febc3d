/**
 * The device fault path: dmirror_fault splits the range into chunks, and each chunk runs
 * the canonical again-loop of the 5.5 API (reference core.md 2.2), bounded by
 * HMM_RANGE_DEFAULT_TIMEOUT:
 *   again: seq = read_begin; mmap_sem(read); hmm_range_fault; unlock;
 *          -EBUSY: again; other error: give up
 *          mutex_lock; read_retry(seq)? unlock, again
 *          store the pfns in the device page table under the mutex; unlock
 * The deadline is in virtual ticks (1 tick = 1 ms = 1 jiffy here). The model's clock only
 * moves while every thread is blocked and a timer is pending, so the deadline passes only
 * in scenarios where some thread sleeps; a loop that keeps colliding otherwise shows up as
 * the runtime's step bound (livelock) rather than as -EBUSY.
 */
import {
  EBUSY,
  EFAULT,
  frameReturned,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmRange55,
  hex,
  type MappablePage,
  mmgetNotZero,
  mmput,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  PAGE_SIZE,
  uniformRequest,
} from "@mnlab/core";
import type { Dmirror } from "./dmirror.ts";
import { hmmRangeFault58 } from "./hmm.ts";

/** include/linux/jiffies.h: msecs_to_jiffies() @5.8 — one tick per millisecond in the model. */
export function msecsToJiffies(ms: number): number {
  return ms;
}

// lib/test_hmm.c: dmirror_do_fault() @5.8 — caller holds dmirror->mutex after a false read_retry.
async function dmirrorDoFault(dmirror: Dmirror, range: HmmRange55, write: boolean): Promise<number> {
  const k = dmirror.mm.kernel;
  const pages: MappablePage[] = [];
  let ret = 0;
  for (const pfn of range.pfns) {
    // HMM_PFN_ERROR, or not HMM_PFN_VALID, or no page: we asked for every page to be faulted in.
    if (pfn.state !== "valid" || pfn.page === null) {
      ret = EFAULT;
      break;
    }
    // Tagged DPT_XA_TAG_WRITE iff HMM_PFN_WRITE; a write fault must have made it writable.
    if (!pfn.write && write) {
      k.warn(`dmirror_do_fault: ${hex(pfn.addr)} not writable after a write fault`);
      ret = EFAULT;
      break;
    }
    pages.push({ addr: pfn.addr, page: pfn.page, write: pfn.write });
  }
  // xa_store() of each entry, in order, up to the first bad pfn.
  if (pages.length > 0) {
    await dmirror.pt.map(pages, {
      via: { notifier: range.notifier, seq: range.notifierSeq, lock: dmirror.mutex },
    });
  }
  return ret;
}

// lib/test_hmm.c: dmirror_range_fault() @5.8
export async function dmirrorRangeFault(
  dmirror: Dmirror,
  range: HmmRange55,
  write: boolean,
): Promise<number> {
  const mm = dmirror.mm;
  const ex = mm.kernel.ex;
  const timeout = ex.now + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  let ret: number;
  for (;;) {
    if (ex.now > timeout) {
      // time_after(jiffies, timeout)
      ex.trace("ret", "dmirror_range_fault", dmirror.name, "-EBUSY (timeout)");
      return EBUSY;
    }
    range.notifierSeq = await mmuIntervalReadBegin(range.notifier);
    await mm.mmapSem.downRead();
    ret = await hmmRangeFault58(range, false);
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
  ret = await dmirrorDoFault(dmirror, range, write);
  await dmirror.mutex.unlock();
  return ret;
}

/**
 * lib/test_hmm.c: dmirror_fault() @5.8 — fault [start, end) into the device page table,
 * chunk by chunk. If the mm is already dead (mmget_not_zero fails) it returns 0 without
 * faulting anything, as the kernel does; the READ/WRITE loops would then fault again and
 * again (inference: reachable only through an fd used after its process's mm died, which
 * no selftest does).
 */
export async function dmirrorFault(
  dmirror: Dmirror,
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  const mm = dmirror.mm;
  const ex = mm.kernel.ex;
  ex.trace("call", "dmirror_fault", dmirror.name, `[${hex(start)}, ${hex(end)}) ${write ? "write" : "read"}`);
  if (!(await mmgetNotZero(mm))) return 0;
  let ret = 0;
  // `struct hmm_range range` is on dmirror_fault's stack: each chunk's dies with the frame.
  const frame: HmmRange55[] = [];
  for (let addr = start; addr < end; ) {
    const next = Math.min(addr + dmirror.chunkPages * PAGE_SIZE, end);
    const range = new HmmRange55(
      dmirror.notifier,
      addr,
      next,
      uniformRequest(true, write), // default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0)
    );
    frame.push(range);
    ret = await dmirrorRangeFault(dmirror, range, write);
    if (ret !== 0) break;
    addr = next;
  }
  await mmput(mm);
  for (const range of frame) frameReturned(mm.kernel, range, "dmirror_fault");
  ex.trace("ret", "dmirror_fault", dmirror.name, String(ret));
  return ret;
}
