/**
 * The ODP scenarios: the reference rows O1-O4 (rdma-xen-drivers.md 1.5) and the generic
 * conformance suite with this driver's expectations for `legacy` (5.4), `legacy-pre52`
 * (5.4 without 7608bf40cf24) and `interval` (5.5).
 *
 * Lockdep. 5.4 ODP keeps umem_rwsem (read) from invalidate_range_start to _end. The
 * invalidate_range_start lockdep map (23b68395c7c7, new in 5.4, acquired by start and end
 * alike) then sees per_mm->umem_rwsem -> map at the first end, and map -> umem_rwsem at every
 * start: lockdep reports the cycle at the first bracket. That is the O2 lock class found
 * without its nesting — what the map exists for — but no report of it is in the record, so it
 * is an inference. The reference rows are therefore explored as on a kernel without
 * CONFIG_PROVE_LOCKING (`lockdep: false`), where a hang is reported as the hang, and one row
 * (O2-lockdep-...) states what lockdep says. The conformance suite runs with the harness
 * default (lockdep on), as for every driver.
 */
import {
  BASE,
  type BufferHandle,
  both,
  conformance,
  detachVmas,
  type Expectation,
  type ExplorationSpec,
  type MmStruct,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  munmap,
  mustRegister,
  oomReapTaskMm,
  PAGE_SIZE,
  pageAddr,
  rangeInit,
  type Scenario,
  tlbFinishMmu,
  zapPteRange,
} from "@mnlab/core";
import { Completion, WaitQueue } from "@mnlab/sim";

const P = PAGE_SIZE;

/** Exhaustive at preemption bound 2, without lockdep (see the header). */
const NO_LOCKDEP: ExplorationSpec = {
  strategy: "exhaustive",
  preemptionBound: 2,
  executions: 20_000,
  lockdep: false,
};
/** Exhaustive at preemption bound 2, lockdep on (the harness default). */
const WITH_LOCKDEP: ExplorationSpec = { strategy: "exhaustive", preemptionBound: 2, executions: 20_000 };

/** Register or fail the execution: setup is not what these scenarios test. */
/**
 * munmap(2) as core's munmap() does it (mm/mmap.c __do_munmap with downgrade), with the
 * UNMAP bracket held open between start and the zap until `proceed` completes: the scenario's
 * way of placing another thread inside the invalidation.
 */
async function munmapHeldOpen(
  mm: MmStruct,
  start: number,
  len: number,
  opened: Completion,
  proceed: Completion,
) {
  const end = start + len;
  await mm.mmapSem.downWrite();
  detachVmas(mm, start, end);
  await mm.mmapSem.downgradeWrite();
  const range = rangeInit(mm, "UNMAP", start, end);
  await mmuNotifierInvalidateRangeStart(range);
  await opened.complete();
  await proceed.wait();
  const pages = await zapPteRange(mm, start, end);
  await mmuNotifierInvalidateRangeEnd(range);
  tlbFinishMmu(mm, pages);
  await mm.mmapSem.upRead();
}

/**
 * Reclaim of the page at addr as core's reclaimPage() does it (mm/rmap.c try_to_unmap_one
 * under the anon_vma lock, no mmap_sem: a swap entry replaces the PTE), with the CLEAR
 * bracket held open until `proceed` completes.
 */
async function reclaimHeldOpen(mm: MmStruct, addr: number, opened: Completion, proceed: Completion) {
  const k = mm.kernel;
  await mm.rmapLock.downRead();
  const range = rangeInit(mm, "CLEAR", addr, addr + P);
  await mmuNotifierInvalidateRangeStart(range);
  await opened.complete();
  await proceed.wait();
  await k.ex.point("ptep_clear_flush", mm.name, "swap entry");
  const old = mm.pt.get(addr);
  if (old !== undefined) mm.pt.setSwapEntry(addr, { kind: "swap", data: old.page.data, write: old.write });
  await mmuNotifierInvalidateRangeEnd(range);
  await mm.rmapLock.upRead();
  if (old !== undefined) {
    old.page.mapcount--;
    k.pages.putPage(old.page);
  }
}

const O2_REF = "f25a546e6529 (fixes ca748c39ea3f); reference 1.4 item 1, row O2";

/** The reference rows. */
export const referenceScenarios: Scenario[] = [
  {
    name: "O1a-fault-vs-munmap-invalidation-after-snapshot",
    description:
      "A NIC page fault over an ODP MR of pages 0-1 races munmap of page 1; every interleaving is " +
      "explored, among them the timing (a) of the reference: the invalidation opens after the fault " +
      "took its seq snapshot and did GUP, before the MTT write. The fault must retry (5.4: count != 0 " +
      "or a moved notifiers_seq, completion wait; 5.5: read_retry true under umem_mutex) and no MTT " +
      "entry of page 1 may survive the invalidation.",
    pages: 2,
    exploration: NO_LOCKDEP,
    async run(s) {
      const mr = await mustRegister(s, BASE, 2 * P);
      await both(
        s,
        [
          "nic_pagefault",
          async () => {
            await s.ctx.populate(mr, BASE, BASE + 2 * P, true);
            await s.ctx.access(mr, pageAddr(0), false);
            await s.ctx.access(mr, pageAddr(1), false);
          },
        ],
        ["munmap", async () => void (await munmap(s.mm, pageAddr(1), P))],
      );
      await s.ctx.unregister(mr);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row O1(a)",
        note: "ib_umem_mmu_notifier_retry() under umem_mutex sees notifiers_count != 0 (inside) or a moved notifiers_seq (after); -EAGAIN, wait_for_completion_timeout, the fault is retaken",
      },
      "legacy-pre52": {
        verdict: "pass",
        ref: "reference row O1(a)",
        note: "7608bf40cf24 only concerns non-blockable starts; munmap's is blockable",
      },
      interval: { verdict: "pass", ref: "reference row O1(a); f25a546e6529" },
    },
  },
  {
    name: "O1b-fault-starts-inside-open-invalidation",
    description:
      "munmap of page 1 of an ODP MR over pages 0-1 has run invalidate_range_start (the MTTs are " +
      "zapped) when the NIC faults on the MR; the bracket stays open until the fault is issued. 5.4: " +
      "the map step refuses while notifiers_count != 0 and the fault waits on notifier_completion; " +
      "5.5: read_begin sleeps until invalidate_range_end, then one clean pass. No stale MTT.",
    pages: 2,
    exploration: NO_LOCKDEP,
    async run(s) {
      const mr = await mustRegister(s, BASE, 2 * P);
      const opened = new Completion(s.ex, "scenario: UNMAP bracket open");
      const issued = new Completion(s.ex, "scenario: NIC fault issued");
      await both(
        s,
        ["munmap", () => munmapHeldOpen(s.mm, pageAddr(1), P, opened, issued)],
        [
          "nic_pagefault",
          async () => {
            await opened.wait();
            await issued.complete();
            await s.ctx.populate(mr, BASE, BASE + 2 * P, true);
            await s.ctx.access(mr, pageAddr(0), false);
            await s.ctx.access(mr, pageAddr(1), false);
          },
        ],
      );
      await s.ctx.unregister(mr);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row O1(b)",
        note: "the fault is refused with -EAGAIN at least once when it runs before the end (count != 0), waits on notifier_completion, and remaps page 0 only",
      },
      "legacy-pre52": { verdict: "pass", ref: "reference row O1(b)" },
      interval: {
        verdict: "pass",
        ref: "reference row O1(b); f25a546e6529",
        note: "the callback set this umem's seq to the open period's: read_begin sleeps, then read_retry is false",
      },
    },
  },
  {
    name: "O2-nested-start-with-queued-register",
    description:
      "munmap of pages 2-3 splits a huge PMD inside its UNMAP bracket (a nested CLEAR start/end over " +
      "pages 0-3, which meets an ODP MR over pages 0-1) while ibv_reg_mr registers pages 2-3. In 5.4 " +
      "the outer start holds umem_rwsem for read; a registration queued on down_write (after " +
      "mmu_notifier_get dropped mmap_sem) blocks the inner down_read, and waits for the outer hold.",
    exploration: NO_LOCKDEP,
    async run(s) {
      const x = await mustRegister(s, BASE, 2 * P);
      let y: BufferHandle | null = null;
      await both(
        s,
        [
          "munmap",
          async () =>
            void (await munmap(s.mm, pageAddr(2), 2 * P, { thpSplit: { start: BASE, end: BASE + 4 * P } })),
        ],
        [
          "ibv_reg_mr",
          async () => {
            y = await mustRegister(s, pageAddr(2), 2 * P);
            await s.ctx.populate(y, pageAddr(2), pageAddr(4), true);
            await s.ctx.access(y, pageAddr(3), false);
          },
        ],
      );
      if (y !== null) await s.ctx.unregister(y);
      await s.ctx.unregister(x);
    },
    expected: {
      legacy: {
        verdict: "deadlock",
        ref: O2_REF,
        note: "munmap's inner down_read(umem_rwsem) queues behind the registering down_write, which waits for munmap's outer read hold",
      },
      "legacy-pre52": {
        verdict: "deadlock",
        ref: O2_REF,
        note: "the bug predates 7608bf40cf24 (ca748c39ea3f, 2018)",
      },
      interval: {
        verdict: "pass",
        ref: O2_REF,
        note: "no driver lock across the bracket; mmu_interval_notifier_insert defers to the last invalidate_range_end",
      },
    },
  },
  {
    name: "O2-nested-start-with-queued-dereg",
    description:
      "munmap of pages 2-3 with a huge-PMD split inside the UNMAP bracket (nested CLEAR over pages " +
      "0-3) while ibv_dereg_mr destroys the populated ODP MR over pages 0-3: in 5.4 ib_umem_odp_release " +
      "queues on down_write(umem_rwsem) — it takes no mmap_sem, so it can arrive between the starts.",
    exploration: NO_LOCKDEP,
    async run(s) {
      const x = await mustRegister(s, BASE, 4 * P);
      await s.ctx.populate(x, BASE, BASE + 4 * P, true);
      await both(
        s,
        [
          "munmap",
          async () =>
            void (await munmap(s.mm, pageAddr(2), 2 * P, { thpSplit: { start: BASE, end: BASE + 4 * P } })),
        ],
        ["ibv_dereg_mr", () => s.ctx.unregister(x)],
      );
    },
    expected: {
      legacy: {
        verdict: "deadlock",
        ref: O2_REF,
        note: "dereg: live = 0, synchronize_srcu, zap, then ib_umem_odp_release's down_write queues between munmap's outer and inner down_read",
      },
      "legacy-pre52": { verdict: "deadlock", ref: O2_REF },
      interval: {
        verdict: "pass",
        ref: O2_REF,
        note: "mmu_interval_notifier_remove queues the removal and sleeps until the last invalidate_range_end",
      },
    },
  },
  {
    name: "O2-lockdep-umem-rwsem-held-across-bracket",
    description:
      "A plain munmap of page 1 (no huge page, no writer) of a populated ODP MR over pages 0-1 while " +
      "the NIC reads page 0, explored with lockdep: 5.4 keeps umem_rwsem from start to end, so end " +
      "takes the invalidate_range_start lockdep map while holding the lock start took inside it.",
    pages: 2,
    exploration: WITH_LOCKDEP,
    async run(s) {
      const mr = await mustRegister(s, BASE, 2 * P);
      await s.ctx.populate(mr, BASE, BASE + 2 * P, true);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, pageAddr(1), P))],
        ["nic_dma", async () => void (await s.ctx.access(mr, pageAddr(0), false))],
      );
      await s.ctx.unregister(mr);
    },
    expected: {
      legacy: {
        verdict: "potential-deadlock",
        ref: "ca748c39ea3f (umem_rwsem held start to end) + 23b68395c7c7 (invalidate_range_start lockdep map, 5.4)",
        note: "(inference) the O2 lock class seen by lockdep without nesting; no such report is in the record",
      },
      "legacy-pre52": {
        verdict: "potential-deadlock",
        ref: "ca748c39ea3f + 23b68395c7c7",
        note: "(inference) as legacy; the map is 5.4 — a real 5.1 kernel had no such map to report it with",
      },
      interval: {
        verdict: "pass",
        ref: "f25a546e6529",
        note: "umem_mutex is taken and dropped inside the callback",
      },
    },
  },
  {
    name: "O3-register-during-open-invalidation",
    description:
      "Reclaim of page 0 (rmap walk, no mmap_sem) has opened its CLEAR bracket when ibv_reg_mr registers " +
      "an ODP MR over pages 0-1 (another MR, at page 3, already gave the mm its notifier); the MR is then " +
      "faulted and read. 5.4: registration blocks on down_write(umem_rwsem) until the bracket ends; 5.5: " +
      "the insert returns at once and the first read_begin waits. No fault may map the old page.",
    exploration: NO_LOCKDEP,
    async run(s) {
      const other = await mustRegister(s, pageAddr(3), P);
      const opened = new Completion(s.ex, "scenario: CLEAR bracket open");
      const issued = new Completion(s.ex, "scenario: registration issued");
      await both(
        s,
        ["kswapd", () => reclaimHeldOpen(s.mm, pageAddr(0), opened, issued)],
        [
          "ibv_reg_mr",
          async () => {
            await opened.wait();
            await issued.complete();
            const mr = await mustRegister(s, BASE, 2 * P);
            await s.ctx.populate(mr, BASE, BASE + 2 * P, true);
            await s.ctx.access(mr, pageAddr(0), false);
            await s.ctx.unregister(mr);
          },
        ],
      );
      await s.ctx.unregister(other);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row O3",
        note: "mmu_notifier_get finds the per_mm (no mm_take_all_locks); down_write(umem_rwsem) waits for the bracket's read hold",
      },
      "legacy-pre52": { verdict: "pass", ref: "reference row O3" },
      interval: {
        verdict: "pass",
        ref: "reference row O3; 99cb252f5e68",
        note: "partially excluded mm: the insert makes the seq odd and gives the notifier that seq, so read_begin sleeps",
      },
    },
  },
  {
    name: "O4-oom-reaper-eagain-then-register",
    description:
      "The OOM reaper (non-blockable UNMAP start) meets a populated ODP MR over the whole VMA and is " +
      "answered -EAGAIN; it skips the VMA and goes back to sleep. Then ibv_reg_mr registers, faults and " +
      "destroys another MR. Before 7608bf40cf24 the -EAGAIN path kept umem_rwsem for read and the " +
      "registration's down_write hung.",
    exploration: WITH_LOCKDEP,
    async run(s) {
      const x = await mustRegister(s, BASE, 4 * P);
      await s.ctx.populate(x, BASE, BASE + 4 * P, true);
      const reaped = new Completion(s.ex, "scenario: reaper done");
      const oomReaperWait = new WaitQueue(s.ex, "oom_reaper_wait");
      let stop = false;
      const reaper = s.ex.spawn("oom_reaper", async () => {
        await oomReapTaskMm(s.mm);
        await reaped.complete();
        // oom_reaper(): wait_event_freezable(oom_reaper_wait, ...) for the next victim.
        await oomReaperWait.waitEvent(() => stop);
      });
      const reg = s.ex.spawn("ibv_reg_mr", async () => {
        await reaped.wait();
        const y = await mustRegister(s, BASE, 2 * P);
        await s.ctx.populate(y, BASE, BASE + 2 * P, true);
        await s.ctx.access(y, pageAddr(1), false);
        await s.ctx.unregister(y);
      });
      await reg.join();
      stop = true;
      await oomReaperWait.wakeUpAll();
      await reaper.join();
      await s.ctx.unregister(x);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "7608bf40cf24 (in 5.2); reference 1.4 item 2, row O4",
        note: "trylock succeeds, the walk refuses at the first umem with -EAGAIN and up_read()s",
      },
      "legacy-pre52": {
        verdict: "deadlock",
        ref: "7608bf40cf24 (fixes ca748c39ea3f); reference 1.4 item 2, row O4",
        note: "the read lock leaks with the -EAGAIN; the next down_write(umem_rwsem) waits for a reaper that sleeps for its next victim",
      },
      interval: {
        verdict: "pass",
        ref: "f25a546e6529; reference row O4",
        note: "mlx5_ib_invalidate_range returns false, the core ends its own count and answers -EAGAIN",
      },
    },
  },
];

// ---------------------------------------------------------------- conformance expectations

const LOCKDEP_NOTE =
  "(inference) lockdep: a blockable bracket meets the ODP MR's mm, so 5.4 keeps umem_rwsem from start to " +
  "end and end takes the invalidate_range_start map under it (23b68395c7c7) — the O2 lock class, " +
  "reported at the first bracket; without lockdep this scenario passes";
const lockdepLegacy = (why: string): Record<string, Expectation> => ({
  legacy: {
    verdict: "potential-deadlock",
    ref: "ca748c39ea3f + 23b68395c7c7",
    note: `${LOCKDEP_NOTE}; ${why}`,
  },
  "legacy-pre52": {
    verdict: "potential-deadlock",
    ref: "ca748c39ea3f + 23b68395c7c7",
    note: `${LOCKDEP_NOTE}; ${why}`,
  },
});
const intervalPass = (note: string): Record<string, Expectation> => ({
  interval: { verdict: "pass", ref: "f25a546e6529", note },
});

/** Per conformance scenario: what each variant comes to, and why. */
export const conformanceExpectations: Record<string, Record<string, Expectation>> = {
  "populate-vs-munmap": {
    ...lockdepLegacy("the fault itself is safe: retry under umem_mutex on count/seq"),
    ...intervalPass("read_retry under umem_mutex; the callback zaps under it"),
  },
  "register-during-invalidation": {
    ...lockdepLegacy("the first registration's mm_take_all_locks waits for the migration's rmap lock"),
    ...intervalPass(
      "first insert registers the mm under mm_take_all_locks; read_begin/read_retry do the rest",
    ),
  },
  "invalidate-between-lookup-and-program": {
    ...lockdepLegacy("the collision is caught by ib_umem_mmu_notifier_retry"),
    ...intervalPass("the collision is caught by read_retry (or check_retry)"),
  },
  "unregister-during-invalidation": {
    ...lockdepLegacy("teardown's down_write waits for the bracket to end"),
    ...intervalPass(
      "mmu_interval_notifier_remove waits out the exclusion period; the callback short-circuits on npages == 0",
    ),
  },
  "oom-reaper-nonblocking": {
    legacy: {
      verdict: "pass",
      ref: "7608bf40cf24; reference row O4",
      note: "non-blockable start: trylock, -EAGAIN on the intersecting umem with the lock dropped; the reaper skips the VMA and takes no other lock",
    },
    "legacy-pre52": {
      verdict: "leaked-lock",
      ref: "7608bf40cf24 (fixes ca748c39ea3f); reference 1.4 item 2",
      note: "the reaper returns with umem_rwsem held for read: the lock outlives the reaper's work (in the kernel the next writer hangs, see O4)",
    },
    ...intervalPass("the callback returns false; the core closes its own bracket"),
  },
  "exit-during-populate": {
    legacy: {
      verdict: "pass",
      ref: "reference 1.1 (release)",
      note: "ib_umem_notifier_release takes umem_rwsem only inside ->release, start_accounts every umem (never balanced) and zaps; exit_mmap's UNMAP then finds the per_mm unhashed, so no bracket holds the lock; faults after exit fail mmget_not_zero",
    },
    "legacy-pre52": {
      verdict: "pass",
      ref: "reference 1.1 (release)",
      note: "as legacy: nothing non-blockable",
    },
    ...intervalPass(
      "the RELEASE invalidation zaps; mmget_not_zero fails afterwards; the notifier is removed at dereg",
    ),
  },
  "nested-invalidation-during-register": {
    legacy: {
      verdict: "potential-deadlock",
      ref: "ca748c39ea3f + 23b68395c7c7; reference row O2",
      note: `${LOCKDEP_NOTE}; with lockdep off this is the O2 deadlock itself (the first registration's down_write(umem_rwsem) queued between munmap's outer and THP-split starts)`,
    },
    "legacy-pre52": {
      verdict: "potential-deadlock",
      ref: "ca748c39ea3f + 23b68395c7c7; reference row O2",
      note: `${LOCKDEP_NOTE}; with lockdep off: the O2 deadlock`,
    },
    ...intervalPass("the insert is deferred to the last invalidate_range_end; read_begin waits for it"),
  },
  "mprotect-readonly-then-device-write": {
    ...lockdepLegacy("PROTECTION_VMA zaps the writable MTTs in start"),
    ...intervalPass("PROTECTION_VMA zaps the writable MTTs in the callback"),
  },
  "fork-cow-then-device-write": {
    ...lockdepLegacy("PROTECTION_PAGE zaps the writable MTTs in start"),
    ...intervalPass("PROTECTION_PAGE zaps the writable MTTs in the callback"),
  },
  "two-registrations-one-invalidation": {
    ...lockdepLegacy("one per-mm callback walks both umems"),
    ...intervalPass("one callback per umem; the scan only hands out intersecting notifiers"),
  },
  "partial-munmap": {
    ...lockdepLegacy("only the hole is zapped; refaults skip it (GUP stops at the hole)"),
    ...intervalPass("only the hole is zapped; refaults skip it (GUP stops at the hole)"),
  },
  "migrate-then-munmap-at-buffer-edges": {
    ...lockdepLegacy(
      "with lockdep off it passes, exhausted at bound 2 (test/deadlock.test.ts runs it): each edge bracket intersects the umem, raises notifiers_count under umem_rwsem, and the fault's ib_umem_mmu_notifier_retry under umem_mutex sees the count or the moved seq and retries",
    ),
    ...intervalPass(
      "exhausted at bound 2: the umem's notifier spans the MR exactly, so both edge ranges hit it; whichever pass an invalidation lands in, the callback's set_seq under umem_mutex makes the retry check true; the munmap's zap clears MTTs mapped before it",
    ),
  },
  "overlapping-invalidations-race-populate": {
    ...lockdepLegacy(
      "with lockdep off it passes, exhausted at bound 1 (test/deadlock.test.ts runs it): two open brackets keep notifiers_count at 2 until both end",
    ),
    ...intervalPass(
      "exhausted at bound 2 (13,104 executions; the scenario's interval exploration): the two ranges share one exclusion period; read_retry catches both",
    ),
  },
  "successive-migrations-and-munmap-race-populate": {
    ...lockdepLegacy(
      "with lockdep off it passes, exhausted at bound 1 (test/deadlock.test.ts runs every conformance scenario so): each of the three brackets intersects the umem and raises notifiers_count under umem_mutex; two successive migrations move notifiers_seq twice, a munmap open across them keeps the count above 0, and either makes ib_umem_mmu_notifier_retry true under umem_mutex, so the fault retries instead of writing MTTs",
    ),
    ...intervalPass(
      "exhausted at bound 1: each callback set_seqs under umem_mutex and zaps the MTTs and DMA pages of its range; a fault whose read_begin came before it sees check_retry or read_retry true (-EAGAIN, refault), however many periods the seq moved by; one inside a period its notifier is in sleeps in read_begin (the munmap's included, when it spans both migrations); after the munmap GUP stops at page 1's hole",
    ),
  },
  "one-page-buffer-neighbour-invalidations": {
    ...lockdepLegacy(
      "the neighbours' brackets still meet the ODP MR's mm, so the O2 lock class is reported; with lockdep off it passes (test/deadlock.test.ts runs it), the liveness oracle included: rbt_ib_umem_for_each_in_range looks up [start, end - 1], so the neighbours' ranges reach no umem and the one-page MR's fault maps its page",
    ),
    ...intervalPass(
      "exhausted at bound 2: the neighbours' ranges do not hit the one-page umem's notifier; the fault maps the page (liveness)",
    ),
  },
  "oom-reaper-sibling-blockable-zap": {
    ...lockdepLegacy(
      "oom-reaper-nonblocking's trigger taken out, lockdep's remains; with lockdep off it passes (test/deadlock.test.ts runs it): the blockable zap waits for umem_rwsem and the fault retries on the count",
    ),
    ...intervalPass("blockable: the callback takes umem_mutex, set_seqs and zaps; the fault retries"),
  },
  "exit-sibling-munmap-all": {
    ...lockdepLegacy(
      "with lockdep off it passes (test/deadlock.test.ts runs it): the munmap's bracket zaps the MTTs; later faults find no VMA",
    ),
    ...intervalPass("as populate-vs-munmap over the whole MR: the callback zaps, the refault finds no VMA"),
  },
};

/** The conformance scenarios with the expectations above (harness default exploration). */
export const conformanceScenarios: Scenario[] = conformance(conformanceExpectations);

export const scenarios: Scenario[] = [...referenceScenarios, ...conformanceScenarios];
