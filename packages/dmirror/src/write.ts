/**
 * HMM_DMIRROR_WRITE: the device writes the user buffer's data into the range through its
 * page table. Like READ, but an entry counts only if it carries the write tag
 * (DPT_XA_TAG_WRITE); a missing or read-only entry stops the copy with -ENOENT and the
 * rest of the range is faulted in for write.
 */
import { EINVAL, ENOENT, hex, PAGE_SIZE } from "@mnlab/core";
import { bounceIndex, type DmirrorBounce, dmirrorBounceInit } from "./bounce.ts";
import type { Dmirror } from "./dmirror.ts";
import { dmirrorFault } from "./fault.ts";
import type { HmmDmirrorCmd } from "./uapi.ts";

// lib/test_hmm.c: dmirror_do_write() @5.8 — caller holds dmirror->mutex.
async function dmirrorDoWrite(
  dmirror: Dmirror,
  start: number,
  end: number,
  bounce: DmirrorBounce,
): Promise<number> {
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    // xa_load(); !page || xa_pointer_tag(entry) != DPT_XA_TAG_WRITE -> -ENOENT; else memcpy.
    const r = await dmirror.pt.access(addr, true, bounce.data[bounceIndex(bounce, addr)]);
    if (!r.ok) return ENOENT;
    bounce.cpages++;
  }
  return 0;
}

// lib/test_hmm.c: dmirror_write() @5.8
export async function dmirrorWrite(dmirror: Dmirror, cmd: HmmDmirrorCmd): Promise<number> {
  const ex = dmirror.mm.kernel.ex;
  let start = cmd.addr;
  const end = start + cmd.npages * PAGE_SIZE;
  if (end < start) return EINVAL;
  ex.trace("call", "dmirror_write", dmirror.name, `[${hex(start)}, ${hex(end)})`);
  const bounce = dmirrorBounceInit(start, cmd.npages);
  // copy_from_user(bounce.ptr, cmd->ptr, bounce.size)
  for (let i = 0; i < bounce.npages; i++) bounce.data[i] = cmd.ptr[i] ?? 0;
  let ret: number;
  for (;;) {
    await dmirror.mutex.lock();
    ret = await dmirrorDoWrite(dmirror, start, end, bounce);
    await dmirror.mutex.unlock();
    if (ret !== ENOENT) break;
    start = cmd.addr + bounce.cpages * PAGE_SIZE;
    ret = await dmirrorFault(dmirror, start, end, true);
    if (ret !== 0) break;
    cmd.faults++;
  }
  cmd.cpages = bounce.cpages;
  return ret;
}
