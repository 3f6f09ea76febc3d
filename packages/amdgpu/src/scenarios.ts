/**
 * The amdgpu scenario table: the reference rows (gpu-drivers.md 1.9: A1-A4), Christian König's
 * v2-review race with and without mmap_sem on the invalidating side (CK1, CK2), the KFD path
 * (K1-K3), O5 in both variants (O5a, O5b), and the generic conformance scenarios, each with the
 * verdict expected per variant and the reasoning where the reference does not settle it.
 *
 * Every scenario ends with the process's exit (exit_mm, then the harness closes the file, in
 * the kernel's order: exit_mm before exit_files) unless its body already exited: in 5.4 the
 * amdgpu_mn and its hmm notifier live until the mm's release, not until the file's close, and a
 * run that ended with the mm alive would leave them registered.
 */
import {
  BASE,
  type BufferHandle,
  both,
  conformance,
  type DmaFence,
  EAGAIN,
  type Expectation,
  type ExplorationSpec,
  exitTask,
  migratePage,
  munmap,
  mustRegister,
  PAGE_SIZE,
  pageAddr,
  reclaimPage,
  type Scenario,
  type ScenarioContext,
} from "@mnlab/core";
import { type AmdgpuBo, amdgpuBoReserve, amdgpuBoUnreserve, ESRCH } from "./common/bo.ts";
import { type AmdgpuContext, amdgpuContextOf, type KfdBuffer } from "./common/context.ts";

const P = PAGE_SIZE;

/** Counters the scenarios record for the metric tests and the report. */
export const COUNTERS = {
  /** A CS came back -EAGAIN (before drmIoctl restarted it). */
  csRestart: "amdgpu.cs_restart",
  /** amdgpu_cs_ioctl calls. */
  csIoctl: "amdgpu.cs_ioctl",
  /** Ticks spent in dma_resv_wait_timeout_rcu (callbacks and BO release). */
  fenceWaitTicks: "amdgpu.fence_wait_ticks",
  /** BOs an invalidation looked at (5.4: every BO of every node walked; 5.5: one per callback). */
  boChecked: "amdgpu.bo_checked",
  /** BOs whose fences an invalidation waited for. */
  boWait: "amdgpu.bo_wait",
  /** 5.4: interval-tree nodes an invalidation walked. */
  nodeWalked: "amdgpu.node_walked",
  /** A4: the fd holder's get-pages after the exit came back -ESRCH. */
  childEsrch: "amdgpu.a4_child_esrch",
} as const;

function amd(s: ScenarioContext): AmdgpuContext {
  return amdgpuContextOf(s.k);
}

async function mustRegisterKfd(s: ScenarioContext, start: number, len: number): Promise<KfdBuffer> {
  const b = await amd(s).registerKfd(start, len);
  if (typeof b === "number")
    return s.ex.fail("exception", `KFD alloc [${start.toString(16)}, +${len}) returned ${b}`);
  return b;
}

async function mustPopulate(s: ScenarioContext, b: BufferHandle): Promise<void> {
  const r = await s.ctx.populate(b, b.start, b.end, true);
  if (r !== 0)
    s.ex.fail(
      "exception",
      `setup: VALIDATE of [${b.start.toString(16)}, ${b.end.toString(16)}) returned ${r}`,
    );
}

async function mustSubmit(s: ScenarioContext, b: BufferHandle, addr: number): Promise<DmaFence> {
  const f = await amd(s).submitCs(b, addr, false);
  if (typeof f === "number") return s.ex.fail("exception", `setup: CS on ${addr.toString(16)} returned ${f}`);
  return f;
}

/**
 * The end of every scenario that did not exit already (see the file comment): the process
 * closes the file, then exits, and 5.4's amdgpu_mn_destroy work runs before the run ends.
 * Closing first keeps the tail short: with no BO left, exit's release has nothing to race.
 */
function thenExit(run: (s: ScenarioContext) => Promise<void>): (s: ScenarioContext) => Promise<void> {
  return async (s) => {
    await run(s);
    const c = amd(s);
    await c.close();
    if (!s.mm.exited) await c.exitProcess();
    await c.flushWork();
  };
}

const exhaustive = (preemptionBound: number, executions = 8_000): ExplorationSpec => ({
  strategy: "exhaustive",
  preemptionBound,
  executions,
});

const O1_REF = "A1 (O1); 04ec32fbc2b2 commit message";
const O1_MUNMAP_NOTE =
  "Flagged: the reference's O1 names invalidations that do not hold mmap_sem for write (migration, " +
  "reclaim, KSM, madvise). In amdgpu the CS does not hold mmap_sem between get_user_pages and the check " +
  "under amn->lock (amdgpu_ttm_tt_get_user_pages drops it right after hmm_range_fault), so a munmap — " +
  "down_write, detach, downgrade, start, zap, end — fits in that window as well: the end resets every " +
  "range to valid, hmm_range_valid says true, and the job reads the page munmap freed.";

// ---------------------------------------------------------------- reference rows

export const A1: Scenario = {
  name: "A1-cs-aba-migration-before-submit",
  description:
    "A validated userptr BO over pages 0-1. At t=0 a GFX CS reading page 0 gets its pages, then waits for " +
    "the BO's reservation, which the main thread holds (a GEM VA update) until t=2; at t=1 a migration of " +
    "page 0 (try_to_unmap_one: MMU_NOTIFY_CLEAR, no mmap_sem) runs start to end. 5.4: the sync callback " +
    "finds no fence to wait for, the end drops hmm->notifiers to 0 and marks every range valid again, " +
    "hmm_range_valid says true in amdgpu_cs_submit, and the job reads the old page, freed by then (O1). " +
    "5.5: the callback's set_seq makes read_retry true: -EAGAIN, drmIoctl restarts, fresh pages.",
  run: thenExit(async (s) => {
    const buf = await mustRegister(s, BASE, 2 * P);
    const bo = (buf as unknown as { bo: AmdgpuBo }).bo;
    await mustPopulate(s, buf);
    await amdgpuBoReserve(bo);
    const cs = s.ex.spawn("cs", async () => void (await s.ctx.access(buf, pageAddr(0), false)));
    const mig = s.ex.spawn("migrate", async () => {
      await s.ex.sleep(1);
      await migratePage(s.mm, pageAddr(0));
    });
    await s.ex.sleep(2);
    await amdgpuBoUnreserve(bo);
    await cs.join();
    await mig.join();
    await s.ctx.unregister(buf);
  }),
  expected: {
    legacy: { verdict: "use-after-free", ref: O1_REF },
    interval: { verdict: "pass", ref: "A1; 81fa1af31b5d" },
  },
  exploration: exhaustive(2),
};

export const A2: Scenario = {
  name: "A2-cs-submit-while-invalidation-waits-fences",
  description:
    "A job reading page 1 of a userptr BO is in flight (it runs 5 ms). At t=0 a second CS on the BO reads " +
    "its pages, then waits for the BO's reservation, which the main thread holds (a GEM VA " +
    "update) until t=2; at t=1 a migration of page 0 starts and its callback waits for the first job's " +
    "fence. So the CS enters amdgpu_cs_submit while the invalidation waits, with pages read before it " +
    "began. 5.4: the CS waits on amn->lock (write) until the reader leaves, then finds the range invalid: " +
    "-EAGAIN; 5.5: the CS waits on notifier_lock, then read_retry is true: -EAGAIN. Neither may deadlock " +
    "(the callback waits on a fence, never on the CS's reservation). The second CS is one ioctl(2), without " +
    "drmIoctl's restart, so the row is about the wait and that one submission.",
  run: thenExit(async (s) => {
    const c = amd(s);
    const buf = await mustRegister(s, BASE, 2 * P);
    const bo = (buf as unknown as { bo: AmdgpuBo }).bo;
    const f1 = await mustSubmit(s, buf, pageAddr(1));
    // The main thread is the one holding the reservation (its GEM VA update) until t=2.
    await amdgpuBoReserve(bo);
    const cs = s.ex.spawn("cs", async () => {
      const f2 = await c.csIoctlOnce(buf, pageAddr(0), false);
      if (typeof f2 !== "number") await f2.wait();
    });
    const mig = s.ex.spawn("migrate", async () => {
      await s.ex.sleep(1);
      await migratePage(s.mm, pageAddr(0));
    });
    await s.ex.sleep(2);
    await amdgpuBoUnreserve(bo);
    await cs.join();
    await mig.join();
    await f1.wait();
    await s.ctx.unregister(buf);
  }),
  expected: {
    legacy: {
      verdict: "use-after-free",
      ref: "A2; O1",
      note:
        "Flagged: the reference's A2 row gives 5.4 the order in which the CS takes amn->lock before the " +
        "migration's invalidate_range_end (-EAGAIN, no deadlock), and the model reaches that order. It also " +
        "reaches the other one: the callback's up_read hands amn->lock to the waiting CS, but the migration " +
        "may run its PTE change and its end before the CS looks at the range; the end re-validates it (O1), " +
        "the CS submits with the old page and the job reads it after the migration freed it. No deadlock " +
        "in any order.",
    },
    interval: { verdict: "pass", ref: "A2; 81fa1af31b5d" },
  },
  exploration: exhaustive(2),
};

export const A3: Scenario = {
  name: "A3-merged-nodes-never-shrink",
  description:
    "A=[0,4p) and B=[2p,6p), both validated; munmap [5p,6p); unregister A; munmap [0,p). 5.4: " +
    "register merged them into one [0,6p) node; the first munmap walks it, and amdgpu_ttm_tt_affect_userptr " +
    "limits the fence wait to B (A2 has the waits themselves); after A goes, the node keeps [0,6p) (O3) and the second munmap still walks " +
    "it and looks at B. 5.5: only B's notifier is called by the first munmap; the second calls nobody.",
  pages: 6,
  run: thenExit(async (s) => {
    const a = await mustRegister(s, BASE, 4 * P);
    const b = await mustRegister(s, pageAddr(2), 4 * P);
    await mustPopulate(s, a);
    await mustPopulate(s, b);
    await munmap(s.mm, pageAddr(5), P);
    await s.ctx.unregister(a);
    await munmap(s.mm, BASE, P);
    await s.ctx.unregister(b);
  }),
  expected: {
    legacy: {
      verdict: "pass",
      ref: "A3 (O3)",
      note: "a cost, not a safety violation: see the callbacks-per-invalidation metric",
    },
    interval: { verdict: "pass", ref: "A3; 62914a99dee5" },
  },
  exploration: exhaustive(2),
};

export const A4: Scenario = {
  name: "A4-exit-with-gfx-job-in-flight",
  description:
    "The process submits a GFX job reading page 0 of a validated BO and exits while it is in flight; a " +
    "child holds the DRM file, so the BO outlives the exit, and calls get-pages on it afterwards. 5.4: " +
    "release only schedules amdgpu_mn_destroy and __mmu_notifier_release unhooks hmm, so exit_mmap's unmap " +
    "reaches no callback and frees the pages under the running job (O4, reference inference). 5.5: the " +
    "core's release pass calls amdgpu_mn_invalidate_gfx, which waits for the job's fence before the pages " +
    "go; the child's later get-pages fails with -ESRCH (mmget_not_zero).",
  async run(s) {
    const c = amd(s);
    const buf = await mustRegister(s, BASE, 2 * P);
    await mustPopulate(s, buf);
    const f = await mustSubmit(s, buf, pageAddr(0));
    await both(s, ["exit", async () => await c.exitProcess()], ["gpu-wait", async () => await f.wait()]);
    if ((await c.childGetUserPages(buf)) === ESRCH) s.ex.count(COUNTERS.childEsrch);
    await s.ctx.unregister(buf);
  },
  expected: {
    legacy: { verdict: "use-after-free", ref: "A4 (O4, reference inference)" },
    interval: { verdict: "pass", ref: "A4; 99cb252f5e68 (mn_itree_release)" },
  },
  exploration: exhaustive(2),
};

// ---------------------------------------------------------------- Christian König's v2 question

const CK_DESCRIPTION =
  "Christian König, v2 review: what if an invalidation's start has run, then the CS's read_begin, the page " +
  "walk, the PTE update and the end? Two validated BOs, A over page 2 with a job in flight (5 ms) and B " +
  "over pages 0-1. At t=0 a migration of page 2 starts; in 5.5 A's callback takes notifier_lock and waits " +
  "for A's job under it. At t=1 an invalidation of page 0 starts: the mm seq is already odd, and B's " +
  "callback waits for notifier_lock, so B's seq is not set yet. At t=2 a CS on B reads page 0: read_begin " +
  "does not sleep, the walk sees the old PTE. Jason's answer: either B's callback gets notifier_lock " +
  "first and its set_seq makes read_retry true, or the CS does and B's callback then waits for the new " +
  "job's fence before the PTE goes. In 5.4 both callbacks hold amn->lock for read at once, and the CS's " +
  "range, registered while hmm->notifiers > 0, waits in hmm_range_wait_until_valid for every invalidation " +
  "to end (the global gate). The invalidation of page 0 is ";

function ckRun(invalidate: (s: ScenarioContext) => Promise<void>) {
  return thenExit(async (s) => {
    const b = await mustRegister(s, BASE, 2 * P);
    const a = await mustRegister(s, pageAddr(2), P);
    await mustPopulate(s, a);
    await mustPopulate(s, b);
    const fa = await mustSubmit(s, a, pageAddr(2));
    // The main thread starts each actor at its time, so that only the race itself interleaves.
    const ia = s.ex.spawn("migrate A", async () => void (await migratePage(s.mm, pageAddr(2))));
    await s.ex.sleep(1);
    const ib = s.ex.spawn("invalidate B", () => invalidate(s));
    await s.ex.sleep(1);
    const cs = s.ex.spawn("cs", async () => void (await s.ctx.access(b, pageAddr(0), false)));
    await ia.join();
    await ib.join();
    await cs.join();
    await fa.wait();
    await s.ctx.unregister(a);
    await s.ctx.unregister(b);
  });
}

const CK_PASS_54 =
  "Reasoned from the model: the CS's range registers while the two invalidations are open, so it starts " +
  "invalid and hmm_range_wait_until_valid sleeps until hmm->notifiers is 0 — after the PTE update and both " +
  "ends — and then faults the new PTE. The valid-reset ABA needs the CS's walk before the invalidation " +
  "starts (A1); the global gate closes this order, at the cost of waiting for unrelated invalidations.";

export const CK1: Scenario = {
  name: "CK1-start-then-read-begin-munmap",
  description: `${CK_DESCRIPTION}a munmap, which holds mmap_sem (for write to detach, for read after the downgrade, so the CS's hmm_range_fault runs beside it).`,
  pages: 4,
  run: ckRun(async (s) => void (await munmap(s.mm, BASE, P))),
  expected: {
    legacy: { verdict: "pass", ref: "1.3, 1.4; core.md 3.4 item 2", note: CK_PASS_54 },
    interval: { verdict: "pass", ref: "v2 review (Christian König, Jason Gunthorpe); core.md 1.8, 1.9" },
  },
  exploration: exhaustive(2),
};

export const CK2: Scenario = {
  name: "CK2-start-then-read-begin-reclaim",
  description: `${CK_DESCRIPTION}reclaim (shrink_page_list -> try_to_unmap_one under the anon_vma lock), which takes no mmap_sem at all; the CS's fault then swaps the page back in.`,
  pages: 4,
  run: ckRun(async (s) => void (await reclaimPage(s.mm, BASE))),
  expected: {
    legacy: { verdict: "pass", ref: "1.3, 1.4; core.md 3.4 item 2", note: CK_PASS_54 },
    interval: {
      verdict: "pass",
      ref: "v2 review (Christian König, Jason Gunthorpe); core.md 1.8, 1.9",
      note:
        "Exhausted at preemption bound 2 under the default bounded partial-order reduction: 9,646 " +
        "executions for 5.5, 1,355 for 5.4 (without reduction 5.5 needs 48,543): five threads race (the " +
        "two invalidations, the CS, two GPU jobs), and none of their steps is setup that could move " +
        "before the threads start.",
    },
  },
  exploration: exhaustive(2, 16_000),
};

// ---------------------------------------------------------------- KFD

/** Long enough for the restore worker (1 ms delay) to have run, with the model's zero-time work. */
const RESTORE_SETTLE_TICKS = 5;

export const K1: Scenario = {
  name: "K1-kfd-eviction-stops-queues",
  description:
    "A KFD userptr allocation over pages 0-1 is mapped and the user queues run; a migration of page 0 " +
    "races a queue dispatch reading page 0. The HSA callback evicts: mem->invalid++, evicted_bos 0 -> 1, " +
    "kgd2kfd_quiesce_mm stops the queues before the callback returns, and the restore worker (1 ms later) " +
    "re-gets the pages, re-validates, rewrites the PTEs and resumes the queues; a dispatch afterwards reads " +
    "the migrated page.",
  run: thenExit(async (s) => {
    const c = amd(s);
    const buf = await mustRegisterKfd(s, BASE, 2 * P);
    await both(
      s,
      ["migrate", async () => void (await migratePage(s.mm, pageAddr(0)))],
      ["queue", async () => void (await c.queueAccess(pageAddr(0), false))],
    );
    await s.ex.sleep(RESTORE_SETTLE_TICKS);
    await c.queueAccess(pageAddr(0), false);
    await c.freeKfd(buf);
  }),
  expected: {
    legacy: { verdict: "pass", ref: "1.3 (HSA)" },
    interval: { verdict: "pass", ref: "1.6 (amdgpu_mn_invalidate_hsa)" },
  },
  exploration: exhaustive(2),
};

export const K2: Scenario = {
  name: "K2-kfd-restore-races-new-invalidation",
  description:
    "A KFD allocation over pages 0-1 is evicted by a migration of page 0; 1 ms later the restore worker runs " +
    "while a migration of page 1 starts. update_invalid_user_pages re-gets the pages with _done unlocked and " +
    "ignored; the cmpxchg on mem->invalid and then on evicted_bos must catch the new eviction, so the queues " +
    "are resumed only on pages no invalidation has touched since they were read.",
  run: thenExit(async (s) => {
    const c = amd(s);
    const buf = await mustRegisterKfd(s, BASE, 2 * P);
    await migratePage(s.mm, pageAddr(0));
    // The restore worker runs at t=1 (AMDGPU_USERPTR_RESTORE_DELAY_MS); so does this migration.
    const mig = s.ex.spawn("migrate", async () => {
      await s.ex.sleep(1);
      await migratePage(s.mm, pageAddr(1));
    });
    await mig.join();
    await s.ex.sleep(RESTORE_SETTLE_TICKS);
    await c.queueAccess(pageAddr(1), false);
    await c.freeKfd(buf);
  }),
  expected: {
    legacy: { verdict: "pass", ref: "1.4 (restore worker)" },
    interval: {
      verdict: "pass",
      ref: "1.4, 1.6",
      note:
        "Exhausted at preemption bound 2 under bounded partial-order reduction: 5.5 at 1,573 executions, " +
        "5.4 at 4,856 (without the reduction 5,135 and 18,912, about 35 s together: the 5.4 restore " +
        "worker's get_user_pages registers an hmm_range and waits for it to be valid, every step of it " +
        "racing the migration).",
    },
  },
  exploration: exhaustive(2),
};

export const K3: Scenario = {
  name: "K3-kfd-queue-runs-on-evicted-pages",
  description:
    "Two KFD allocations, A over page 0 and B over page 1, mapped with the queues running; migrations of " +
    "page 0 and of page 1 start at once while a queue dispatch reads page 1. Only the eviction that takes " +
    "evicted_bos from 0 to 1 calls kgd2kfd_quiesce_mm; the other returns at once. In 5.4 both callbacks hold " +
    "amn->lock for read, so B's callback can return — and B's PTE change happen — while A's callback is " +
    "still stopping the queues, and the dispatch reads a page the CPU no longer maps. In 5.5 both callbacks " +
    "take notifier_lock, so B's eviction waits for A's whole callback, quiesce included.",
  run: thenExit(async (s) => {
    const c = amd(s);
    const a = await mustRegisterKfd(s, BASE, P);
    const b = await mustRegisterKfd(s, pageAddr(1), P);
    const t0 = s.ex.spawn("migrate A", async () => void (await migratePage(s.mm, pageAddr(0))));
    await both(
      s,
      ["migrate B", async () => void (await migratePage(s.mm, pageAddr(1)))],
      ["queue", async () => void (await c.queueAccess(pageAddr(1), false))],
    );
    await t0.join();
    await c.freeKfd(a);
    await c.freeKfd(b);
  }),
  expected: {
    legacy: {
      verdict: "use-after-free",
      ref: "1.3 (HSA), 1.5; finding (inference from the 5.4 code)",
      note:
        "Flagged: not in the reference. amdgpu_amdkfd_evict_userptr quiesces only on the 0 -> 1 transition " +
        "of evicted_bos and does not wait for it otherwise; amdgpu_mn_sync_pagetables_hsa takes amn->lock " +
        "for read, so two invalidations of different KFD BOs run their callbacks concurrently, and the " +
        "second returns before the first one's kgd2kfd_quiesce_mm has preempted the queues. The dispatch " +
        "then reads page 1 through a GPUVM PTE the migration has already unmapped — and, once its end " +
        "has dropped the old page, freed: the model reports the freed page (use-after-free).",
    },
    interval: {
      verdict: "pass",
      ref: "1.6 (notifier_lock around the eviction)",
      note:
        "Exhausted at preemption bound 2 under the default bounded partial-order reduction: 7,541 " +
        "executions (without reduction it does not exhaust 80,000: three threads started together, every " +
        "step of both migrations and the dispatch part of the race). 5.4's use-after-free needs one " +
        "preemption: its row is explored at bound 1 (below).",
    },
  },
  exploration: exhaustive(2, 24_000),
  // The 5.4 row fails at bound 1 (execution 232 of the walk, which goes bound by bound) and its
  // bound-1 space is exhausted in 968 executions (measured); run on to bound 2 it did not
  // exhaust 24,000 executions and found no other kind, for a verdict it already had.
  explorationByVariant: { legacy: exhaustive(1, 4_000) },
};

// ---------------------------------------------------------------- O5

export const O5a: Scenario = {
  name: "O5a-validate-binds-invalidated-pages",
  description:
    "GEM_USERPTR VALIDATE of a BO over pages 0-1 races a migration of page 0, then a CS reads page 0. " +
    "VALIDATE binds what get_user_pages returned and calls _done without notifier_lock (5.5) or amn->lock " +
    "(5.4), ignoring its result (O5): the GART may hold the old page. Nothing reads the GART but a job, and " +
    "every CS re-gets the pages and rebinds the BO when they differ, so the stale binding is never used.",
  run: thenExit(async (s) => {
    const buf = await mustRegister(s, BASE, 2 * P);
    await both(
      s,
      ["validate", async () => void (await s.ctx.populate(buf, buf.start, buf.end, true))],
      ["migrate", async () => void (await migratePage(s.mm, pageAddr(0)))],
    );
    await s.ctx.access(buf, pageAddr(1), false);
    await s.ctx.unregister(buf);
  }),
  expected: {
    legacy: {
      verdict: "pass",
      ref: "O5 (Jason, v2 14/15 review)",
      note: "Reasoned: the stale binding is real but unread; the CS that follows re-gets pages (A1 is the CS's own hazard).",
    },
    interval: {
      verdict: "pass",
      ref: "O5 (FIXME kept in 5.5)",
      note: "Reasoned: as in 5.4; the CS's read_retry under notifier_lock gates the job.",
    },
  },
  exploration: exhaustive(2),
};

export const O5b: Scenario = {
  name: "O5b-kfd-init-user-pages-unlocked-done",
  description:
    "A KFD userptr allocation over pages 0-1 (init_user_pages: get pages, validate, _done unlocked and " +
    "ignored; then map_memory_to_gpu) races a migration of page 0; afterwards, once the restore worker has " +
    "had its chance, a queue dispatch reads page 0. The pages bound may be invalidated ones (O5); the " +
    "eviction's mem->invalid keeps map_memory_to_gpu from writing PTEs and the queues stopped until the " +
    "restore worker has re-acquired them — 'only until the eviction counter forces a retry'.",
  run: thenExit(async (s) => {
    const c = amd(s);
    let buf: KfdBuffer | null = null;
    await both(
      s,
      [
        "kfd alloc",
        async () => {
          // 5.4 may fail the allocation with -EBUSY (the range went invalid during the walk): a
          // kernel error returned to user space, not a failure of the scenario.
          const b = await c.registerKfd(BASE, 2 * P);
          if (typeof b === "number") s.ex.count("amdgpu.o5b_alloc_failed");
          else buf = b;
        },
      ],
      ["migrate", async () => void (await migratePage(s.mm, pageAddr(0)))],
    );
    await s.ex.sleep(RESTORE_SETTLE_TICKS);
    await c.queueAccess(pageAddr(0), false);
    if (buf !== null) await c.freeKfd(buf);
  }),
  expected: {
    legacy: { verdict: "pass", ref: "O5 (Jason, v2 14/15 review)" },
    interval: {
      verdict: "pass",
      ref: "O5 (FIXME kept in 5.5)",
      note:
        "Exhausted at preemption bound 2 under bounded partial-order reduction: 5.5 at 529 executions, " +
        "5.4 at 2,100 (without the reduction 5,055 and 21,180). Moving the mm's first registration before " +
        "the threads (a KFD allocation over page 3) did not shrink the space, so the row is as it was. At " +
        "bound 2 the 5.4 run reaches the allocation's -EBUSY path, where the model leaked the BO (fixed: " +
        "alloc_memory_of_gpu's allocate_init_user_pages_failed unrefs it).",
    },
  },
  exploration: exhaustive(2),
};

export const referenceScenarios: Scenario[] = [A1, A2, A3, A4, CK1, CK2, K1, K2, K3, O5a, O5b];

// ---------------------------------------------------------------- conformance

const pass = (ref: string, note?: string): Expectation =>
  note === undefined ? { verdict: "pass", ref } : { verdict: "pass", ref, note };

export const CONFORMANCE_EXPECTED: Record<string, Record<string, Expectation>> = {
  "populate-vs-munmap": {
    legacy: { verdict: "use-after-free", ref: "O1", note: O1_MUNMAP_NOTE },
    interval: pass("CK1; 81fa1af31b5d"),
  },
  "register-during-invalidation": {
    legacy: {
      verdict: "use-after-free",
      ref: O1_REF,
      note:
        "A registration during the migration gives a range that starts invalid (the 5.2+ gate), so the " +
        "pre-5.2 registration race is gone; what the search finds is O1 in the CS that follows: its pages " +
        "read before the migration's start, the migration whole before amdgpu_cs_submit's check.",
    },
    interval: pass("core.md 1.6, 6.4 item 17"),
  },
  "invalidate-between-lookup-and-program": {
    legacy: {
      verdict: "use-after-free",
      ref: O1_REF,
      note: "The conformance twin of A1, without its ordering.",
    },
    interval: pass("A1"),
  },
  "unregister-during-invalidation": {
    legacy: pass(
      "1.2",
      "Reasoned: unregister takes mn_lock and amn->lock (write), so it waits for a running sync callback " +
        "(amn->lock read); the BO is destroyed only once idle; nothing is on the GPU during the munmap.",
    ),
    interval: pass(
      "core.md 1.7",
      "Reasoned: mmu_interval_notifier_remove waits for the exclusion period; the BO is destroyed once idle.",
    ),
  },
  "oom-reaper-nonblocking": {
    legacy: pass(
      "1.3",
      "Reasoned: the sync callback returns -EAGAIN for a non-blockable range as soon as a node overlaps; " +
        "hmm undoes its count and the reaper skips the VMA, so nothing is freed under the GPU.",
    ),
    interval: pass(
      "1.6",
      "Reasoned: both callbacks return false for a non-blockable range; the core undoes its count " +
        "(core.md 1.4) and the reaper skips the VMA. amdgpu has no hlist notifier in 5.5, so the " +
        "count left raised by an hlist -EAGAIN (findings-status) cannot happen here.",
    ),
  },
  "exit-during-populate": {
    legacy: pass(
      "A4 (O4)",
      "Reasoned: populate and access are ioctls of threads of the process, which keep the mm alive " +
        "(context.ts), so the scenario's exit_task of the main thread alone does not reach exit_mmap until " +
        "they are done; access waits for its job. A job still in flight at the last thread's exit is A4.",
    ),
    interval: pass("A4", "Reasoned as for 5.4."),
  },
  "nested-invalidation-during-register": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1",
      note: `${O1_MUNMAP_NOTE} Here the nested THP-split CLEAR only lengthens the bracket.`,
    },
    interval: pass("core.md 1.6"),
  },
  "mprotect-readonly-then-device-write": {
    legacy: {
      verdict: "write-after-protect",
      ref: "O1",
      note:
        "Flagged (O1 through mprotect): the CS of the device write gets writable pages, mprotect runs " +
        "start to end before amdgpu_cs_submit's check (the callback has no fence to wait for yet and " +
        "unmaps nothing), the end re-validates the range, and the job writes through a writable GART " +
        "entry to a page the CPU has made read-only.",
    },
    interval: pass(
      "1.6",
      "Reasoned: the callback's set_seq makes the CS's read_retry true; the restarted CS's write fault on the read-only VMA fails (-EFAULT), so no job runs.",
    ),
  },
  "fork-cow-then-device-write": {
    legacy: {
      verdict: "write-after-protect",
      ref: "O1",
      note:
        "Flagged (O1 through fork's COW write-protect, MMU_NOTIFY_PROTECTION_PAGE): as for mprotect, the " +
        "job writes to a page the child now shares read-only.",
    },
    interval: pass("1.6"),
  },
  "two-registrations-one-invalidation": {
    legacy: { verdict: "use-after-free", ref: "O1", note: O1_MUNMAP_NOTE },
    interval: pass("1.6"),
  },
  "partial-munmap": {
    legacy: { verdict: "use-after-free", ref: "O1", note: O1_MUNMAP_NOTE },
    interval: pass("1.6"),
  },
  "migrate-then-munmap-at-buffer-edges": {
    legacy: {
      verdict: "use-after-free",
      ref: O1_REF,
      note: `O1 at either edge: the first page's migration (A1) or, as in the counterexample, the munmap straddling the BO's end (0x103000 freed at rest). ${O1_MUNMAP_NOTE}`,
    },
    interval: pass(
      "A1; 81fa1af31b5d",
      "Exhausted at preemption bound 2 (see NEW_SCENARIO_EXPLORATION): each callback's set_seq under " +
        "notifier_lock makes the CS's read_retry true, -EAGAIN, and the restarted CS gets fresh pages or " +
        "finds the BO's last page unmapped; the BO's notifier spans the BO exactly, so both edge ranges hit it.",
    ),
  },
  "overlapping-invalidations-race-populate": {
    legacy: {
      verdict: "use-after-free",
      ref: O1_REF,
      note: "O1: the migration's whole bracket fits before amdgpu_cs_submit's check; the overlapping munmap only adds to it.",
    },
    interval: pass(
      "core.md 1.3",
      "Exhausted at preemption bound 2 (the 5.5 variant's own exploration, NEW_SCENARIO_EXPLORATION_BY_VARIANT; " +
        "the 5.4 row stays at bound 1, where O1 is found): two open ranges share one exclusion period; each " +
        "callback set_seqs under notifier_lock, so read_retry catches either, and a callback after the check " +
        "waits for notifier_lock, then the job's fence.",
    ),
  },
  "successive-migrations-and-munmap-race-populate": {
    legacy: {
      verdict: "use-after-free",
      ref: O1_REF,
      note:
        "O1 (A1's shape): a migration of page 0 runs its whole CLEAR bracket between the CS's " +
        "amdgpu_ttm_tt_get_user_pages and amdgpu_cs_submit's check (no fence to wait for, nothing unmapped, " +
        "the end drops hmm->notifiers to 0 and re-validates the range), hmm_range_valid says true and the job " +
        "reads the copy of page 0 the migration freed; the second migration and the munmap only add brackets " +
        "(the munmap can do the same to page 1: see O1_MUNMAP_NOTE). Bound 1, exhausted (see " +
        "NEW_SCENARIO_EXPLORATION).",
    },
    interval: pass(
      "A1; 81fa1af31b5d; core.md 1.3, 1.8",
      "Exhausted at preemption bound 2 in 88,452 executions (NEW_SCENARIO_EXPLORATION_BY_VARIANT): each " +
        "of the three callbacks set_seqs " +
        "under notifier_lock, so a CS whose read_begin came before one of them sees read_retry true under that " +
        "lock and restarts (-EAGAIN), however many periods the seq moved by; a read_begin inside a period the " +
        "BO's notifier is in sleeps until the period ends (the munmap's included, when its bracket spans both " +
        "migrations); a callback after the check waits for notifier_lock, then for the job's fence, before the " +
        "PTE changes. A CS after the munmap's detach fails in hmm_range_fault (-EFAULT: no VMA over page 1).",
    ),
  },
  "one-page-buffer-neighbour-invalidations": {
    legacy: {
      verdict: "populate-failed",
      ref: "mm/hmm.c hmm_invalidate_range_start() @5.4; amdgpu_ttm.c amdgpu_ttm_tt_get_user_pages() @5.4",
      note:
        "Flagged (not in the reference): the liveness oracle, at preemption bound 2. The migration of page 1 " +
        "is [0x101000, 0x102000); 5.4's hmm_invalidate_range_start skips a range only if `nrange->end < " +
        "range->start || nrange->start >= range->end`, so the BO's range starting at 0x102000 is marked " +
        "invalid (over-invalidation of the next page, allowed in itself: core.md 6.2 item 11). hmm_range_fault " +
        "then returns -EBUSY, and 5.4's amdgpu_ttm_tt_get_user_pages does not retry it (the retry to a " +
        "deadline came with 81fa1af31b5d): the VALIDATE fails on a BO nothing invalidated.",
    },
    interval: pass(
      "81fa1af31b5d; core.md 6.6",
      "Bound 2: the interval tree is inclusive, the neighbours miss the BO's notifier, and 5.5 retries an " +
        "-EBUSY until the 1000 ms deadline anyway.",
    ),
  },
  "oom-reaper-sibling-blockable-zap": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1",
      note:
        "Without the non-blockable start the sync callback does not refuse, and the zap is O1: madvise(DONTNEED) " +
        "holds mmap_sem for read, which the CS does not hold between get_user_pages and its check, so the whole " +
        "bracket fits there; the end re-validates the range and the job reads a zapped, freed page. " +
        "oom-reaper-nonblocking passes in 5.4 because nothing is reaped while a node overlaps.",
    },
    interval: pass(
      "1.6",
      "Exhausted at preemption bound 2 (NEW_SCENARIO_EXPLORATION): the callback waits for the fences, " +
        "set_seqs; the CS's read_retry is true.",
    ),
  },
  "exit-sibling-munmap-all": {
    legacy: {
      verdict: "use-after-free",
      ref: "O1",
      note: `${O1_MUNMAP_NOTE} (exit-during-populate itself passes: see there).`,
    },
    interval: pass(
      "CK1; 81fa1af31b5d",
      "Exhausted at preemption bound 2 (NEW_SCENARIO_EXPLORATION): as populate-vs-munmap over the whole BO.",
    ),
  },
};

/**
 * The issue-22 scenarios on amdgpu: each CS is a long ioctl (reserve, VMA checks, hmm, the job).
 * Under the default bounded partial-order reduction three of them are exhausted at preemption
 * bound 2 in at most 5,719 executions (measured). overlapping-invalidations-race-populate (three
 * threads) costs more: its 5.5 space is exhausted at bound 2 in 37,034 executions (measured,
 * bound by bound), so the interval variant gets that exploration of its own (below), and the
 * 5.4 row, which reaches O1 at bound 1 (the walk goes bound by bound, so bound 1 is where it is
 * found first), stays there: running it to bound 2 as well would add about 60,000 executions to
 * the default run for a verdict it already has. The liveness row's 5.4 failure needs two
 * preemptions (the CS must run hmm_range_fault while the neighbour's bracket is open); its 5.5
 * space is exhausted at bound 2.
 */
const NEW_SCENARIO_EXPLORATION: Record<string, ExplorationSpec> = {
  "migrate-then-munmap-at-buffer-edges": exhaustive(2, 8_000),
  "overlapping-invalidations-race-populate": exhaustive(1, 4_000),
  "one-page-buffer-neighbour-invalidations": exhaustive(2, 3_000),
  "oom-reaper-sibling-blockable-zap": exhaustive(2, 8_000),
  "exit-sibling-munmap-all": exhaustive(2, 8_000),
  // Three threads, as overlapping-invalidations-race-populate: the 5.4 row at bound 1, where it fails
  // (exhausted in 4,153 executions, measured); the 5.5 row at bound 2 (below).
  "successive-migrations-and-munmap-race-populate": exhaustive(1, 6_000),
};

/** A variant's own exploration where it is not the scenario's (Scenario.explorationByVariant). */
const NEW_SCENARIO_EXPLORATION_BY_VARIANT: Record<string, Record<string, ExplorationSpec>> = {
  // Every 5.5 pass an exhausted search at bound 2 or more (issue 23): 37,034 executions (measured).
  "overlapping-invalidations-race-populate": { interval: exhaustive(2, 50_000) },
  // Likewise: exhausted at bound 2 in 88,452 executions (measured).
  "successive-migrations-and-munmap-race-populate": { interval: exhaustive(2, 100_000) },
};

export const conformanceScenarios: Scenario[] = conformance(
  CONFORMANCE_EXPECTED,
  {},
  NEW_SCENARIO_EXPLORATION_BY_VARIANT,
).map((c) => ({
  ...c,
  run: thenExit(c.run),
  exploration: NEW_SCENARIO_EXPLORATION[c.name] ?? exhaustive(2),
}));

export const scenarios: Scenario[] = [...referenceScenarios, ...conformanceScenarios];

export { EAGAIN, exitTask };
