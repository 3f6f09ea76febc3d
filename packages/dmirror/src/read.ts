/**
 * HMM_DMIRROR_READ: the device reads the range through its page table. Under the mutex it
 * copies pages from where it stopped until the first page it has no entry for (-ENOENT),
 * then faults the rest in (one more `faults`) and tries again. It stops on any other error,
 * or when every page has been copied; the user buffer is written only on success.
 */
import { EINVAL, ENOENT, hex, PAGE_SIZE } from "@mnlab/core";
import { bounceIndex, type DmirrorBounce, dmirrorBounceInit } from "./bounce.ts";
import type { Dmirror } from "./dmirror.ts";
import { dmirrorFault } from "./fault.ts";
import type { HmmDmirrorCmd } from "./uapi.ts";

// lib/test_hmm.c: dmirror_do_read() @5.8 — caller holds dmirror->mutex.
async function dmirrorDoRead(
  dmirror: Dmirror,
  start: number,
  end: number,
  bounce: DmirrorBounce,
): Promise<number> {
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    // xa_load(&dmirror->pt, pfn); then the device copies the page (kmap + memcpy).
    const r = await dmirror.pt.access(addr, false);
    if (!r.ok) return ENOENT;
    bounce.data[bounceIndex(bounce, addr)] = r.data;
    bounce.cpages++;
  }
  return 0;
}

// lib/test_hmm.c: dmirror_read() @5.8
export async function dmirrorRead(dmirror: Dmirror, cmd: HmmDmirrorCmd): Promise<number> {
  const ex = dmirror.mm.kernel.ex;
  let start = cmd.addr;
  const end = start + cmd.npages * PAGE_SIZE;
  if (end < start) return EINVAL;
  ex.trace("call", "dmirror_read", dmirror.name, `[${hex(start)}, ${hex(end)})`);
  const bounce = dmirrorBounceInit(start, cmd.npages);
  let ret: number;
  for (;;) {
    await dmirror.mutex.lock();
    ret = await dmirrorDoRead(dmirror, start, end, bounce);
    await dmirror.mutex.unlock();
    if (ret !== ENOENT) break;
    start = cmd.addr + bounce.cpages * PAGE_SIZE;
    ret = await dmirrorFault(dmirror, start, end, false);
    if (ret !== 0) break;
    cmd.faults++;
  }
  if (ret === 0) {
    // copy_to_user(cmd->ptr, bounce.ptr, bounce.size)
    for (let i = 0; i < bounce.npages; i++) cmd.ptr[i] = bounce.data[i]!;
  }
  cmd.cpages = bounce.cpages;
  return ret;
}
