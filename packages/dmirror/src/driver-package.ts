/**
 * dmirror as a driver package for `mnlab`: the DriverModel contract over lib/test_hmm.c, so
 * the ported hmm selftests (selftests.ts) and the conformance scenarios run on the kernel's
 * own test driver next to the converted drivers, and it gets a report page. dmirror exists only on the interval core (5.8,
 * b2ef9f5a5cb3), so there is one variant, `interval`, and no legacy comparison.
 *
 * The contract's steps in dmirror's terms:
 *   open        open("/dev/hmm_dmirror0"): dmirror_fops_open, a notifier over the whole VA
 *   register    nothing to do — dmirror mirrors the whole address space; the handle is the range
 *   populate    the READ/WRITE ioctls' fault step: dmirror_fault over [start, end)
 *   access      dmirror_do_read/dmirror_do_write: one word through dmirror->pt under dmirror->mutex
 *   unregister  nothing to do
 *   close       dmirror_fops_release
 */
import { fileURLToPath } from "node:url";
import {
  type AccessResult,
  type BufferHandle,
  conformance,
  type DeviceContext,
  type DriverModel,
  type DriverPackage,
  type Expectation,
  type ExplorationSpec,
  type Kernel,
  type MmStruct,
} from "@mnlab/core";
import { continuousInvalidationScenarios } from "./continuous-invalidation.ts";
import { type DmirrorOpenOptions, dmirrorFopsOpen, dmirrorFopsRelease } from "./dmirror.ts";
import { dmirrorFault } from "./fault.ts";
import { dmirrorFopsUnlockedIoctl } from "./ioctl.ts";
import { selftestScenarios } from "./selftests.ts";
import { snapshotScenarios } from "./snapshot-scenarios.ts";
import type { HmmDmirrorCmd, HmmDmirrorCommand } from "./uapi.ts";

const source = fileURLToPath(new URL("./", import.meta.url));

/** Another open file of /dev/hmm_dmirror0, through the variant's own code: its ioctls and its release. */
export interface DmirrorFile {
  // lib/test_hmm.c: dmirror_fops_unlocked_ioctl() @5.8
  ioctl(request: HmmDmirrorCommand, cmd: HmmDmirrorCmd): Promise<number>;
  // lib/test_hmm.c: dmirror_fops_release() @5.8
  release(): Promise<number>;
}

/**
 * dmirror's device context with one addition for scenarios that issue ioctls (SNAPSHOT): open
 * the device file again from the same process. It goes through the variant under test (a
 * mutant's copy included), which a scenario importing dmirror.ts/ioctl.ts itself would not.
 */
export interface DmirrorDeviceContext extends DeviceContext {
  // lib/test_hmm.c: dmirror_fops_open() @5.8; chunkPages is the model's knob (dmirror.ts)
  openFile(name: string, opts: DmirrorOpenOptions): Promise<DmirrorFile | number>;
}

export const dmirrorVariant: DriverModel = {
  info: {
    driver: "dmirror",
    id: "interval",
    kernel: "5.8",
    files: ["lib/test_hmm.c"],
    commits: ["b2ef9f5a5cb3"],
    source,
    summary: "the kernel's HMM test driver: one whole-VA interval notifier, the canonical again-loop",
  },
  // lib/test_hmm.c: dmirror_fops_open() @5.8 (the opener's mm: the harness's process)
  async open(_k: Kernel, mm: MmStruct): Promise<DeviceContext | number> {
    const opened = await dmirrorFopsOpen(mm, "dmirror0");
    if (opened.dmirror === null) return opened.ret;
    const d = opened.dmirror;
    const ctx: DmirrorDeviceContext = {
      mmus: [d.pt],
      register: async (start: number, len: number): Promise<BufferHandle> => ({ start, end: start + len }),
      // lib/test_hmm.c: dmirror_fault() @5.8, as the READ/WRITE ioctls call it
      populate: (_buf: BufferHandle, start: number, end: number, write: boolean) =>
        dmirrorFault(d, start, end, write),
      // lib/test_hmm.c: dmirror_do_read()/dmirror_do_write() @5.8 — the copy runs under dmirror->mutex
      access: async (_buf: BufferHandle, addr: number, write: boolean): Promise<AccessResult> => {
        await d.mutex.lock();
        const r = await d.pt.access(addr, write);
        await d.mutex.unlock();
        return r;
      },
      unregister: async () => {},
      close: async () => {
        await dmirrorFopsRelease(d);
      },
      openFile: async (name: string, opts: DmirrorOpenOptions): Promise<DmirrorFile | number> => {
        const f = await dmirrorFopsOpen(mm, name, opts);
        if (f.dmirror === null) return f.ret;
        const file = f.dmirror;
        return {
          ioctl: (request, cmd) => dmirrorFopsUnlockedIoctl(file, request, cmd),
          release: () => dmirrorFopsRelease(file),
        };
      },
    };
    return ctx;
  },
};

const pass = (ref: string, note: string): Record<string, Expectation> => ({
  interval: { verdict: "pass", ref, note },
});

/**
 * Expected verdicts, reasoned from the canonical usage dmirror is (core.md 2.2 and 2.3): it is
 * the reference user, so every conformance scenario should pass; a violation here points at the
 * core model, not at dmirror.
 */
const expectations: Record<string, Record<string, Expectation>> = {
  "populate-vs-munmap": pass("core.md 6.2", "read_retry under dmirror->mutex catches the munmap's set_seq."),
  "register-during-invalidation": pass(
    "core.md 6.4",
    "register is a no-op: the whole-VA notifier exists from open.",
  ),
  "invalidate-between-lookup-and-program": pass("core.md 1.9", "the collision-retry race the series closes."),
  "unregister-during-invalidation": pass(
    "core.md 1.7",
    "Reasoned: unregister is a no-op; close removes the notifier (waiting out a running period), then destroys " +
      "the page table. When the remove finds the mm idle it returns at once and a munmap may then free pages the " +
      "table still names until dmirror_fops_release's xa_destroy; no ioctl can reach that table while the file is " +
      "being released, so the release retires the device table first and the at-rest oracle (core.md 6.3, item " +
      "15) no longer judges it.",
  ),
  "oom-reaper-nonblocking": pass(
    "core.md 1.4",
    "The callback trylocks dmirror->mutex and returns false when it is taken; the core undoes its count. No classic subscriber is involved.",
  ),
  "exit-during-populate": pass(
    "core.md 1.11",
    "The RELEASE invalidation clears the device page table; dmirror_fault's mmget_not_zero fails after.",
  ),
  "nested-invalidation-during-register": pass("core.md 1.3", "nested ranges share one exclusion period."),
  "mprotect-readonly-then-device-write": pass(
    "core.md 2.3",
    "the callback clears the range whatever the event.",
  ),
  "fork-cow-then-device-write": pass("core.md 2.3", "the callback clears the range whatever the event."),
  "two-registrations-one-invalidation": pass("core.md 2.3", "one notifier covers both ranges."),
  "partial-munmap": pass("core.md 6.3", "only the unmapped part is cleared; the rest stays coherent."),
  "migrate-then-munmap-at-buffer-edges": pass(
    "core.md 1.9, 2.2",
    "Each invalidation's callback takes dmirror->mutex and set_seqs; a pass it lands in sees read_retry (or " +
      "hmm_range_fault's check_retry: -EBUSY) true and loops, the munmap's down_write waits for the " +
      "retry's mmap_sem; the pass that maps read nothing the second invalidation changed afterwards " +
      "without its callback clearing it. The whole-VA notifier sees both edge ranges. Exhausted at bound 2.",
  ),
  "overlapping-invalidations-race-populate": pass(
    "core.md 1.3",
    "The two ranges share one exclusion period: read_begin sleeps until both ended, and each callback " +
      "set_seqs under the mutex. Exhausted at bound 2 (13,613 executions; the scenario's interval exploration).",
  ),
  "successive-migrations-and-munmap-race-populate": pass(
    "core.md 1.3, 1.8, 2.2",
    "Each of the three callbacks takes dmirror->mutex and set_seqs: a pass whose read_begin came before one " +
      "sees check_retry (-EBUSY) or read_retry true and loops, however many periods the seq moved by; a " +
      "read_begin inside a period the whole-VA notifier is in sleeps until it ends — one period when the " +
      "munmap's bracket spans both migrations, whose callbacks then store the same cur_seq. A pass after the " +
      "munmap fails on page 1 (-EFAULT). Exhausted at bound 2 in 33,329 executions (CONFORMANCE_EXPLORATION).",
  ),
  "one-page-buffer-neighbour-invalidations": pass(
    "core.md 6.2 item 11, 6.6",
    "The whole-VA notifier is hit by the neighbours' invalidations (over-invalidation for page 2): a pass " +
      "they land in retries, and a later one maps page 2 — the neighbours' invalidations are finite and " +
      "dmirror's loop has a 1000 ms deadline it does not reach. Exhausted at bound 2.",
  ),
  "oom-reaper-sibling-blockable-zap": pass(
    "core.md 2.3",
    "Blockable: the callback mutex_locks, set_seqs and clears; the fault path retries. Exhausted at bound 2.",
  ),
  "exit-sibling-munmap-all": pass(
    "core.md 6.2",
    "As populate-vs-munmap over the whole buffer; the faults after the unmap end in -EFAULT. Exhausted at bound 2.",
  ),
};

/**
 * dmirror's own exploration of a conformance scenario (its only variant is the 5.5 one): the
 * three-invalidation shape, at bound 1 in the suite, is exhausted at bound 2 in 33,329
 * executions (measured).
 */
const CONFORMANCE_EXPLORATION: Record<string, ExplorationSpec> = {
  "successive-migrations-and-munmap-race-populate": {
    strategy: "exhaustive",
    preemptionBound: 2,
    executions: 40_000,
  },
};

export const driverPackage: DriverPackage = {
  name: "dmirror",
  title: "The kernel's own HMM test driver (lib/test_hmm.c, 5.8): the reference user of the interval core",
  design: {
    legacy:
      "None: `lib/test_hmm.c` was added in 5.8 (b2ef9f5a5cb3), on the interval core; there is no 5.4 variant.",
    interval:
      "- One `mmu_interval_notifier` over the whole address space per open file.\n" +
      "- Faults run the canonical loop: `read_begin`, `hmm_range_fault` under `mmap_sem`, `dmirror->mutex`, " +
      "`read_retry`, then the device page table.\n" +
      "- The callback trylocks the mutex when non-blockable, `set_seq`, clears the range.",
  },
  patches: [],
  variants: [dmirrorVariant],
  scenarios: [
    ...selftestScenarios,
    ...snapshotScenarios,
    ...conformance(expectations, CONFORMANCE_EXPLORATION),
    ...continuousInvalidationScenarios,
  ],
};
