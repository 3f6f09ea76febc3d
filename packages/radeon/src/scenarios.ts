/**
 * The radeon scenario table: the reference rows (gpu-drivers.md 3.5: R1-R6 and R8; the table
 * has no R7) and the generic conformance scenarios, each with the verdict expected per variant
 * and the reasoning where the reference does not settle it.
 *
 * The GFP_KERNEL allocations radeon makes under rmn->lock (O5, 5.4) and under a BO's
 * reservation (O6, both) are modelled as plain memory in every scenario but R8 (knobs.ts): as
 * GFP_KERNEL allocations they make lockdep report rmn->lock / reservation -> fs_reclaim ->
 * invalidate_range_start -> rmn->lock / reservation in any exploration that binds a BO and
 * invalidates a bound one, before the hazard a scenario is about can be reached. R8 models the
 * allocation as a direct reclaim; a focused test checks the default reports O5 and O6.
 */
import {
  BASE,
  both,
  conformance,
  type Expectation,
  type ExplorationSpec,
  exitTask,
  madviseDontneed,
  munmap,
  mustRegister as mustRegisterBuffer,
  oomReapTaskMm,
  PAGE_SIZE,
  pageAddr,
  type Scenario,
  type ScenarioContext,
} from "@mnlab/core";
import { isRadeonBuffer, type RadeonBuffer, radeonSubmit } from "./common/model.ts";
import { setAllocationModel } from "./knobs.ts";

const P = PAGE_SIZE;

/** core's mustRegister, narrowed to radeon's buffer. */
async function mustRegister(s: ScenarioContext, start: number, len: number): Promise<RadeonBuffer> {
  const b = await mustRegisterBuffer(s, start, len);
  if (!isRadeonBuffer(b))
    return s.ex.fail("exception", `register [${start.toString(16)}, +${len}) returned ${String(b)}`);
  return b;
}

async function mustPopulate(s: ScenarioContext, b: RadeonBuffer): Promise<void> {
  const r = await s.ctx.populate(b, b.start, b.end, true);
  if (r !== 0)
    s.ex.fail("exception", `populate [${b.start.toString(16)}, ${b.end.toString(16)}) returned ${r}`);
}

const exhaustive = (preemptionBound: number, executions = 20_000): ExplorationSpec => ({
  strategy: "exhaustive",
  preemptionBound,
  executions,
});

export const R1: Scenario = {
  name: "R1-cs-bind-during-madvise-dontneed",
  description:
    "A userptr BO over pages 0-1 is registered but not bound. A CS binds it (radeon_cs_parser_relocs, " +
    "mmap_sem read, reserve, ttm_bo_validate to GTT: get_user_pages takes references on the pages and the " +
    "GART maps them) and reads page 0, while madvise(MADV_DONTNEED) of the same pages, also under mmap_sem " +
    "read, is between invalidate_range_start and the PTE zap. The callback (5.4: under rmn->lock, per BO of " +
    "the node; 5.5: the BO's own notifier) finds the BO unbound and returns; GUP then pins the old pages, the " +
    "zap takes them out of the process, and the GART keeps them (O2).",
  async run(s) {
    setAllocationModel(s.k, "plain");
    const buf = await mustRegister(s, BASE, 2 * P);
    await both(
      s,
      [
        "cs",
        async () => {
          await s.ctx.populate(buf, BASE, BASE + 2 * P, true);
          await s.ctx.access(buf, pageAddr(0), false);
        },
      ],
      ["madvise", async () => void (await madviseDontneed(s.mm, BASE, 2 * P))],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: { verdict: "stale-access", ref: "R1 (O2); 3506ff69c3ec commit message" },
    interval: {
      verdict: "stale-access",
      ref: "R1 (O2); 3506ff69c3ec FIXME",
      note: "Present in NEW by the commit's own account: GUP runs without read_begin/read_retry.",
    },
  },
  exploration: exhaustive(2),
};

export const R2: Scenario = {
  name: "R2-munmap-during-gpu-job",
  description:
    "A bound userptr BO over pages 0-3; a CS submits a job that reads page 3 through the GART (the " +
    "job runs on its own, nobody waits for it) while the process munmaps the whole BO. munmap's mmap_sem " +
    "(write) excludes CS validation; its callback reserves the BO, waits for the job's fence, then unbinds " +
    "and unpins, before the PTEs are zapped and the pages freed.",
  async run(s) {
    setAllocationModel(s.k, "plain");
    const buf = await mustRegister(s, BASE, 4 * P);
    await mustPopulate(s, buf);
    await both(
      s,
      ["cs", async () => void (await radeonSubmit([buf], [{ addr: pageAddr(3), write: false }]))],
      ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: { verdict: "pass", ref: "R2" },
    interval: { verdict: "pass", ref: "R2" },
  },
  exploration: exhaustive(2),
};

/** R3/R4: BO A = pages [0, 4), BO B = pages [2, 6), both bound. */
async function overlappingPair(s: ScenarioContext): Promise<[RadeonBuffer, RadeonBuffer]> {
  const a = await mustRegister(s, BASE, 4 * P);
  const b = await mustRegister(s, pageAddr(2), 4 * P);
  await mustPopulate(s, a);
  await mustPopulate(s, b);
  return [a, b];
}

export const R3: Scenario = {
  name: "R3-overlapping-bos-invalidate-tail",
  description:
    "BO A over pages 0-3 and BO B over pages 2-5, both bound; madvise(DONTNEED) of page 5 while a CS reads " +
    "A's page 1. 5.4 merged A and B into one node [0, 6p) at registration and its callback walks every BO of " +
    "the node without a per-BO overlap check: A is reserved, waited for and unbound too, and the CS binds it " +
    "again (O3). 5.5 calls only B's notifier. No mapping of page 5 survives either way.",
  pages: 6,
  async run(s) {
    setAllocationModel(s.k, "plain");
    const [a, b] = await overlappingPair(s);
    await both(
      s,
      ["cs", async () => void (await s.ctx.access(a, pageAddr(1), false))],
      ["madvise", async () => void (await madviseDontneed(s.mm, pageAddr(5), P))],
    );
    await s.ctx.unregister(a);
    await s.ctx.unregister(b);
  },
  expected: {
    legacy: {
      verdict: "pass",
      ref: "R3 (O3)",
      note: "Over-invalidation is a cost, not an oracle violation: the metrics test counts A's needless unbind.",
    },
    interval: { verdict: "pass", ref: "R3" },
  },
  exploration: exhaustive(2),
};

export const R4: Scenario = {
  name: "R4-unregister-then-invalidate-stale-node",
  description:
    "BO A over pages 0-3 and BO B over pages 2-5, both bound; A is freed (radeon_mn_unregister), then " +
    "madvise(DONTNEED) of page 0 runs while a CS reads B's page 3. 5.4 unlinks A from the merged node but " +
    "never shrinks it: the node still covers [0, 6p), so B is reserved, waited for and unbound for an " +
    "invalidation of memory it does not use. 5.5 has no notifier over page 0 any more: no callback.",
  pages: 6,
  async run(s) {
    setAllocationModel(s.k, "plain");
    const [a, b] = await overlappingPair(s);
    await s.ctx.unregister(a);
    await both(
      s,
      ["cs", async () => void (await s.ctx.access(b, pageAddr(3), false))],
      ["madvise", async () => void (await madviseDontneed(s.mm, BASE, P))],
    );
    await s.ctx.unregister(b);
  },
  expected: {
    legacy: {
      verdict: "pass",
      ref: "R4 (O3)",
      note: "B's needless unbind is a cost, not a violation: counted by the metrics test.",
    },
    interval: { verdict: "pass", ref: "R4" },
  },
  exploration: exhaustive(2),
};

export const R5: Scenario = {
  name: "R5-exit-with-bound-bo-job-in-flight",
  description:
    "A bound userptr BO over pages 0-3 and a job in flight that reads pages 0 and 3; the process exits " +
    "(exit_mmap: __mmu_notifier_release, then the unmap of everything). 5.4's radeon_mn_release invalidates " +
    "with flags = 0, i.e. non-blockable, and bails with -EAGAIN at the first node; the hlist entry is then " +
    "unhashed, so the final unmap reaches radeon no more: the GART keeps the pinned pages the process no " +
    "longer has, and the job reads them (O4). 5.5's release pass calls the BO's notifier, blocking: it waits " +
    "for the job's fence and unbinds.",
  async run(s) {
    setAllocationModel(s.k, "plain");
    const buf = await mustRegister(s, BASE, 4 * P);
    await mustPopulate(s, buf);
    await both(
      s,
      [
        "cs",
        async () =>
          void (await radeonSubmit(
            [buf],
            [
              { addr: pageAddr(0), write: false },
              { addr: pageAddr(3), write: false },
            ],
          )),
      ],
      ["exit", async () => await exitTask(s.mm)],
    );
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: {
      verdict: "stale-access",
      ref: "R5 (O4, reference inference)",
      note:
        "The reference says the pages stay pinned (no UAF) and nothing is waited for or unbound. The oracle " +
        "calls that stale-access: once exit_mmap has zapped the process's PTEs and the mm is idle, the GART " +
        "still maps those pages (or the in-flight job reads one), which no longer back any address.",
    },
    interval: { verdict: "pass", ref: "R5; 3506ff69c3ec" },
  },
  exploration: exhaustive(2),
};

/** Where R6 puts its second VMA (away from the first), and its size. */
export const R6_VMA2 = { start: BASE + 16 * P, pages: 2 } as const;

/** Counters R6 records after the reaper ran. */
export const R6_COUNTERS = {
  /** The reaper zapped the VMA under the bound BO. */
  boundReaped: "r6.bound_vma_reaped",
  /** The reaper zapped the VMA under the registered but unbound BO. */
  unboundReaped: "r6.unbound_vma_reaped",
} as const;

export const R6: Scenario = {
  name: "R6-oom-reaper-over-bound-and-unbound-bos",
  description:
    "Two VMAs: BO A bound over the first, BO B registered but never bound over the second. The OOM reaper " +
    "(mmu_notifier_invalidate_range_start_nonblock per VMA) runs while a CS reads A. 5.4's callback trylocks " +
    "rmn->lock and returns -EAGAIN as soon as any node overlaps: neither VMA is reaped. 5.5's radeon_mn_invalidate " +
    "returns false only for a bound BO: A's VMA is skipped, B's is reaped.",
  async run(s) {
    setAllocationModel(s.k, "plain");
    // Setup, before any thread runs: a second private anonymous VMA, touched.
    s.mm.addVma(R6_VMA2.start, R6_VMA2.start + R6_VMA2.pages * P, { read: true, write: true, shared: false });
    for (let i = 0; i < R6_VMA2.pages; i++) {
      const page = s.k.pages.allocPage(100 + i);
      page.mapcount = 1;
      s.mm.pt.set(R6_VMA2.start + i * P, page, true);
    }
    const a = await mustRegister(s, BASE, 2 * P);
    const b = await mustRegister(s, R6_VMA2.start, R6_VMA2.pages * P);
    await mustPopulate(s, a);
    await both(
      s,
      ["oom_reaper", async () => void (await oomReapTaskMm(s.mm))],
      ["cs", async () => void (await s.ctx.access(a, pageAddr(0), false))],
    );
    s.ex.count(R6_COUNTERS.boundReaped, s.mm.pt.get(BASE) === undefined ? 1 : 0);
    s.ex.count(R6_COUNTERS.unboundReaped, s.mm.pt.get(R6_VMA2.start) === undefined ? 1 : 0);
    await s.ctx.unregister(a);
    await s.ctx.unregister(b);
  },
  expected: {
    legacy: {
      verdict: "pass",
      ref: "R6",
      note: "Nothing is reaped (a liveness cost for the OOM victim); the counters are checked by the metrics test.",
    },
    interval: { verdict: "pass", ref: "R6" },
  },
  exploration: exhaustive(2),
};

const R8_NOTE =
  "Explored with lockdep off, so that the hang is reported as the hang (the reference's 'deadlock on the " +
  "reservation'): the CS holds A's reservation (ttm_eu_reserve_buffers) while B's ttm_tt_populate allocates; " +
  "direct reclaim unmaps A's page 0, the invalidation reaches A's callback, A is bound, and radeon_bo_reserve " +
  "(a plain ww_mutex_lock, no ticket) waits for the reservation its own thread holds. With lockdep on the " +
  "same execution reports potential-deadlock first (reservation -> fs_reclaim -> reservation; tested).";

export const R8: Scenario = {
  name: "R8-reclaim-during-ttm-populate-holding-reservation",
  description:
    "BO A over pages 0-1 is bound, BO B over pages 2-3 is not. One CS references both: it reserves A and B, " +
    "validates A (already in GTT) and then B, whose ttm_tt_populate allocates with GFP_KERNEL and enters " +
    "direct reclaim, which unmaps A's page 0 (try_to_unmap_one: MMU_NOTIFY_CLEAR). radeon's callback — 5.4's " +
    "under rmn->lock, 5.5's on A's own notifier — reserves A (O6).",
  async run(s) {
    setAllocationModel(s.k, "plain");
    const a = await mustRegister(s, BASE, 2 * P);
    const b = await mustRegister(s, pageAddr(2), 2 * P);
    await mustPopulate(s, a);
    setAllocationModel(s.k, { directReclaim: pageAddr(0) });
    await radeonSubmit([a, b], []);
    await s.ctx.unregister(a);
    await s.ctx.unregister(b);
  },
  expected: {
    legacy: { verdict: "deadlock", ref: "R8 (O6, reference inference)", note: R8_NOTE },
    interval: { verdict: "deadlock", ref: "R8 (O6, reference inference)", note: R8_NOTE },
  },
  exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 10, lockdep: false },
};

/** Reference rows. */
export const referenceScenarios: Scenario[] = [R1, R2, R3, R4, R5, R6, R8];

// ---------------------------------------------------------------- conformance

const pass = (ref: string, note?: string): Expectation =>
  note === undefined ? { verdict: "pass", ref } : { verdict: "pass", ref, note };

const O2_MIGRATION_NOTE =
  "Not a reference row; reasoned. The migration takes no mmap_sem, so it can run while a CS is inside " +
  "ttm_bo_validate: get_user_pages has taken references on the pages but the TT is not yet tt_bound, so the " +
  "callback (5.4 per BO of the node, 5.5 the BO's notifier) skips the BO — the O2 window of the 3506ff69c3ec " +
  "FIXME, present in OLD and NEW — and the GART is programmed with the pages GUP returned. For a migration " +
  "that window is harmless: 5.4/5.5 migrate_page_move_mapping() returns -EAGAIN for an anonymous page whose " +
  "page_count exceeds the isolation reference (GUP's references do), migrate_pages gives up after its " +
  "passes and remove_migration_ptes(page, page) maps the same page back; while the migration entry is in " +
  "place the CPU cannot touch the page and the GART reads the data the CPU will see. A migration that runs " +
  "before GUP moves the page first and GUP (waiting on the migration entry) gets the new one. So pass in " +
  "both variants; O2 itself stays open for invalidations that do change the page (R1's MADV_DONTNEED, " +
  "munmap). Verdict moved from stale-access when core modelled the refusal (core: migrate.ts, device-mmu.ts; " +
  "before, core completed the migration of a referenced page and the GART kept the old one).";

const UNREGISTER_NOTE =
  "Not a reference row; reasoned, and found in both variants (flagged). radeon_gem_object_free() calls " +
  "radeon_mn_unregister() first and only then drops the BO, whose unbind (unpin) TTM runs in " +
  "radeon_ttm_bo_destroy — or later, from the delayed-destroy worker, while a fence is pending. 3506ff69c3ec " +
  "does not touch radeon_gem.c. A munmap that runs between the two no longer reaches the BO: it zaps and frees " +
  "the PTEs while the GART still maps the pages. They are referenced (GUP), so no use-after-free; no CS can " +
  "reference the BO any more, but the GART is stale until the destroy, and a job still in flight reads pages " +
  "the process no longer has.";

/**
 * Per conformance scenario, legacy and interval. `ref` names the reference row or commit that
 * settles it; a `note` records the reasoning where the reference does not.
 */
const CONFORMANCE_EXPECTED: Record<string, Record<string, Expectation>> = {
  "populate-vs-munmap": {
    legacy: pass(
      "R2",
      "munmap detaches the VMAs under mmap_sem (write), which excludes CS validation; a CS after the " +
        "downgrade fails pin_userptr's ANONONLY find_vma check (the VMA no longer covers the BO) and maps " +
        "nothing; a BO bound before is reserved, fence-waited and unbound by the callback before the zap.",
    ),
    interval: pass("R2", "As in 5.4: mmap_sem and the ANONONLY check, not the notifier, close the window."),
  },
  "register-during-invalidation": {
    legacy: {
      verdict: "pass",
      ref: "O2 window; migrate_page_move_mapping @5.4 (reasoned)",
      note: O2_MIGRATION_NOTE,
    },
    interval: {
      verdict: "pass",
      ref: "O2 window (3506ff69c3ec FIXME); migrate_page_move_mapping @5.5 (reasoned)",
      note: O2_MIGRATION_NOTE,
    },
  },
  "invalidate-between-lookup-and-program": {
    legacy: {
      verdict: "pass",
      ref: "O2 window; migrate_page_move_mapping @5.4 (reasoned)",
      note: O2_MIGRATION_NOTE,
    },
    interval: {
      verdict: "pass",
      ref: "O2 window (3506ff69c3ec FIXME); migrate_page_move_mapping @5.5 (reasoned)",
      note: O2_MIGRATION_NOTE,
    },
  },
  "unregister-during-invalidation": {
    legacy: { verdict: "stale-access", ref: "radeon_gem_object_free @5.4 (reasoned)", note: UNREGISTER_NOTE },
    interval: {
      verdict: "stale-access",
      ref: "radeon_gem_object_free @5.5 (reasoned)",
      note: UNREGISTER_NOTE,
      finding: {
        explanation:
          "After 3506ff69c3ec radeon_mn_unregister removes the BO's interval notifier before the BO is unbound: " +
          "radeon_gem_object_free calls it first and only then drops the BO, which TTM unbinds (unpins) in " +
          "radeon_ttm_bo_destroy, or later from the delayed-destroy worker while a fence is pending. An " +
          "invalidation in between calls nobody; the PTEs go while the GART still maps the pages. They hold " +
          "GUP references (no use-after-free); no new CS can name the BO, but a job in flight reads pages the " +
          "process no longer has. The 5.4 order is the same (radeon_gem.c is not touched by the patch).",
        lines: [
          "drivers/gpu/drm/radeon/radeon_gem.c: radeon_gem_object_free() @5.5 (radeon_mn_unregister, then radeon_bo_unref)",
          "drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_unregister() @5.5 (mmu_interval_notifier_remove, no unbind)",
          "drivers/gpu/drm/ttm/ttm_bo.c: ttm_bo_release() @5.5 (a busy BO is destroyed later, by the delayed-destroy work)",
        ],
        later:
          "Not covered by the reference's findings-status; no later change to these lines is recorded there.",
      },
    },
  },
  "oom-reaper-nonblocking": {
    legacy: pass(
      "R6",
      "Any node overlapping the VMA makes the non-blockable callback return -EAGAIN (after a successful " +
        "trylock) and the reaper skips the VMA: nothing is reaped while the BO is registered.",
    ),
    interval: {
      verdict: "stale-access",
      ref: "R6 + O2 (3506ff69c3ec FIXME)",
      note:
        "Found; the reference lists R6's behaviour (false only for a bound BO, unbound -> true) and O2 " +
        "separately, not their combination. The reaper holds mmap_sem for read only (down_read_trylock), so " +
        "a CS can be validating at the same time: get_user_pages has referenced the pages but the TT is " +
        "not tt_bound yet, radeon_mn_invalidate returns true ('not bound'), the reaper zaps the VMA, and the " +
        "CS then programs the GART with the reaped pages. 5.4 never reaps while a node exists, so it cannot " +
        "lose this race; 5.5 made the OOM reaper effective for unbound BOs and with it opened O2 to it.",
      finding: {
        explanation:
          "radeon_mn_invalidate returns true at once for a BO whose TT is not tt_bound, without taking the " +
          "reservation, so on the OOM reaper's non-blockable range it lets the zap go ahead. A CS can be inside " +
          "ttm_bo_validate at that moment — the reaper holds mmap_sem only for read, like the CS — having taken " +
          "page references with get_user_pages but not yet set tt_bound; nothing makes it look again (no " +
          "read_begin/read_retry around GUP: the FIXME), so it programs the GART with the pages the reaper " +
          "has just taken out of the process. 5.4 refused every non-blockable range while a node existed.",
        lines: [
          "drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_invalidate() @5.5 (`if (!bo->tbo.ttm || bo->tbo.ttm->state != tt_bound) return true;` before the blockable test)",
          "drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_register() @5.5 (read_begin once, value discarded: FIXME)",
          "drivers/gpu/drm/radeon/radeon_ttm.c: radeon_ttm_tt_pin_userptr() @5.5 (get_user_pages with no read_retry)",
          "mm/oom_kill.c: __oom_reap_task_mm() @5.5 (down_read_trylock(mmap_sem); zap on a successful nonblock start)",
        ],
        later:
          "Not covered by the reference's findings-status; no later change to these lines is recorded there.",
      },
    },
  },
  "exit-during-populate": {
    legacy: {
      verdict: "stale-access",
      ref: "R5 (O4, reference inference)",
      note:
        "radeon_mn_release is non-blockable and bails at the first node; the hlist entry is unhashed and " +
        "exit_mmap's unmap reaches radeon no more: the bound BO keeps GART mappings of pages the process no " +
        "longer maps (pinned, so no use-after-free).",
    },
    interval: pass(
      "R5; 3506ff69c3ec",
      "The blocking release pass reserves, fence-waits and unbinds the BO; the CS is an ioctl of a task of the " +
        "process, so it cannot run while exit_mmap does (common/task.ts).",
    ),
  },
  "nested-invalidation-during-register": {
    legacy: pass(
      "R2 (reasoned)",
      "mmu_notifier_get takes mmap_sem for write, so registration waits for the munmap; a CS under mmap_sem " +
        "(read) after the downgrade finds the VMA no longer covering the BO (ANONONLY check) and maps nothing.",
    ),
    interval: pass(
      "core.md 1.6 (reasoned)",
      "A notifier inserted during the UNMAP bracket gets the odd seq and its discarded read_begin sleeps " +
        "until the outer end; the CS then finds the VMA shortened, as in 5.4.",
    ),
  },
  "mprotect-readonly-then-device-write": {
    legacy: pass(
      "3.1 (reasoned)",
      "The callback ignores the event: PROTECTION_VMA unbinds the BO like any other; mprotect's mmap_sem " +
        "(write) excludes CS, and re-binding for write fails in GUP (read-only VMA), so the GART maps nothing.",
    ),
    interval: pass("3.2 (reasoned)", "As in 5.4: the callback unbinds whatever the event."),
  },
  "fork-cow-then-device-write": {
    legacy: {
      verdict: "potential-deadlock",
      ref: "O6 (reference inference)",
      note:
        "Reasoned, and the lockdep splat of O6 through a path the reference does not spell out: fork's " +
        "PROTECTION_PAGE callback reserves the bound BO inside invalidate_range_start (under rmn->lock); the " +
        "next CS re-binds the BO for write while holding its reservation, and get_user_pages(FOLL_WRITE) " +
        "breaks COW (wp_page_copy), which opens an invalidation — the invalidate_range_start lockdep map " +
        "(23b68395c7c7, 5.4) is taken while holding a reservation. No hang in this schedule (the BO being " +
        "bound is skipped as unbound), but two BOs over one page would deadlock.",
    },
    interval: {
      verdict: "potential-deadlock",
      ref: "O6 (reference inference)",
      note: "As in 5.4 (the reservation is taken in the callback without rmn->lock in between).",
    },
  },
  "two-registrations-one-invalidation": {
    legacy: pass(
      "3.1 (reasoned)",
      "[0, 2p) and [2p, 4p) do not overlap as closed intervals, so they stay two nodes; one callback walks both.",
    ),
    interval: pass("3.2 (reasoned)", "The core calls both BOs' notifiers."),
  },
  "partial-munmap": {
    legacy: pass(
      "R2 (reasoned)",
      "The hole is unbound with the rest of the BO; the re-validation fails the ANONONLY check (the VMA " +
        "under the BO's start no longer covers it) and maps nothing, so the neighbours are not usable " +
        "either until the BO is recreated.",
    ),
    interval: pass("R2 (reasoned)", "As in 5.4."),
  },
  "migrate-then-munmap-at-buffer-edges": {
    legacy: pass(
      "R2; O2 window (reasoned)",
      "The migration of the BO's first page lands in the O2 window harmlessly (see register-during-" +
        "invalidation: migrate_page_move_mapping refuses the GUP-referenced page and maps it back); the munmap " +
        "straddling the BO's end detaches under mmap_sem (write), which excludes the CS, a CS after it fails " +
        "the ANONONLY check, and a BO bound before is unbound by the callback, whose node spans the BO exactly.",
    ),
    interval: pass("R2; O2 window (3506ff69c3ec FIXME) (reasoned)", "As in 5.4; exhausted at bound 2."),
  },
  "overlapping-invalidations-race-populate": {
    legacy: pass("R2; O2 window (reasoned)", "As migrate-then-munmap: the overlap changes neither argument."),
    interval: pass(
      "R2; O2 window (reasoned)",
      "As in 5.4; exhausted at bound 2 (9,329 executions; the scenario's interval exploration, the 5.4 row at bound 1).",
    ),
  },
  "successive-migrations-and-munmap-race-populate": {
    legacy: pass(
      "R2; O2 window (reasoned)",
      "Flagged (not in the reference): the migration rows rest on migrate_page_move_mapping refusing a pinned " +
        "page (-EAGAIN, remove_migration_ptes maps it back), as register-during-invalidation does. Each migration's " +
        "blockable CLEAR callback reserves, fence-waits and unbinds the bound BO (the node is the BO's own " +
        "range), which drops the pins, so the migration moves the page and the next CS binds the new one; a CS " +
        "whose GUP falls in a migration's O2 window pins the old page, the move is refused and the binding " +
        "still matches the CPU; the second migration repeats either case. The munmap of page 1 detaches under " +
        "mmap_sem (write), which excludes the bind; a CS after it fails the ANONONLY check (page 0's VMA no " +
        "longer covers the BO) and maps nothing, and its callback unbinds a BO bound before. Exhausted at bound 1.",
    ),
    interval: pass(
      "R2; O2 window (3506ff69c3ec FIXME) (reasoned)",
      "As in 5.4 (radeon_mn_invalidate unbinds a bound BO for each of the three ranges; no set_seq, no retry: " +
        "the pins and the reservation carry it); exhausted at bound 2 in 18,056 executions " +
        "(INTERVAL_EXPLORATION_BY_SCENARIO; the 5.4 row at bound 1).",
    ),
  },
  "one-page-buffer-neighbour-invalidations": {
    legacy: pass(
      "R3/R4 (reasoned)",
      "The node is the BO's own page (nothing to merge with): the neighbours' ranges miss it, and the CS binds " +
        "the page (liveness); the munmap of page 3 leaves the VMA under the BO covering it.",
    ),
    interval: pass("R3 (reasoned)", "The BO's notifier covers its one page; the neighbours miss it."),
  },
  "oom-reaper-sibling-blockable-zap": {
    legacy: {
      verdict: "stale-access",
      ref: "R1 (O2)",
      note:
        "Without the non-blockable start this is R1: madvise(DONTNEED) holds mmap_sem for read, as the CS does; " +
        "its CLEAR bracket runs while the CS is between get_user_pages and tt_bound, the callback skips the " +
        "unbound BO, the zap takes the pages, and the CS binds them: a stale GART mapping (pinned pages, no " +
        "use-after-free). oom-reaper-nonblocking passes in 5.4 only because the callback refuses every " +
        "non-blockable range while a node exists.",
    },
    interval: {
      verdict: "stale-access",
      ref: "R1 (O2, 'Same'); 3506ff69c3ec FIXME",
      note:
        "R1 in 5.5, as the reference expects ('Same'): the conversion kept the FIXME (no read_begin/read_retry " +
        "around GUP). The same window is what oom-reaper-nonblocking's 5.5 finding reaches through the reaper.",
    },
  },
  "exit-sibling-munmap-all": {
    legacy: pass(
      "R2",
      "Without the exit (whose non-blockable release bails, R5) the munmap's blockable callback reserves, " +
        "fence-waits and unbinds; mmap_sem (write) excludes the CS: exit-during-populate's stale-access is R5 alone.",
    ),
    interval: pass("R2", "As in 5.4."),
  },
};

/**
 * The interval variant's own exploration where the scenario's stops short of bound 2: the
 * three-invalidation shape, at bound 1 in the suite, is exhausted at bound 2 in 18,056
 * executions (measured).
 */
const INTERVAL_EXPLORATION_BY_SCENARIO: Record<string, Record<string, ExplorationSpec>> = {
  "successive-migrations-and-munmap-race-populate": {
    interval: { strategy: "exhaustive", preemptionBound: 2, executions: 25_000 },
  },
};

/** The generic conformance scenarios, the allocations modelled as plain memory (see above). */
export const conformanceScenarios: Scenario[] = conformance(
  CONFORMANCE_EXPECTED,
  {},
  INTERVAL_EXPLORATION_BY_SCENARIO,
).map((c) => ({
  ...c,
  async run(s: ScenarioContext) {
    setAllocationModel(s.k, "plain");
    await c.run(s);
  },
}));

export const scenarios: Scenario[] = [...referenceScenarios, ...conformanceScenarios];
