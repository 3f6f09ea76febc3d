/**
 * The ioctl entry point: validate the command, run it on a kernel copy of the argument,
 * and copy the argument back (cpages, faults) only when it succeeded — so a failed command
 * leaves the caller's counters as they were, as the selftests see it.
 */
import { EINVAL, PAGE_SIZE, ULONG_MAX } from "@mnlab/core";
import type { Dmirror } from "./dmirror.ts";
import { dmirrorRead } from "./read.ts";
import { dmirrorSnapshot } from "./snapshot.ts";
import type { HmmDmirrorCmd, HmmDmirrorCommand } from "./uapi.ts";
import { dmirrorWrite } from "./write.ts";

// lib/test_hmm.c: dmirror_fops_unlocked_ioctl() @5.8
export async function dmirrorFopsUnlockedIoctl(
  dmirror: Dmirror | null,
  command: HmmDmirrorCommand,
  uarg: HmmDmirrorCmd,
): Promise<number> {
  if (dmirror === null) return EINVAL; // filp->private_data
  if (!Number.isSafeInteger(uarg.addr) || !Number.isSafeInteger(uarg.npages) || uarg.npages < 0) {
    throw new Error(
      `dmirror ioctl: addr ${uarg.addr} and npages ${uarg.npages} must be non-negative integers`,
    );
  }
  const cmd: HmmDmirrorCmd = { ...uarg }; // copy_from_user(&cmd, uarg, sizeof(cmd))
  if (cmd.addr % PAGE_SIZE !== 0) return EINVAL; // cmd.addr & ~PAGE_MASK
  const end = cmd.addr + cmd.npages * PAGE_SIZE;
  if (end > ULONG_MAX || cmd.addr >= end) return EINVAL; // cmd.addr >= cmd.addr + (npages << PAGE_SHIFT), with wrap
  cmd.cpages = 0;
  cmd.faults = 0;
  let ret: number;
  switch (command) {
    case "HMM_DMIRROR_READ":
      ret = await dmirrorRead(dmirror, cmd);
      break;
    case "HMM_DMIRROR_WRITE":
      ret = await dmirrorWrite(dmirror, cmd);
      break;
    case "HMM_DMIRROR_SNAPSHOT":
      ret = await dmirrorSnapshot(dmirror, cmd);
      break;
    default:
      return EINVAL;
  }
  if (ret !== 0) return ret;
  // copy_to_user(uarg, &cmd, sizeof(cmd))
  uarg.cpages = cmd.cpages;
  uarg.faults = cmd.faults;
  return 0;
}
