/**
 * The hfi1 scenarios: the reference rows H2, H3, H4, H7 (rdma-xen-drivers.md 2.5), a forked
 * child using the parent's file, PSM slow to free TIDs, two invalidations of one TID at once,
 * and the generic conformance suite with setup (TID_UPDATE) playing the populate role.
 *
 * The oracle is the reference's invariant, not core's plain one: a programmed RcvArray entry
 * may reference a page the CPU no longer maps at its VA only while its TID has been queued
 * for PSM (rcvarray.ts); a TID is unpinned exactly once (unpin_rcv_pages); tid_n_pinned is 0
 * after close (context.ts). Everything else (use-after-free, write-after-protect, leaks,
 * WARNs, hangs, lockdep) is core's.
 */
import {
  BASE,
  both,
  conformance,
  cpuAccess,
  type Expectation,
  type ExplorationSpec,
  exitTask,
  type Finding,
  fork,
  mmap,
  munmap,
  mustRegister,
  PAGE_SIZE,
  pageAddr,
  reclaimPage,
  type Scenario,
  type ScenarioContext,
} from "@mnlab/core";
import { type Hfi1Buffer, type Hfi1Kernel, hfi1Of, type Psm } from "./context.ts";

const P = PAGE_SIZE;
const EXHAUSTIVE: ExplorationSpec = { strategy: "exhaustive", preemptionBound: 2, executions: 20_000 };

/** Counters the scenarios record for the metric tests and the report. */
export const HFI1_COUNTERS = {
  /** TID_UPDATE returned an error to PSM (-EFAULT on a refused overlap, 5.4). */
  setupFailed: "hfi1.setup_failed",
} as const;

function hfiOf(s: ScenarioContext): { hfi: Hfi1Kernel; psm: Psm } {
  return hfi1Of(s.k);
}

/** Register and TID_UPDATE a buffer before the race: setup is not what the row tests. */
async function programmed(s: ScenarioContext, start: number, len: number): Promise<Hfi1Buffer> {
  const b = await mustRegister(s, start, len);
  const ret = await s.ctx.populate(b, start, start + len, true);
  if (ret !== 0) return s.ex.fail("exception", `TID_UPDATE [${start.toString(16)}, +${len}) returned ${ret}`);
  return b as Hfi1Buffer;
}

/** PSM's progress loop: poll the event bit `polls` times, `gap` ticks apart, handling what it finds. */
async function psmProgress(s: ScenarioContext, polls: number, gap: number): Promise<void> {
  const { psm } = hfiOf(s);
  for (let i = 0; i < polls; i++) {
    if ((await psm.handleEvents()) > 0) return;
    await s.ex.sleep(gap);
  }
}

const REF = "reference rdma-xen-drivers.md 2.5";
const FIXME =
  '3889551db212\'s own FIXME in set_rcvarray_entry: "This is in the wrong order, the notifier should be established before the pages are pinned by pin_rcv_pages"';

/** The 5.5 finding behind every stale-access the setup race causes. */
const SETUP_RACE: Finding = {
  explanation:
    "set_rcvarray_entry() inserts the TID's interval notifier only after pin_rcv_pages() has pinned the whole buffer, and discards mmu_interval_read_begin()'s value without ever calling mmu_interval_read_retry(). An invalidation that runs between the pin and the insert reaches no callback (there is no notifier yet) and one that is still open at the insert only makes read_begin wait; either way the RcvArray entry is then programmed with pages the CPU no longer maps, and tid_rb_invalidate never queues the TID, so PSM is never told. The merged code says so itself in a FIXME. 5.4 had the same order (pin, then hfi1_mmu_rb_insert), so this is not a regression except where 5.5 allows overlapping TIDs (partial-munmap).",
  lines: [
    "drivers/infiniband/hw/hfi1/user_exp_rcv.c: hfi1_user_exp_rcv_setup() -> pin_rcv_pages() @5.5",
    "drivers/infiniband/hw/hfi1/user_exp_rcv.c: set_rcvarray_entry(): mmu_interval_notifier_insert(); /* FIXME: This is in the wrong order ... */ mmu_interval_read_begin(); hfi1_put_tid() @5.5",
  ],
  later:
    "Not in the record. Recalled, unchecked: a 2023 series (Linux 6.2/6.3, 'IB/hfi1: Remove user expected buffer invalidate race') adds a covering notifier over the whole buffer during setup, with read_begin/read_retry, and fails the setup on a collision.",
};

/** The 5.5 finding behind the forked child's TIDs. */
const WRONG_MM: Finding = {
  explanation:
    "TID_UPDATE pins with get_user_pages_fast(), i.e. from current->mm, but the TID's notifier is inserted on fd->mm, the mm cached at open. A task of another mm holding the file (a forked child) programs TIDs over its own pages that no invalidation of its mm can reach. The conversion kept the 5.4 behaviour (the handler also watched fd->mm).",
  lines: [
    "drivers/infiniband/hw/hfi1/user_pages.c: hfi1_acquire_user_pages(): get_user_pages_fast() @5.5",
    "drivers/infiniband/hw/hfi1/user_exp_rcv.c: set_rcvarray_entry(): mmu_interval_notifier_insert(&node->notifier, fd->mm, ...) @5.5",
  ],
  later:
    "Not in the record. Recalled, unchecked: 'IB/hfi1: Ensure correct mm is used at all times' (5.10, CVE-2020-27835) makes the file refuse callers whose mm is not fd->mm.",
};

/** The reference rows and this driver's own hazards. */
export const referenceScenarios: Scenario[] = [
  {
    name: "H2-munmap-after-setup",
    description:
      "A buffer of pages 0-1 has one programmed TID. The process munmaps it while the NIC keeps " +
      "receiving into page 1; then PSM looks at its event bit. The invalidation must mark the node freed, " +
      "queue the TID in invalid_tids and set the event bit; the RcvArray entry and the pins stay " +
      "(the NIC writes into the pinned pages, which the oracle allows while the TID is queued) until " +
      "PSM's TID_INVAL_READ and TID_FREE.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const buf = await programmed(s, BASE, 2 * P);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, BASE, 2 * P))],
        ["nic", async () => void (await s.ctx.access(buf, pageAddr(1), true))],
      );
      await psmProgress(s, 1, 0);
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: `${REF} row H2`,
        note: "tid_rb_invalidate under the handler lock: freed, queued, event bit; HW entry and pins remain until TID_FREE",
      },
      interval: {
        verdict: "pass",
        ref: `${REF} row H2; 3889551db212`,
        note: "the same through the TID's own notifier",
      },
    },
  },
  {
    name: "H2-psm-polls-during-munmap",
    description:
      "H2 with PSM polling its event bit (a lockless read of the event page) while the munmap's " +
      "callback queues the TID and sets the bit under invalid_lock; PSM reads the list with " +
      "TID_INVAL_READ, which clears the bit under the same lock, and frees the TID; then the NIC " +
      "receives. The NIC's receive through a TID PSM has not yet freed is allowed only while it is queued; nothing stays pinned at close.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const buf = await programmed(s, BASE, 2 * P);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, BASE, 2 * P))],
        ["psm", () => psmProgress(s, 2, 1)],
      );
      await s.ctx.access(buf, pageAddr(0), true);
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: `${REF} row H2`,
        note: 'set_bit under invalid_lock; TID_INVAL_READ clears it under the same lock ("otherwise, PSM can miss events")',
      },
      interval: {
        verdict: "pass",
        ref: `${REF} row H2; 3889551db212`,
        note: "the same: the queueing half of tid_rb_invalidate is unchanged",
      },
    },
  },
  {
    name: "H3-tid-free-during-invalidation",
    description:
      "PSM frees a programmed TID (TID_FREE -> unprogram_rcvarray -> clear_tid_node) while a munmap " +
      "of its pages invalidates it. The TID must be unpinned exactly once and its node never used " +
      "after clear_tid_node kfree()s it.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const buf = await programmed(s, BASE, 2 * P);
      const { psm } = hfiOf(s);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, BASE, 2 * P))],
        ["psm", async () => void (await psm.free(buf.tids.map((t) => t.tidinfo)))],
      );
      await psm.handleEvents();
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: `${REF} row H3`,
        note: "hfi1_mmu_rb_remove erases the node under the handler spinlock the walk holds: either the walk queues it first, or it no longer finds it",
      },
      interval: {
        verdict: "pass",
        ref: `${REF} row H3; 3889551db212`,
        note: "mmu_interval_notifier_remove waits out the running callback; clear_tid_node comes after",
      },
    },
  },
  {
    name: "H4-reregister-over-invalidated-tid",
    description:
      "A TID covers pages 0-1; mmap(MAP_FIXED) replaces the mapping (an UNMAP invalidation queues the " +
      "TID) and, before PSM has freed it, PSM registers the new buffer at the same VA while the NIC " +
      "still receives through the old TID. 5.4 refuses the overlapping node (-EFAULT): PSM must " +
      "handle its events, free the old TID and try again; 5.5 programs an overlapping TID at once.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const old = await programmed(s, BASE, 2 * P);
      await mmap(s.mm, BASE, 2 * P, { read: true, write: true });
      const buf = await mustRegister(s, BASE, 2 * P);
      await both(
        s,
        [
          "psm",
          async () => {
            const ret = await s.ctx.populate(buf, BASE, BASE + 2 * P, true);
            if (ret !== 0) s.ex.count(HFI1_COUNTERS.setupFailed);
            await s.ctx.access(buf, pageAddr(0), true);
          },
        ],
        ["nic", async () => void (await s.ctx.access(old, pageAddr(1), true))],
      );
      await s.ctx.unregister(old);
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference rdma-xen-drivers.md 2.5 row H4, 2.4 item 1",
        note: "the refusal is a failed setup, not an unsafe one: the first TID_UPDATE returns -EFAULT (hfi1_mmu_rb_insert finds the invalidated node), PSM frees the old TID and its second try succeeds; the tests assert the refusal and the retry",
      },
      interval: {
        verdict: "pass",
        ref: `${REF} row H4; 3889551db212`,
        note: "independent notifiers: the overlapping TID is programmed on the first try",
      },
    },
  },
  {
    name: "H7-close-during-invalidation",
    description:
      "The hfi1 file is closed (hfi1_user_exp_rcv_free) with a programmed TID over pages 0-3 while a " +
      "munmap of them runs its invalidation. Teardown must wait for the running callback before it " +
      "frees the nodes and invalid_tids: no use-after-free, every page unpinned once.",
    exploration: EXHAUSTIVE,
    async run(s) {
      await programmed(s, BASE, 4 * P);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
        ["close", () => s.ctx.close()],
      );
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: `${REF} row H7`,
        note: "mmu_notifier_unregister waits for the SRCU reader in the callback, then every node is removed",
      },
      interval: {
        verdict: "pass",
        ref: `${REF} row H7; 3889551db212`,
        note: "each mmu_interval_notifier_remove waits, then clear_tid_node",
      },
    },
  },
  {
    name: "fork-child-uses-parent-fd",
    description:
      "The process forks; the child, holding the parent's hfi1 file, registers a buffer of its own " +
      "pages 0-1 (TID_UPDATE pins from current->mm, the child's) and then munmaps it while the NIC " +
      "receives into it. Both versions watch fd->mm — the parent's — so the child's munmap reaches " +
      "no callback and the TID is never queued.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const child = await fork(s.mm, "child");
      const { psm } = hfiOf(s);
      const buf = (await mustRegister(s, BASE, 2 * P)) as Hfi1Buffer;
      const ret = await psm.update(buf, child, BASE, 2 * P);
      if (ret !== 0) return s.ex.fail("exception", `child TID_UPDATE returned ${ret}`);
      await both(
        s,
        ["child munmap", async () => void (await munmap(child, BASE, 2 * P))],
        ["nic", async () => void (await s.ctx.access(buf, pageAddr(0), true))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "stale-access",
        ref: "(inference from the code; not in the reference) hfi1_acquire_user_pages pins from current->mm, the handler watches fd->mm",
        note: "the child's TID is programmed from its own pages, its munmap invalidates the child's mm, which has no notifier: the entry maps a page the child no longer maps and PSM is never told. Later kernels refuse a different mm on the file (recalled as 'IB/hfi1: Ensure correct mm is used at all times', 5.10, CVE-2020-27835; commit id not checked)",
      },
      interval: {
        verdict: "stale-access",
        ref: "(inference from the code; not in the reference) 3889551db212 inserts on fd->mm",
        note: "unchanged by the conversion: mmu_interval_notifier_insert(&node->notifier, fd->mm, ...) watches the parent; the child's pages were pinned from current->mm",
        finding: WRONG_MM,
      },
    },
  },
  {
    name: "fork-child-after-parent-exit",
    description:
      "The process opens the hfi1 file, forks and exits before it ever called TID_UPDATE; the child, " +
      "holding the file, registers a buffer of its own and the NIC receives into it. 5.4 registered " +
      "its handler's notifier on fd->mm at open; 5.5 registers fd->mm for interval notifiers at the " +
      "first insert, which now comes after that mm's last user is gone.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const child = await fork(s.mm, "child");
      await exitTask(s.mm);
      const { psm } = hfiOf(s);
      const buf = (await mustRegister(s, BASE, 2 * P)) as Hfi1Buffer;
      await both(
        s,
        ["child", async () => void (await psm.update(buf, child, BASE, 2 * P))],
        ["nic", async () => void (await s.ctx.access(buf, pageAddr(0), true))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference rdma-xen-drivers.md 2.1 (registration at init)",
        note: "the handler was registered at open, so the child's TID_UPDATE registers nothing; its pages stay mapped in the child, so the entry is valid (the child's later munmap would not be seen: fork-child-uses-parent-fd)",
      },
      interval: {
        verdict: "kernel-bug",
        ref: "(inference from the code; not in the reference) 3889551db212 + 99cb252f5e68",
        note: "FINDING: mmu_interval_notifier_insert() finds fd->mm without has_itree and calls mmu_notifier_register(NULL, fd->mm), whose __mmu_notifier_register() does BUG_ON(atomic_read(&mm->mm_users) <= 0): fd->mm is held only by the file's mmgrab",
        finding: {
          explanation:
            "The conversion moved hfi1's notifier registration from file open (hfi1_mmu_rb_register at init, while the opener's mm is alive) to the first TID's insert, which registers fd->mm lazily. fd->mm is pinned only by mmgrab (mm_count), so a TID_UPDATE made by a task of another mm after fd->mm's last user exited reaches __mmu_notifier_register's BUG_ON on mm_users. 5.4 could not get there: the handler was registered at open.",
          lines: [
            "drivers/infiniband/hw/hfi1/user_exp_rcv.c: set_rcvarray_entry(): mmu_interval_notifier_insert(&node->notifier, fd->mm, ...) @5.5",
            "mm/mmu_notifier.c: mmu_interval_notifier_insert() -> mmu_notifier_register(NULL, mm) -> __mmu_notifier_register(): BUG_ON(atomic_read(&mm->mm_users) <= 0) @5.5",
          ],
          later:
            "Not in the record. Recalled, unchecked: 'IB/hfi1: Ensure correct mm is used at all times' (5.10, CVE-2020-27835) refuses callers whose mm is not fd->mm, which closes this path too.",
        },
      },
    },
  },
  {
    name: "exit-after-setup",
    description:
      "A TID covers pages 0-1, programmed and in use; the process exits (exit_mmap: the notifiers' " +
      "release, then the final unmap frees the page tables) while the NIC receives into the TID; the " +
      "file is closed afterwards. 5.4's handler has no ->release and is unhooked by exit_mmap before " +
      "the unmap, so nothing queues the TID; 5.5's RELEASE pass reaches tid_rb_invalidate.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const buf = await programmed(s, BASE, 2 * P);
      await both(
        s,
        ["exit", () => exitTask(s.mm)],
        ["nic", async () => void (await s.ctx.access(buf, pageAddr(1), true))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "stale-access",
        ref: 'reference rdma-xen-drivers.md 2.1 ("The only op is invalidate_range_start (there is no release)"), 2.2',
        note: "mn_hlist_release unhooks the handler without a call and exit_mmap's UNMAP no longer reaches it: the entry keeps pages the dead mm does not map, never queued, until hfi1_file_close (harmless to memory while pinned; it is the reference's invariant that fails)",
      },
      interval: {
        verdict: "pass",
        ref: 'reference rdma-xen-drivers.md 2.2 ("Process exit now reaches tid_rb_invalidate through the RELEASE event"); 3889551db212',
        note: "mn_itree_release's RELEASE invalidation queues the TID before the page tables go",
      },
    },
  },
  {
    name: "psm-slow-to-free",
    description:
      "A TID covers pages 0-3; the process munmaps them and maps fresh memory at the same VA, while the " +
      "NIC keeps receiving through the TID and PSM gets to its event bit only after 50 ms. The pins " +
      "stay for as long as PSM takes (pinned pages over time is a metric), the entry is allowed to " +
      "reference the old pages while queued, and nothing leaks once PSM frees.",
    exploration: EXHAUSTIVE,
    async run(s) {
      const buf = await programmed(s, BASE, 4 * P);
      await both(
        s,
        [
          "process",
          async () => {
            await munmap(s.mm, BASE, 4 * P);
            await mmap(s.mm, BASE, 4 * P, { read: true, write: true });
            await cpuAccess(s.mm, pageAddr(0), true);
          },
        ],
        [
          "nic",
          async () => {
            await s.ctx.access(buf, pageAddr(0), true);
            await s.ex.sleep(10);
            await s.ctx.access(buf, pageAddr(3), true);
          },
        ],
      );
      await s.ex.sleep(50);
      await psmProgress(s, 1, 0);
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference rdma-xen-drivers.md 2.1 (invalidate flow)",
        note: "the HW entry and the pins wait for PSM; the oracle allows the entry while the TID is queued",
      },
      interval: {
        verdict: "pass",
        ref: "reference rdma-xen-drivers.md 2.2",
        note: "the same: 5.5 changed who calls tid_rb_invalidate, not what it does",
      },
    },
  },
  {
    name: "two-invalidations-one-tid",
    description:
      "A TID covers pages 0-1; munmap of page 1 (mmap_sem) and reclaim of page 0 (rmap lock, no " +
      "mmap_sem) invalidate it at the same time, then PSM handles its events. 5.4 serialises the two " +
      "walks on the handler spinlock; 5.5 runs both callbacks concurrently and tests node->freed " +
      "without a lock, so the TID can be queued twice (a duplicate in invalid_tids: harmless to the " +
      "invariants, counted as hfi1.duplicate_invalid_tids).",
    exploration: EXHAUSTIVE,
    async run(s) {
      const buf = await programmed(s, BASE, 2 * P);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, pageAddr(1), P))],
        ["kswapd", async () => void (await reclaimPage(s.mm, pageAddr(0)))],
      );
      await psmProgress(s, 1, 0);
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference rdma-xen-drivers.md 2.1 (lock order)",
        note: "freed is read and written under the handler lock",
      },
      interval: {
        verdict: "pass",
        ref: "3889551db212 (tid_rb_invalidate as merged)",
        note: "a duplicate in invalid_tids only makes PSM's list longer; PSM frees each TID it holds once (a second TID_FREE of it would get -EBADF from entry_to_rb)",
      },
    },
  },
];

// ---------------------------------------------------------------- conformance expectations

const both54and55 = (
  verdict: Expectation["verdict"],
  ref: string,
  legacyNote: string,
  intervalNote: string,
  finding?: Finding,
): Record<string, Expectation> => ({
  legacy: { verdict, ref, note: legacyNote },
  interval:
    finding === undefined
      ? { verdict, ref, note: intervalNote }
      : { verdict, ref, note: intervalNote, finding },
});

/**
 * Why the migration rows pass although the FIXME window is open (core models the kernel's
 * refusal since core's migrate.ts fix; before it they ended in stale-access): the migration's
 * CLEAR bracket runs between pin_rcv_pages and the insert and reaches no node, so nothing
 * queues the TID, and the entry is programmed with the pinned page. But 5.4/5.5
 * migrate_page_move_mapping() returns -EAGAIN when page_count() exceeds the expected count
 * (hfi1's pin, a long-term GUP reference, does), migrate_pages gives up after its passes and
 * remove_migration_ptes(page, page) maps the same page back: the entry keeps pointing at the
 * page the CPU maps. While the migration entry is in place the CPU cannot touch the page and
 * a receive DMA writes the data the CPU will see. A migration before the pin moves the page
 * first and the pin (waiting on the migration entry) gets the new one. The window is real for
 * invalidations that change the page (populate-vs-munmap, oom-reaper-nonblocking).
 */
const MIGRATION_REFUSED =
  "moved from stale-access when core modelled the refusal: migrate_page_move_mapping @5.4/5.5 refuses the pinned page (-EAGAIN) and remove_migration_ptes maps it back, so the entry programmed in the pin-to-insert window still matches the CPU";

/** Per conformance scenario: what each variant comes to, and why. */
export const conformanceExpectations: Record<string, Record<string, Expectation>> = {
  "populate-vs-munmap": both54and55(
    "stale-access",
    `${FIXME}; the 5.4 order is the same (pin_rcv_pages before hfi1_mmu_rb_insert)`,
    "munmap runs between pin_rcv_pages and hfi1_mmu_rb_insert: the walk finds no node, the entry is programmed with pinned pages the CPU no longer maps and the TID is never queued",
    "FINDING (the merged FIXME): munmap between pin_rcv_pages and mmu_interval_notifier_insert reaches no callback; read_begin's value is discarded and nothing calls read_retry, so the entry is programmed anyway and never queued",
    SETUP_RACE,
  ),
  "register-during-invalidation": both54and55(
    "pass",
    `${FIXME} (window open, harmless for a migration: see MIGRATION_REFUSED)`,
    `migration of page 0 between the pin and hfi1_mmu_rb_insert; ${MIGRATION_REFUSED}`,
    `migration of page 0 between the pin and mmu_interval_notifier_insert; ${MIGRATION_REFUSED}`,
  ),
  "invalidate-between-lookup-and-program": both54and55(
    "pass",
    `${FIXME} (window open, harmless for a migration: see MIGRATION_REFUSED)`,
    `the lookup is the pin: the CLEAR bracket runs between pin_rcv_pages and the insert and finds no node; ${MIGRATION_REFUSED}`,
    `the lookup is the pin: the CLEAR bracket runs between pin_rcv_pages and the insert, no callback; ${MIGRATION_REFUSED}`,
  ),
  "unregister-during-invalidation": both54and55(
    "pass",
    `${REF} rows H3, H7`,
    "TID_FREE erases the node under the handler lock (or the walk queued it first); close unregisters (SRCU) before removing the rest",
    "mmu_interval_notifier_remove waits out the exclusion period before clear_tid_node",
  ),
  "oom-reaper-nonblocking": both54and55(
    "stale-access",
    `${FIXME}; reference 2.1 ("the callback never sleeps, so OOM-reaper mode is fine")`,
    "the callback itself is fine non-blockable (spinlocks only); the stale entry is the setup race: the reaper zaps between pin_rcv_pages and hfi1_mmu_rb_insert",
    "tid_rb_invalidate never refuses (spinlock only, blockable ignored); the stale entry is the FIXME race: the reaper zaps between the pin and the insert",
    SETUP_RACE,
  ),
  "exit-during-populate": {
    legacy: {
      verdict: "stale-access",
      ref: 'reference rdma-xen-drivers.md 2.1 ("there is no release"), 2.2 ("Process exit now reaches tid_rb_invalidate through the RELEASE event")',
      note: "the handler registers no ->release: exit_mmap unhooks it and its UNMAP reaches no callback, so TIDs programmed before exit keep pages the dead mm no longer maps, unqueued, until the file is closed (also reachable through the setup race)",
    },
    interval: {
      verdict: "stale-access",
      ref: FIXME,
      finding: SETUP_RACE,
      note: "a TID programmed before exit is queued by the RELEASE pass; the violation is the FIXME race: exit_mmap between the pin and the insert, which still succeeds (5.5 tests mm_count, which fd->mm's mmgrab holds). (inference) In the kernel the process's own TID_UPDATE holds mm_users, so exit cannot run inside it; a task of another mm using the file (see fork-child-uses-parent-fd) can. The exploration also reaches kernel-bug (the mm's first interval insert registers it after exit: __mmu_notifier_register's BUG_ON(mm_users <= 0), see fork-child-after-parent-exit) and core-invariant (the registration lands between exit_mmap's UNMAP start and end, so the end drops a count its start never raised), from the same interleaving",
    },
  },
  "nested-invalidation-during-register": both54and55(
    "stale-access",
    FIXME,
    "the setup race again: munmap (with its nested THP-split CLEAR) between pin_rcv_pages and hfi1_mmu_rb_insert; no deadlock (no driver lock spans the bracket)",
    "the FIXME race: the insert lands inside the open brackets (deferred or tree frozen), read_begin waits for the end, and the entry is programmed with the pages the munmap took away; no deadlock",
    SETUP_RACE,
  ),
  "mprotect-readonly-then-device-write": both54and55(
    "write-after-protect",
    "reference rdma-xen-drivers.md 2.1 (the HW entry and the pins stay until TID_FREE); not a reference row",
    "tid_rb_invalidate queues the TID but leaves the RcvArray entry writable: the NIC may write into the page the CPU made read-only until PSM frees it (the reference's exemption covers unmapped pages only)",
    "unchanged by the conversion: the callback queues, the entry stays writable",
  ),
  "fork-cow-then-device-write": both54and55(
    "write-after-protect",
    "reference rdma-xen-drivers.md 2.1; not a reference row",
    "fork's PROTECTION_PAGE invalidation queues the TID, but the pinned page stays writable to the NIC while the parent and child share it read-only (the GUP-vs-fork hazard of long-term pins before early COW of pinned pages, 5.9+, recalled, not in the record)",
    "unchanged by the conversion",
  ),
  "two-registrations-one-invalidation": both54and55(
    "pass",
    `${REF} row H2`,
    "one handler walk queues both TIDs",
    "one callback per TID notifier, each queues its TID",
  ),
  "partial-munmap": {
    legacy: {
      verdict: "pass",
      ref: "reference rdma-xen-drivers.md 2.5 row H4, 2.4 item 1",
      note: "the refusal protects 5.4 here: the second TID_UPDATE overlaps the cached TIDs and is refused (-EFAULT) until PSM has freed the invalidated one, and by then GUP stops at the hole",
    },
    interval: {
      verdict: "stale-access",
      ref: FIXME,
      finding: SETUP_RACE,
      note: "FINDING: overlapping TIDs are now allowed, so the second TID_UPDATE pins pages 0-2 before the munmap of page 1 and programs them after it: the new TID's notifier was inserted after the invalidation, no callback, never queued",
    },
  },
  "migrate-then-munmap-at-buffer-edges": both54and55(
    "stale-access",
    FIXME,
    `the setup race through the munmap straddling the buffer's end (its last page), between pin_rcv_pages and hfi1_mmu_rb_insert; once inserted the node spans the buffer, so an edge invalidation does reach it (the first-page migration changes nothing: ${MIGRATION_REFUSED})`,
    "the FIXME race through the munmap straddling the buffer's end: between the pin and mmu_interval_notifier_insert no callback runs, and nothing calls read_retry; the first-page migration is refused (pinned page)",
    SETUP_RACE,
  ),
  "overlapping-invalidations-race-populate": both54and55(
    "stale-access",
    FIXME,
    "the setup race through the munmap of page 1, the migration overlapping it or not",
    "the FIXME race through the munmap of page 1; the overlap adds nothing",
    SETUP_RACE,
  ),
  "successive-migrations-and-munmap-race-populate": both54and55(
    "stale-access",
    FIXME,
    `the setup race through the munmap of page 1, between pin_rcv_pages and hfi1_mmu_rb_insert; the two migrations of page 0 add nothing: before the pin each moves the page and the pin gets the new one; after it migrate_page_move_mapping refuses the pinned page (-EAGAIN) and remove_migration_ptes maps it back (see MIGRATION_REFUSED); after the insert the handler's walk queues the TID as well`,
    "the FIXME race through the munmap of page 1, between the pin and mmu_interval_notifier_insert: no callback, and nothing calls read_retry; the migrations of page 0 are refused once it is pinned (MIGRATION_REFUSED) and queue the TID if they come after the insert",
    SETUP_RACE,
  ),
  "one-page-buffer-neighbour-invalidations": both54and55(
    "pass",
    `${REF} (reasoned)`,
    "the handler's interval tree holds the TID's exact range: the neighbours' ranges find no node, TID_UPDATE pins and programs the page",
    "the TID's notifier covers exactly the page: the neighbours' invalidations do not hit it, and the setup does not retry anyway",
  ),
  "oom-reaper-sibling-blockable-zap": both54and55(
    "stale-access",
    FIXME,
    "without the non-blockable start the result is the same: the madvise zap between pin_rcv_pages and hfi1_mmu_rb_insert, so oom-reaper-nonblocking's stale-access is the setup race, not the reaper",
    "as legacy: the FIXME race, blockable or not (tid_rb_invalidate ignores the flag)",
    SETUP_RACE,
  ),
  "exit-sibling-munmap-all": both54and55(
    "stale-access",
    FIXME,
    "without the exit the setup race remains (the munmap between pin_rcv_pages and the insert); the missing ->release of exit-during-populate is a second, separate bug",
    "without the exit the FIXME race remains, so exit-during-populate's 5.5 verdict is that race, not the RELEASE path",
    SETUP_RACE,
  ),
};

/** The conformance scenarios with the expectations above (harness default exploration). */
export const conformanceScenarios: Scenario[] = conformance(conformanceExpectations);

export const scenarios: Scenario[] = [...referenceScenarios, ...conformanceScenarios];
