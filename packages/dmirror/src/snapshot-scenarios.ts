/**
 * HMM_DMIRROR_SNAPSHOT racing invalidations, as report scenarios (a model extension, not a
 * hmm-tests.c test: the selftest `snapshot` runs single-threaded). dmirror_snapshot inserts a
 * temporary interval notifier per chunk, runs the again-loop without HMM_PFN_REQ_FAULT, builds
 * the permission bytes under dmirror->mutex after a false read_retry, and removes the notifier
 * (lib/test_hmm.c: dmirror_range_snapshot() @5.8). Racing it with a munmap and with a
 * migration of the chunk's pages exercises the insert/remove churn against a running mm, the
 * temporary notifier's callback (mutex, set_seq) and the snapshot's retry, with the harness's
 * core invariants (set_seq under a lock the callback took, item 12), lockdep and end-of-run
 * checks (every notifier removed, mm_users back, no stack object used after its frame) on.
 *
 * What the bytes can and cannot show: each pass's walk runs under mmap_sem (read), and munmap
 * holds mmap_sem (write) across its whole invalidation, so one walk sees the page table
 * entirely before or entirely after a munmap; the bytes are a state the table had during the
 * ioctl even without the retry; migration takes no mmap_sem, but the model's walk reads the
 * chunk's PTEs in one step (core hmm/walk.ts), so no torn walk can be seen either. The
 * assertions below are what the kernel guarantees the caller: every page reported as one of
 * the states it went through. What the retry, set_seq and dmirror->mutex add — the bytes are
 * the table's state at the moment they are built under the mutex — is judged by the snapshot
 * oracle (snapshot-oracle.ts) inside dmirror_range_snapshot: no byte claims a mapping or a
 * write permission the CPU PTE no longer has. Both scenarios reach the window it watches: a
 * walk that saw page 1 mapped, then the racer's whole invalidation (callback, PTE change,
 * end) before the read_retry or between the retry and the fill, then the fill; with the
 * retry, set_seq and mutex in place the callback's set_seq sends the loop round (or waits on
 * the mutex the fill holds), without them the byte says WRITE for a zapped or migrated page.
 *
 * No legacy expectation: dmirror (lib/test_hmm.c) was added in 5.8 on the interval core and
 * has one variant, `interval` (driver-package.ts); there is no 5.4 dmirror to judge.
 */
import {
  cpuAccess,
  EINTR,
  type Expectation,
  migratePage,
  munmap,
  PAGE_SIZE,
  type Scenario,
  type ScenarioContext,
} from "@mnlab/core";
import type { DmirrorDeviceContext } from "./driver-package.ts";
import {
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_WRITE,
  type HmmDmirrorCmd,
} from "./uapi.ts";

/** Where the buffer is mapped: clear of the harness's VMA at BASE (as selftests.ts). */
const BUFFER_BASE = 0x800000;
const NPAGES = 2;

/** Exhaustive at preemption bound 2: each scenario's space is a few hundred executions. */
const EXPLORATION = { strategy: "exhaustive", preemptionBound: 2, executions: 4000 } as const;

function check(what: string, ok: boolean, got: unknown): void {
  if (!ok) throw new Error(`snapshot: ${what} (got ${JSON.stringify(got)})`);
}

/** mmap(MAP_PRIVATE | MAP_ANONYMOUS) of NPAGES at BUFFER_BASE, RW, every page written by the CPU. */
async function mapFilled(s: ScenarioContext): Promise<void> {
  const mm = s.mm;
  await mm.mmapSem.downWrite();
  mm.addVma(BUFFER_BASE, BUFFER_BASE + NPAGES * PAGE_SIZE, { read: true, write: true, shared: false });
  await mm.mmapSem.upWrite();
  for (let i = 0; i < NPAGES; i++) {
    const r = await cpuAccess(mm, BUFFER_BASE + i * PAGE_SIZE, true, i + 1);
    check(`CPU write of page ${i}`, r !== "sigsegv", r);
  }
}

/** tools/testing/selftests/vm/hmm-tests.c: hmm_dmirror_cmd(fd, HMM_DMIRROR_SNAPSHOT, ...) @5.8 */
async function snapshot(
  s: ScenarioContext,
  chunkPages: number,
  racer: () => Promise<void>,
): Promise<number[]> {
  // A second file of the device, opened through the variant under test (s.driver: a mutant's copy
  // included); the harness's wrapped s.ctx offers only the generic contract.
  const dev = (await s.driver.open(s.k, s.mm)) as DmirrorDeviceContext | number;
  check("open(/dev/hmm_dmirror0)", typeof dev !== "number", dev);
  if (typeof dev === "number") return [];
  // A dmirror-style variant written without the SNAPSHOT ioctl (the 2015-API mirrors in
  // patches/active-ranges-2015/ have only the fault path) gives no second file to issue it on:
  // the selftest's ioctl would fail there, so say which capability is missing.
  check(
    "the variant's device file offers no HMM_DMIRROR_SNAPSHOT ioctl (its context has no openFile)",
    typeof dev.openFile === "function",
    "no openFile",
  );
  const file = await dev.openFile("hmm_dmirror1", { chunkPages });
  check("open(/dev/hmm_dmirror0)", typeof file !== "number", file);
  if (typeof file === "number") return [];
  await mapFilled(s);
  const t = s.ex.spawn("racer", racer);
  const cmd: HmmDmirrorCmd = {
    addr: BUFFER_BASE,
    ptr: new Array(NPAGES).fill(-1),
    npages: NPAGES,
    cpages: 0,
    faults: 0,
  };
  let ret: number;
  do ret = await file.ioctl("HMM_DMIRROR_SNAPSHOT", cmd);
  while (ret === EINTR);
  check("HMM_DMIRROR_SNAPSHOT returns 0", ret === 0, ret);
  check("cpages", cmd.cpages === NPAGES, cmd.cpages);
  await t.join();
  check("munmap of the buffer", (await munmap(s.mm, BUFFER_BASE, NPAGES * PAGE_SIZE)) === 0, "error");
  check("close(fd)", (await file.release()) === 0, "error");
  await dev.close();
  return cmd.ptr;
}

const PASS = (note: string): Record<string, Expectation> => ({
  interval: { verdict: "pass", ref: "core.md 5.1 (SNAPSHOT), 1.9, 6.4", note },
});

export const snapshotScenarios: Scenario[] = [
  {
    name: "hmm.snapshot-vs-munmap",
    description:
      "Model extension of hmm-tests.c snapshot: a 2-page RW buffer, both pages written; SNAPSHOT with 1-page " +
      "chunks (a temporary notifier inserted and removed per page) while another thread munmaps page 1. " +
      "Page 0 must read WRITE, page 1 WRITE (snapshot before the munmap) or ERROR (a hole after it); every " +
      "temporary notifier is removed and the mm reference dropped.",
    pages: 1,
    exploration: EXPLORATION,
    expected: PASS(
      "Reasoned from lib/test_hmm.c @5.8: dmirror_range_snapshot's insert either precedes munmap's " +
        "invalidate_range_start (then dmirror_snapshot_invalidate takes dmirror->mutex and set_seqs, and the " +
        "read_retry under the mutex sends the loop round again, to a walk after the zap: ERROR), or lands in " +
        "or after the munmap's exclusion period (a deferred insert: read_begin waits for the end, the walk " +
        "sees the hole: ERROR); a walk before the munmap holds mmap_sem (read), so the munmap waits for it. " +
        "hmm_range_fault without REQ_FAULT reports a hole as HMM_PFN_ERROR and returns 0 (the selftest " +
        "snapshot's page 1). dmirror_snapshot's mmget_not_zero is paired with its mmput; every chunk's " +
        "remove runs at `out:`. The snapshot oracle holds: the zap runs after munmap's invalidate_range_start " +
        "returned, so after the callback's set_seq under dmirror->mutex — before the read_retry (true: the loop " +
        "goes round) or after the fill released the mutex; no WRITE byte is built for a zapped page.",
    ),
    async run(s) {
      const perm = await snapshot(s, 1, async () => {
        check("munmap(page 1)", (await munmap(s.mm, BUFFER_BASE + PAGE_SIZE, PAGE_SIZE)) === 0, "error");
      });
      check("page 0 WRITE", perm[0] === HMM_DMIRROR_PROT_WRITE, perm);
      check(
        "page 1 WRITE or ERROR",
        perm[1] === HMM_DMIRROR_PROT_WRITE || perm[1] === HMM_DMIRROR_PROT_ERROR,
        perm,
      );
      s.ex.count(perm[1] === HMM_DMIRROR_PROT_WRITE ? "snapshot_before_munmap" : "snapshot_after_munmap");
    },
  },
  {
    name: "hmm.snapshot-vs-migrate",
    description:
      "Model extension of hmm-tests.c snapshot: a 2-page RW buffer, both pages written; SNAPSHOT of both in one " +
      "2-page chunk (one temporary notifier) while page 1 is migrated (try_to_unmap's CLEAR bracket, a " +
      "migration entry, a new page): the rmap path takes no mmap_sem, so the invalidation runs during the " +
      "snapshot's walk. Page 0 must read WRITE, page 1 WRITE (present, old or new page) or NONE (the " +
      "migration entry, not faulted).",
    pages: 1,
    exploration: EXPLORATION,
    expected: PASS(
      "Reasoned from lib/test_hmm.c @5.8 and mm/hmm.c @5.8: the CLEAR bracket of page 1 hits the temporary " +
        "notifier (set_seq under dmirror->mutex); a walk it overlaps ends in hmm_range_fault's check_retry " +
        "(-EBUSY) or in the read_retry under the mutex, and the loop goes round. A later walk may still find " +
        "the migration entry (the bracket ends before remove_migration_ptes): hmm_vma_handle_pte without a " +
        "required fault reports a non-present entry as 0 (NONE), a state the page had. The snapshot never " +
        "faults, so it cannot wait on the migration entry; no -EBUSY reaches the caller (no timer runs). The " +
        "snapshot oracle holds: ptep_clear_flush (the migration entry) runs after the callback's set_seq under " +
        "dmirror->mutex, so a fill that passed the read_retry built its bytes before the PTE changed; the new " +
        "page (remove_migration_ptes, no notifier) fills a non-present entry, which a walk reports as NONE.",
    ),
    async run(s) {
      const perm = await snapshot(s, 2, async () => {
        await migratePage(s.mm, BUFFER_BASE + PAGE_SIZE);
      });
      check("page 0 WRITE", perm[0] === HMM_DMIRROR_PROT_WRITE, perm);
      check(
        "page 1 WRITE or NONE",
        perm[1] === HMM_DMIRROR_PROT_WRITE || perm[1] === HMM_DMIRROR_PROT_NONE,
        perm,
      );
      s.ex.count(perm[1] === HMM_DMIRROR_PROT_WRITE ? "snapshot_page_present" : "snapshot_migration_entry");
    },
  },
];
