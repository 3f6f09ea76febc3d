/**
 * The nouveau scenario table: the reference rows (gpu-drivers.md 2.6: V1, V2, V3, V4, V6, V8)
 * and the generic conformance scenarios, each with the verdict expected per variant.
 *
 * PFNMAP's page-table allocation (O4, in both variants) is modelled as plain memory in every
 * scenario but V8 (knobs.ts): as a GFP_KERNEL allocation it makes lockdep report
 * svmm->mutex -> fs_reclaim -> invalidate_range_start -> svmm->mutex in any exploration with
 * a PFNMAP and a blockable callback, in both variants, before the hazard a scenario is about
 * can be reached. V8 models it, and a focused test checks that the default does report it.
 */
import {
  BASE,
  both,
  conformance,
  EBUSY,
  type Expectation,
  type ExplorationSpec,
  exitTask,
  type MmStruct,
  migratePage,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  munmap,
  mustRegister,
  PAGE_SIZE,
  pageAddr,
  populateMustMap,
  rangeInit,
  type Scenario,
  type ScenarioContext,
} from "@mnlab/core";
import { nouveauChannels } from "./channels.ts";
import { setPfnmapAllocation } from "./knobs.ts";
import { SECOND_CHANNEL_INST } from "./uapi.ts";

const P = PAGE_SIZE;

/** Counters the V6 scenario records, for the metric tests and the report. */
export const V6_COUNTERS = {
  /** Virtual ms from the GPU fault to the end of the worker's pass over it. */
  faultTicks: "v6.fault_ticks",
  /** The fault came back -EBUSY (its faults were cancelled). */
  faultEbusy: "v6.fault_ebusy",
} as const;

/** V6's background traffic: invalidations of pages 4-5 open over [at, at + len) ms. */
export const V6_TRAFFIC: readonly { at: number; len: number }[] = [
  { at: 0, len: 600 },
  { at: 450, len: 600 },
  { at: 900, len: 600 },
];

/** When V6's GPU fault arrives, in ms after the traffic began. */
export const V6_FAULT_AT = 100;

/**
 * Invalidations of [start, end) held open over the given spans, from one thread: each is an
 * rmap-walk invalidation (anon_vma lock for read, as try_to_unmap_one) that another subscriber
 * of the mm — a second device waiting for its fence — keeps open for `len` ms. The PTEs are
 * left as they are: only the notifier traffic matters here.
 */
async function heldInvalidations(s: ScenarioContext, mm: MmStruct, start: number, end: number) {
  const events: { t: number; open: boolean; i: number }[] = [];
  V6_TRAFFIC.forEach((w, i) => {
    events.push({ t: w.at, open: true, i }, { t: w.at + w.len, open: false, i });
  });
  events.sort((a, b) => a.t - b.t || Number(a.open) - Number(b.open));
  const ranges = V6_TRAFFIC.map(() => rangeInit(mm, "CLEAR", start, end));
  for (const e of events) {
    if (e.t > s.ex.now) await s.ex.sleep(e.t - s.ex.now);
    const r = ranges[e.i]!;
    if (e.open) {
      await mm.rmapLock.downRead();
      await mmuNotifierInvalidateRangeStart(r);
    } else {
      await mmuNotifierInvalidateRangeEnd(r);
      await mm.rmapLock.upRead();
    }
  }
}

const exhaustive = (preemptionBound: number, executions = 50_000): ExplorationSpec => ({
  strategy: "exhaustive",
  preemptionBound,
  executions,
});

export const V1: Scenario = {
  name: "V1-aba-migration-before-pfnmap",
  description:
    "The GPU faults on pages 0-1; while the fault worker is between hmm_range_fault and PFNMAP, a " +
    "migration of page 0 (try_to_unmap_one: MMU_NOTIFY_CLEAR, no mmap_sem) runs start to end. In 5.4 " +
    "the sync callback PFNCLRs nothing yet, notifiers drops back to 0 and every range is valid again, " +
    "so nouveau_range_done says valid and PFNMAP installs the old pfn (O1). In 5.5 the itree callback's " +
    "set_seq makes read_retry true: the worker loops and maps the new page, or cancels.",
  async run(s) {
    setPfnmapAllocation(s.k, "plain");
    const buf = await mustRegister(s, BASE, 2 * P);
    await both(
      s,
      [
        "gpu",
        async () => {
          await s.ctx.populate(buf, BASE, BASE + 2 * P, false);
          await s.ctx.access(buf, pageAddr(0), false);
        },
      ],
      ["migrate", async () => void (await migratePage(s.mm, pageAddr(0)))],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: {
      verdict: "use-after-free",
      ref: "V1 (O1); 04ec32fbc2b2 commit message",
      note:
        "The reference says stale mapping / UAF. The oracle reports use-after-free: nouveau holds no page " +
        "references, so once the migration has run start to end and dropped the old page, the PFNMAP'd " +
        "entry points at a freed page, which the at-rest check (mm idle) reports before any GPU access. " +
        "A PFNMAP between the migration's invalidate_range_end and its put_page would be a stale-access " +
        "instead; the search finds, and the shrinker keeps, the freed-page schedule.",
    },
    interval: { verdict: "pass", ref: "V1; 20fef4ef84bf" },
  },
  exploration: exhaustive(3),
};

export const V2: Scenario = {
  name: "V2-fault-vs-munmap-same-window",
  description:
    "The GPU faults on pages 0-3 and reads page 3 while the process munmaps exactly that window. In " +
    "5.4 munmap's down_write waits for the worker's mmap_sem (read), and its PFNCLR then clears what " +
    "was mapped; a worker that comes after the VMA is detached finds no VMA and cancels. In 5.5 the " +
    "itree callback either runs first (retry, then -EFAULT, cancel) or waits on svmm->mutex for the " +
    "PFNMAP, which the hlist PFNCLR then clears.",
  async run(s) {
    setPfnmapAllocation(s.k, "plain");
    const buf = await mustRegister(s, BASE, 4 * P);
    await both(
      s,
      [
        "gpu",
        async () => {
          await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
          await s.ctx.access(buf, pageAddr(3), false);
        },
      ],
      ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: { verdict: "pass", ref: "V2" },
    interval: { verdict: "pass", ref: "V2" },
  },
  exploration: exhaustive(3),
};

export const V3: Scenario = {
  name: "V3-exit-during-fault",
  description:
    "The GPU faults one page below the process's mapping (an out-of-bounds access the worker must look " +
    "up and cancel) while the process exits. In 5.4 the worker holds mmap_sem for read but no mm_users " +
    "reference, and exit_mmap frees the VMAs without mmap_sem: the worker's find_vma_intersection and " +
    "its reads of vm_start/vm_end can touch a freed VMA (O2). In 5.5 mmget_not_zero either fails (the " +
    "fault is cancelled) or keeps exit_mmap waiting until the worker's mmput. The fault maps nothing in " +
    "either variant, so the GPU PTEs exit_mmap leaves behind (O8, both variants: see exit-during-populate) " +
    "do not hide the worker's own race.",
  async run(s) {
    setPfnmapAllocation(s.k, "plain");
    const buf = await mustRegister(s, BASE - P, 2 * P);
    await both(
      s,
      ["gpu", async () => void (await s.ctx.populate(buf, BASE - P, BASE, false))],
      ["exit", async () => await exitTask(s.mm)],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: { verdict: "use-after-free", ref: "V3 (O2); fixed by 20fef4ef84bf" },
    interval: { verdict: "pass", ref: "V3; 20fef4ef84bf" },
  },
  exploration: exhaustive(3),
};

export const V4: Scenario = {
  name: "V4-fini-during-invalidation-pfnclr",
  description:
    "With pages 0-1 mapped on the GPU, the client closes (channel part, nouveau_svmm_fini, nvif_vmm_fini) " +
    "while a munmap of pages 2-3 runs its invalidation, whose callback takes svmm->mutex and PFNCLRs. In " +
    "5.4 hmm_mirror_unregister waits for the running callback (mirrors_sem write) before the kfree; in 5.5 " +
    "fini sets svmm->vmm = NULL under the mutex, later callbacks skip the hardware, and the svmm is freed " +
    "after SRCU. The unmapped pages are not GPU-mapped, so the scenario is about the svmm's lifetime, not " +
    "about PTEs left in a VMM no channel uses any more.",
  async run(s) {
    setPfnmapAllocation(s.k, "plain");
    const buf = await mustRegister(s, BASE, 2 * P);
    await s.ctx.populate(buf, BASE, BASE + 2 * P, false);
    await both(
      s,
      ["munmap", async () => void (await munmap(s.mm, pageAddr(2), 2 * P))],
      ["close", async () => await s.ctx.close()],
    );
  },
  expected: {
    legacy: { verdict: "pass", ref: "V4" },
    interval: { verdict: "pass", ref: "V4; c625c274ee00" },
  },
  exploration: exhaustive(3),
};

export const V6: Scenario = {
  name: "V6-steady-invalidations-elsewhere",
  description:
    "Invalidations of pages 4-5, far from the GPU's window, keep the mm busy for 1500 ms (three of " +
    "600 ms, overlapping). 100 ms in, the GPU faults on pages 0-1 (an earlier fault on page 2 has " +
    "already registered the mm). 5.4: the range is registered while hmm->notifiers > 0, so it starts " +
    "invalid; the worker waits in hmm_range_wait_until_valid under mmap_sem, times out after 1000 ms " +
    "and cancels with -EBUSY (O3). 5.5: the temporary notifier, inserted while invalidations run, " +
    "gets the odd seq (core.md 1.6), so read_begin also sleeps until the mm is idle — without " +
    "mmap_sem, with no timeout — and then maps.",
  pages: 6,
  async run(s) {
    setPfnmapAllocation(s.k, "plain");
    const buf = await mustRegister(s, BASE, 3 * P);
    await s.ctx.populate(buf, pageAddr(2), pageAddr(3), false);
    await both(
      s,
      ["traffic", async () => await heldInvalidations(s, s.mm, pageAddr(4), pageAddr(6))],
      [
        "gpu",
        async () => {
          await s.ex.sleep(V6_FAULT_AT);
          const t0 = s.ex.now;
          const ret = await s.ctx.populate(buf, BASE, pageAddr(2), false);
          s.ex.count(V6_COUNTERS.faultTicks, s.ex.now - t0);
          if (ret === EBUSY) s.ex.count(V6_COUNTERS.faultEbusy);
          await s.ctx.access(buf, pageAddr(0), false);
        },
      ],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: {
      verdict: "use-after-free",
      ref: "V6 (O3); reference gpu-drivers.md 2.2 (corrected: the timeout path's missing unregister)",
      note:
        "Was `pass` (a liveness cost only: the fault is cancelled with -EBUSY after 1000 ms). Since issue 12 " +
        "the timeout path returns without hmm_range_unregister, as 5.4's nouveau_range_fault does, and the " +
        "range has a lifetime: `struct hmm_range range` is a local of nouveau_svm_fault, so once that " +
        "returns (t = 1100) hmm->ranges links a dead stack frame. The last traffic end (t = 1500) runs " +
        "notifiers_decrement, whose list_for_each_entry over hmm->ranges sets range->valid = true in that " +
        "frame: a use-after-free (mm/hmm.c: notifiers_decrement() @5.4; nouveau_svm.c: nouveau_range_fault() " +
        "@5.4, `return -EBUSY` after hmm_range_wait_until_valid fails). The -EBUSY cost is still measured " +
        "(test/metrics.test.ts); test/audit.test.ts checks the leak itself.",
    },
    interval: {
      verdict: "pass",
      ref: "V6; core.md 1.6 (insert during partial exclusion)",
      note:
        "The reference has read_begin wait only for this window. The model follows the 5.5 core: a " +
        "notifier inserted while any invalidation of the mm is active is given the odd seq, and the " +
        "exclusion period lasts until the last of the overlapping invalidations ends (core.md 1.3, 6.6 " +
        "item 25). nouveau inserts a fresh notifier per fault, so a fault arriving during unrelated " +
        "traffic waits for the mm to become idle too: 1400 ms here, where 5.4 gives up after 1000. What " +
        "differs is that 5.5 waits without mmap_sem and then maps instead of cancelling with -EBUSY.",
    },
  },
  exploration: exhaustive(2),
};

const V8_NOTE =
  "The reference expects a deadlock on svmm->mutex in both. With lockdep on (the default) the model " +
  "reports potential-deadlock first: when the reclaim's callback goes for svmm->mutex, lockdep has " +
  "svmm->mutex -> fs_reclaim (the allocation) and fs_reclaim -> svmm->mutex (the callback, inside " +
  "fs_reclaim and invalidate_range_start) — the splat Jason reported for nouveau under Daniel Vetter's " +
  "annotations. The recursive mutex_lock that would hang comes one step later; with lockdep off " +
  "(exploration.lockdep: false) the same execution ends in `deadlock` (tested).";

export const V8: Scenario = {
  name: "V8-direct-reclaim-during-pfnmap",
  description:
    "PFNMAP allocates GPU page tables with GFP_KERNEL under svmm->mutex; the allocation enters direct " +
    "reclaim, which unmaps page 3 of the same mm (try_to_unmap_one: MMU_NOTIFY_CLEAR). The invalidation " +
    "reaches nouveau — the 5.4 sync callback, the 5.5 hlist callback, both for every invalidation of the " +
    "mm — and the callback takes svmm->mutex, which the worker holds (O4).",
  async run(s) {
    setPfnmapAllocation(s.k, { directReclaim: pageAddr(3) });
    const buf = await mustRegister(s, BASE, 2 * P);
    await s.ctx.populate(buf, BASE, BASE + 2 * P, false);
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: { verdict: "potential-deadlock", ref: "V8 (O4); Jason, v1 thread 21 Oct 2019", note: V8_NOTE },
    interval: { verdict: "potential-deadlock", ref: "V8 (O4); Jason, v1 thread 21 Oct 2019", note: V8_NOTE },
  },
  exploration: exhaustive(0, 10),
};

/** Reference rows. */
export const referenceScenarios: Scenario[] = [V1, V2, V3, V4, V6, V8];

// ------------------------------------------------------ driver-specific, not reference rows

const pass = (ref: string, note?: string): Expectation =>
  note === undefined ? { verdict: "pass", ref } : { verdict: "pass", ref, note };

export const CHANNEL_FREE_DURING_FAULT_LOOKUP: Scenario = {
  name: "channel-free-during-fault-lookup",
  description:
    "The client has a second channel on its SVM VMM (nouveau_svmm_join at channel alloc: list_add puts " +
    "its nouveau_ivmm first on svm->inst). The GPU faults on page 0 through the first channel while the " +
    "second is freed (nouveau_abi16_chan_fini -> nouveau_svmm_part: list_del and kfree of its ivmm). The " +
    "fault worker's nouveau_ivmm_find walks svm->inst past the second channel's entry to its own, under " +
    "svm->mutex, which nouveau_svmm_part takes too: the walk sees the list before or after the list_del, " +
    "never a freed entry. Nothing invalidates page 0, so the fault must map it and the GPU must read it.",
  async run(s) {
    setPfnmapAllocation(s.k, "plain");
    const channels = nouveauChannels(s.k);
    if ((await channels.join(SECOND_CHANNEL_INST)) !== 0) s.ex.fail("exception", "nouveau_svmm_join failed");
    const buf = await mustRegister(s, BASE, P);
    await both(
      s,
      ["gpu", async () => await populateMustMap(s, buf, BASE, BASE + P, false)],
      ["chan-free", async () => await channels.part(SECOND_CHANNEL_INST)],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: pass(
      "2.1 (channels join and part under svm->mutex)",
      "Reasoned: nouveau_svm_fault @5.4 maps instances to svmms under svm->mutex, nouveau_svmm_part " +
        "list_dels and kfrees the ivmm under the same mutex, so the walk never reaches a freed entry; the " +
        "svmm itself is the client's and lives until nouveau_svmm_fini (not in this scenario: O7 needs the " +
        "client's teardown). No invalidation: the fault maps page 0 (liveness).",
    ),
    interval: pass(
      "2.3; the lookup is unchanged by 20fef4ef84bf",
      "Reasoned as 5.4: svm->mutex serialises nouveau_ivmm_find with nouveau_svmm_part's list_del + " +
        "kfree(ivmm). Without it the walk can load the second channel's entry, then read ivmm->inst after " +
        "the kfree (use-after-free). The fault is the first channel's, with no invalidation: it maps.",
    ),
  },
  exploration: exhaustive(2),
};

export const MUNMAP_LAST_PAGE_DURING_FAULT: Scenario = {
  name: "munmap-last-page-during-fault",
  description:
    "The GPU faults on pages 0-3 (one fault window of four pages) and reads page 3 while the process " +
    "munmaps page 3 only: the last page of the window, not the first. In 5.4 the munmap's down_write " +
    "waits for the worker's mmap_sem (read), held from find_vma to PFNMAP, and the sync callback then " +
    "PFNCLRs page 3 (or the worker comes after, clips the window to the VMA and cancels page 3's fault). " +
    "In 5.5 the worker holds mmap_sem only around hmm_range_fault, so the munmap can run whole between " +
    "hmm_range_fault and svmm->mutex; the temporary notifier covers the whole window, so its itree " +
    "callback's set_seq makes read_retry true there. A notifier a page short would not be hit, and PFNMAP " +
    "would install the unmapped (freed) page.",
  async run(s) {
    setPfnmapAllocation(s.k, "plain");
    const buf = await mustRegister(s, BASE, 4 * P);
    await both(
      s,
      [
        "gpu",
        async () => {
          await s.ctx.populate(buf, BASE, pageAddr(4), false);
          await s.ctx.access(buf, pageAddr(3), false);
        },
      ],
      ["munmap", async () => void (await munmap(s.mm, pageAddr(3), P))],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: pass(
      "O1 ('munmap cannot do this'); V2",
      "Reasoned as V2 at the window's last page: munmap needs mmap_sem for write, which the 5.4 worker " +
        "holds for read across hmm_range_fault, nouveau_range_done and PFNMAP; the UNMAP callback PFNCLRs " +
        "[page 3, page 4) after, or the worker finds the VMA ending at page 3 and cancels that fault.",
    ),
    interval: pass(
      "V2; 20fef4ef84bf (notifier over exactly [addr, addr + size))",
      "Reasoned: whichever pass the munmap lands in, the UNMAP of page 3 overlaps the per-fault notifier " +
        "(interval tree [start, start + size - 1]): set_seq under svmm->mutex makes read_retry true and " +
        "the retry's hmm_range_fault finds page 3 without a VMA (-EFAULT, the window's faults cancelled), " +
        "or it waits for the PFNMAP's svmm->mutex and the hlist callback then PFNCLRs page 3.",
    ),
  },
  exploration: exhaustive(2),
};

/** nouveau's own scenarios beyond the reference rows. */
export const driverScenarios: Scenario[] = [MUNMAP_LAST_PAGE_DURING_FAULT, CHANNEL_FREE_DURING_FAULT_LOOKUP];

// ---------------------------------------------------------------- conformance

/**
 * Per conformance scenario, legacy and interval. `ref` names the reference row or commit that
 * settles it; a `note` records the reasoning where the reference does not.
 */
const CONFORMANCE_EXPECTED: Record<string, Record<string, Expectation>> = {
  "populate-vs-munmap": {
    legacy: pass(
      "O1 ('munmap cannot do this'); V2",
      "munmap's down_write waits for the worker's mmap_sem (read), so no whole start/end pair fits between " +
        "hmm_range_fault and nouveau_range_done; a worker arriving after the downgrade registers its range " +
        "while notifiers > 0 (invalid) and finds the VMA gone; the sync callback's PFNCLR clears the rest.",
    ),
    interval: pass("V2"),
  },
  "register-during-invalidation": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1; 04ec32fbc2b2",
      note:
        "nouveau has no registration object: the race is the fault worker's against a migration (no " +
        "mmap_sem). A range registered during the migration starts invalid and waits (hmm_range_register " +
        "gates on notifiers == 0, so the pre-5.2 registration race is gone); what the search finds is O1: " +
        "hmm_range_fault reads the old PTE, the migration runs start to end, every range is valid again, " +
        "and PFNMAP maps the old page, by then freed (no page reference is held).",
    },
    interval: pass("20fef4ef84bf; core.md 6.4 item 17"),
  },
  "invalidate-between-lookup-and-program": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1; 04ec32fbc2b2",
      note: "The conformance twin of V1: the lazy-valid ABA; the old page is freed by the time the GPU PTE points at it.",
    },
    interval: pass("20fef4ef84bf; core.md 6.2"),
  },
  "unregister-during-invalidation": {
    legacy: pass(
      "V4",
      "Not a reference row; reasoned like V4. unregister PFNCLRs the window under svmm->mutex; " +
        "hmm_mirror_unregister takes mirrors_sem for write, so it waits for a running sync callback, and " +
        "munmap's later invalidations no longer reach the mirror; the kfree comes after. No GPU PTE is left " +
        "for the munmap to free under.",
    ),
    interval: pass(
      "V4; c625c274ee00",
      "Not a reference row; reasoned like V4: vmm = NULL under svmm->mutex, an hlist callback already " +
        "running under SRCU skips the hardware, free_notifier runs after the grace period.",
    ),
  },
  "oom-reaper-nonblocking": {
    legacy: pass(
      "O5",
      "The sync callback refuses every non-blockable range; hmm undoes its notifiers count and the reaper " +
        "skips the VMA. Nothing is reaped, so the GPU mappings stay coherent: a liveness cost (the OOM " +
        "victim's memory is not freed), not an oracle violation.",
    ),
    interval: {
      verdict: "core-invariant",
      ref: "O5 (kept in NEW, reference inference); core.md 1.4",
      note:
        "Not in the reference; flagged. Once a fault has inserted a notifier the mm has has_itree, so the " +
        "non-blockable start first runs the itree pass, which counts the range in active_invalidate_ranges " +
        "(matching nothing or not), then the hlist pass, where the svmm's callback refuses with -EAGAIN " +
        "(O5). The 5.5 core returns that -EAGAIN without undoing the itree pass's count (it undoes it only " +
        "when an itree callback refuses), and the reaper, told -EAGAIN, issues no end: " +
        "active_invalidate_ranges stays raised for good (core invariant 6.1.3). The next notifier a " +
        "fault inserts, or one an invalidation hits, then waits in read_begin/remove for an exclusion " +
        "period that never ends. Found at the first execution.",
      finding: {
        explanation:
          "The 5.5 range start runs the interval-tree pass first: mn_itree_invalidate counts the range in " +
          "active_invalidate_ranges and, when every interval callback agrees, leaves it counted until the " +
          "matching end. Then the classic (hlist) pass runs, nouveau's svmm notifier refuses the non-blockable " +
          "range with -EAGAIN, and __mmu_notifier_invalidate_range_start returns that -EAGAIN as it is. The OOM " +
          "reaper, told -EAGAIN, skips the VMA and issues no invalidate_range_end, so nothing takes the count " +
          "back down: the mm's sequence stays odd, and the next mmu_interval_read_begin or " +
          "mmu_interval_notifier_remove that has to wait for the period waits for good.",
        lines: [
          "mm/mmu_notifier.c: __mmu_notifier_invalidate_range_start() @5.5 (itree pass, then hlist pass; -EAGAIN returned without undoing the itree count)",
          "mm/mmu_notifier.c: mn_itree_invalidate() @5.5 (active_invalidate_ranges++ kept on success)",
          "mm/oom_kill.c: __oom_reap_task_mm() @5.5 (-EAGAIN: no mmu_notifier_invalidate_range_end)",
          "drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_invalidate_range_start() @5.5 (-EAGAIN when !mmu_notifier_range_blockable)",
        ],
        later:
          'c2655835fd8c (2021, "mm/mmu_notifiers: ensure range_end() is paired with range_start()") makes the ' +
          "hlist path call invalidate_range_end for the hlist subscribers whose start succeeded; it does not " +
          "touch the interval count. __mmu_notifier_invalidate_range_start is unchanged in the newest tree " +
          "searched; no fix was found (the search covered stored sources and mail threads only). From 5.15 " +
          "process_mrelease is a second caller that issues no end after -EAGAIN.",
      },
    },
  },
  "exit-during-populate": {
    legacy: {
      verdict: "use-after-free",
      ref: "O8 (reference inference)",
      note:
        "The empty release op leaves the GPU PTEs; __mmu_notifier_release then unhashes hmm, so " +
        "exit_mmap's unmap reaches no sync callback and frees the pages under them. The at-rest oracle " +
        "reports it as soon as the mm is idle, before the file is closed (exit_mm runs before exit_files). " +
        "The O2 race (the worker reading VMAs exit_mmap frees) needs a preemption; V3 isolates it.",
    },
    interval: {
      verdict: "use-after-free",
      ref: "O8 (reference inference, OLD only)",
      note:
        "Flagged: the reference records O8 for OLD only. c625c274ee00 registers no release op at all, " +
        "__mmu_notifier_release unhashes the svmm's notifier before exit_mmap's unmap, and the itree " +
        "callback never PFNCLRs (and the per-fault notifier is gone once the fault is done), so the pages " +
        "are freed under the GPU PTEs exactly as in 5.4. The fault path itself is safe (mmget_not_zero).",
      finding: {
        explanation:
          "nouveau's 5.5 classic notifier ops have invalidate_range_start and free_notifier but no release. At " +
          "exit, __mmu_notifier_release calls ->release where there is one and unhashes every subscription, so " +
          "the unmaps exit_mmap then runs reach no nouveau callback; the per-fault interval notifiers are gone " +
          "once their fault ended. The GPU page table keeps entries for pages exit_mmap frees, until the " +
          "client's VMM is torn down at file close (exit_mm runs before exit_files). The mmu_notifier header " +
          "says release is how a driver stops device access before the pages go.",
        lines: [
          "drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_mn_ops @5.5 (.invalidate_range_start and .free_notifier, no .release)",
          "mm/mmu_notifier.c: mn_hlist_release() @5.5 (->release if set, then hlist_del_init_rcu)",
          "mm/mmap.c: exit_mmap() @5.5 (mmu_notifier_release before unmap_vmas and free_pgtables)",
        ],
        later:
          "The newest nouveau_svm.c searched still registers no release op (inference from the sources: " +
          "harmful when GPU work runs between exit_mmap and file close; no hang).",
      },
    },
  },
  "nested-invalidation-during-register": {
    legacy: pass(
      "O1 ('munmap cannot do this')",
      "Reasoned: munmap holds mmap_sem (write, then read after the downgrade) across both brackets, so the " +
        "worker either faults before it — and the UNMAP callback clears that — or registers during the " +
        "brackets, starts invalid, waits for notifiers to reach 0 and finds the second half gone; the " +
        "nested CLEAR only prolongs the wait.",
    ),
    interval: pass(
      "core.md 1.6",
      "Reasoned: a notifier inserted during the UNMAP bracket gets the odd seq; the nested CLEAR hits it " +
        "and shares the same exclusion period; read_begin returns after the outer end.",
    ),
  },
  "mprotect-readonly-then-device-write": {
    legacy: pass(
      "2.2 (sync callback)",
      "Reasoned: nouveau ignores the event and PFNCLRs on every invalidation, PROTECTION_VMA included, " +
        "so the GPU write after the callback faults (not-mapped) instead of writing.",
    ),
    interval: pass("2.3 (hlist callback)", "Reasoned: the hlist callback PFNCLRs whatever the event."),
  },
  "fork-cow-then-device-write": {
    legacy: pass("2.2 (sync callback)", "Reasoned: PROTECTION_PAGE is cleared like any other event."),
    interval: pass("2.3 (hlist callback)", "Reasoned: PROTECTION_PAGE is cleared like any other event."),
  },
  "two-registrations-one-invalidation": {
    legacy: pass(
      "2.2",
      "Reasoned: windows are bookkeeping; one callback per invalidation clears the whole range, both windows.",
    ),
    interval: pass("2.3", "Reasoned: the hlist callback clears the whole range, both windows."),
  },
  "partial-munmap": {
    legacy: pass(
      "O1 ('munmap cannot do this'); V2",
      "Reasoned: the hole is cleared by the sync callback; a later fault over it finds no VMA for the middle " +
        "page (hmm_range_fault -EFAULT) and cancels.",
    ),
    interval: pass("V2", "Reasoned: the hole's faults end in -EFAULT and are cancelled."),
  },
  "migrate-then-munmap-at-buffer-edges": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1; 04ec32fbc2b2",
      note:
        "The migration of the window's first page (page 1, no mmap_sem) runs start to end between " +
        "hmm_range_fault and nouveau_range_done: notifiers drops to 0, every range is valid again, PFNMAP " +
        "installs the old pfn, which the migration then frees (no page reference). The munmap straddling the " +
        "end cannot do this (its down_write waits for the worker's mmap_sem); V1's shape at an edge.",
    },
    interval: pass(
      "20fef4ef84bf; core.md 1.9",
      "Exhausted at bound 2: whichever pass an invalidation lands in, its itree callback's set_seq under " +
        "svmm->mutex makes read_retry true (or it waits for the PFNMAP and the hlist PFNCLR clears it); the " +
        "per-fault notifier covers the window exactly, so both edge ranges hit it; the munmap's down_write " +
        "waits for the retry's mmap_sem, after which the last page's VMA is gone and its fault cancelled.",
    ),
  },
  "overlapping-invalidations-race-populate": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1; 04ec32fbc2b2",
      note: "As migrate-then-munmap: the migration's whole bracket fits between hmm_range_fault and nouveau_range_done.",
    },
    interval: pass(
      "core.md 1.3",
      "Exhausted at bound 2 (15,533 executions; the scenario's interval exploration): the two ranges share " +
        "one exclusion period; read_begin of a fresh per-fault " +
        "notifier sleeps until both ended, read_retry catches the callback that ran since.",
    ),
  },
  "successive-migrations-and-munmap-race-populate": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1; V1; 04ec32fbc2b2",
      note:
        "V1's shape, with a second migration: a migration of page 0 (no mmap_sem) runs start to end between " +
        "hmm_range_fault and nouveau_range_done while the worker holds mmap_sem for read; its sync callback " +
        "PFNCLRs nothing mapped yet, notifiers drops to 0, the range is valid again and PFNMAP installs the pfn " +
        "the migration frees (no page reference). The munmap of page 1 cannot do this (its down_write waits for " +
        "the worker's mmap_sem, and its PFNCLR clears what was mapped).",
    },
    interval: pass(
      "20fef4ef84bf; core.md 1.3, 1.6, 1.8",
      "Exhausted at bound 1: the per-fault notifier covers the window; inserted while a period is open it gets " +
        "the odd seq and read_begin sleeps until the period ends (the munmap's included, when it spans both " +
        "migrations); a callback after read_begin set_seqs under svmm->mutex, so read_retry is true whatever " +
        "number of periods passed, or it waits for the PFNMAP and the hlist PFNCLR clears it; after the " +
        "munmap the window is clipped to page 0's VMA, or hmm_range_fault fails on page 1 and the fault is " +
        "cancelled.",
    ),
  },
  "one-page-buffer-neighbour-invalidations": {
    legacy: {
      verdict: "populate-failed",
      ref: "mm/hmm.c hmm_invalidate_range_start() @5.4; nouveau_svm.c nouveau_svm_fault() @5.4",
      note:
        "Flagged (not in the reference): the liveness oracle. The migration of page 1 is the range " +
        "[0x101000, 0x102000); 5.4's hmm_invalidate_range_start skips a range only if `nrange->end < " +
        "range->start || nrange->start >= range->end`, and end is exclusive, so the fault's range " +
        "[0x102000, 0x103000), which starts exactly at that end, is marked invalid (an over-invalidation of the " +
        "page after, allowed in itself: core.md 6.2 item 11). hmm_range_fault then returns -EBUSY, and 5.4's " +
        "nouveau_svm_fault does not retry a nouveau_range_fault error (only a false nouveau_range_done goes " +
        "back to again): it cancels the GPU fault on a page nothing invalidated.",
    },
    interval: pass(
      "20fef4ef84bf; core.md 6.6",
      "Exhausted at bound 2: the interval tree is inclusive ([start, end - 1]), so the neighbours' ranges do " +
        "not hit the per-fault notifier; an -EBUSY would be retried until the 1000 ms deadline anyway.",
    ),
  },
  "oom-reaper-sibling-blockable-zap": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1 (madvise); 04ec32fbc2b2",
      note:
        "Without the non-blockable start the sync callback PFNCLRs, but madvise(DONTNEED) holds mmap_sem only " +
        "for read, as the fault worker does, so its whole bracket fits between hmm_range_fault and " +
        "nouveau_range_done: O1, the zapped pages freed under the PFNMAP. (oom-reaper-nonblocking passes in " +
        "5.4 only because the callback refuses and nothing is zapped.)",
    },
    interval: pass(
      "20fef4ef84bf; c625c274ee00",
      "Without the non-blockable start the hlist callback does not refuse, so the count the nonblocking " +
        "scenario leaves raised (its finding) is not reached; the itree callback's set_seq makes read_retry " +
        "true and the hlist PFNCLR clears what was mapped.",
    ),
  },
  "exit-sibling-munmap-all": {
    legacy: pass(
      "V2",
      "Without the exit (and its release that unhashes hmm) the munmap's UNMAP reaches the sync callback, " +
        "which PFNCLRs: the O8 of exit-during-populate is not reached, and V2's reasoning holds.",
    ),
    interval: pass(
      "V2",
      "Without the exit the svmm's hlist notifier is still hashed and PFNCLRs the unmapped window: " +
        "exit-during-populate's finding (no release op) is the only thing that fails there.",
    ),
  },
};

/** The generic conformance scenarios, PFNMAP's allocation modelled as plain memory (see above). */
export const conformanceScenarios: Scenario[] = conformance(CONFORMANCE_EXPECTED).map((c) => ({
  ...c,
  async run(s: ScenarioContext) {
    setPfnmapAllocation(s.k, "plain");
    await c.run(s);
  },
}));

export const scenarios: Scenario[] = [...referenceScenarios, ...driverScenarios, ...conformanceScenarios];
