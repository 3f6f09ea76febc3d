/**
 * Conformance scenarios: races every driver must survive, written against the DriverModel
 * contract so they run on each variant (reference core.md 6; issue "device side"). They
 * carry no expectations: each driver states, per variant, what it expects and why, and
 * `conformance()` refuses a driver that leaves one out.
 *
 * The process is the harness's standard one: 4 touched pages at BASE (5 where a scenario says
 * so), private, read-write. Device accesses whose mapping is gone are device faults, not
 * failures: what must never happen is an access the oracles reject, a leak, a WARN, a hang, or
 * (issue 22) a populate nothing raced that does not map.
 */
import { exitTask } from "../cpu/exit.ts";
import { fork } from "../cpu/fork.ts";
import { migratePage } from "../cpu/migrate.ts";
import { mprotect } from "../cpu/mprotect.ts";
import { munmap } from "../cpu/munmap.ts";
import { oomReapTaskMm } from "../cpu/oom.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { EDGES } from "./conformance/edges.ts";
import { both, mustRegister } from "./conformance/helpers.ts";
import { RACE_SHAPES } from "./conformance/races.ts";
import { SIBLINGS } from "./conformance/siblings.ts";
import type { ConformanceScenario } from "./conformance/types.ts";
import type { Expectation, ExplorationSpec, Scenario } from "./scenario.ts";
import { BASE, pageAddr } from "./setup.ts";

export type { ConformanceScenario } from "./conformance/types.ts";

const P = PAGE_SIZE;
const DEFAULT: ExplorationSpec = { strategy: "exhaustive", preemptionBound: 2, executions: 20_000 };

/** The first eleven: one invalidation (or teardown) against one populate each. */
const SINGLE_RACES: readonly ConformanceScenario[] = [
  {
    name: "populate-vs-munmap",
    description:
      "The device populates the whole buffer and reads its last page while the process munmaps the " +
      "second half (MMU_NOTIFY_UNMAP). Every order and interleaving is explored: the populate may fail " +
      "or map, the read may fault, but no mapping of an unmapped page may survive the invalidation.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await both(
        s,
        [
          "device",
          async () => {
            await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
            await s.ctx.access(buf, pageAddr(3), false);
          },
        ],
        ["munmap", async () => void (await munmap(s.mm, pageAddr(2), 2 * P))],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "register-during-invalidation",
    description:
      "A buffer is registered, populated and read while a page migration (MMU_NOTIFY_CLEAR, no " +
      "mmap_sem) of its first page is between invalidate_range_start and _end. A registration that " +
      "starts inside the invalidation must not map the old page after the PTE changed.",
    exploration: DEFAULT,
    async run(s) {
      await both(
        s,
        [
          "device",
          async () => {
            const buf = await mustRegister(s, BASE, 2 * P);
            await s.ctx.populate(buf, BASE, BASE + 2 * P, false);
            await s.ctx.access(buf, pageAddr(0), false);
            await s.ctx.unregister(buf);
          },
        ],
        ["migrate", async () => void (await migratePage(s.mm, pageAddr(0)))],
      );
    },
  },
  {
    name: "invalidate-between-lookup-and-program",
    description:
      "A page migration of page 0 runs start to end while the device's populate is between reading " +
      "the CPU page table and programming the device (the collision-retry window). The device must " +
      "not keep, or use, the old pfn.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      await both(
        s,
        [
          "device",
          async () => {
            await s.ctx.populate(buf, BASE, BASE + 2 * P, false);
            await s.ctx.access(buf, pageAddr(0), false);
          },
        ],
        ["migrate", async () => void (await migratePage(s.mm, pageAddr(0)))],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "unregister-during-invalidation",
    description:
      "A populated buffer is unregistered and the device context closed while a munmap of the whole " +
      "buffer runs its invalidation. Teardown must wait for, or safely skip, the running callback: " +
      "no use-after-free, no leak, no deadlock.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
        [
          "teardown",
          async () => {
            await s.ctx.unregister(buf);
            await s.ctx.close();
          },
        ],
      );
    },
  },
  {
    name: "oom-reaper-nonblocking",
    description:
      "The OOM reaper reaps the process (mmu_notifier_invalidate_range_start_nonblock) while the " +
      "device populates and reads the buffer. Callbacks may refuse (-EAGAIN / false) but must not " +
      "sleep; when the reaper does zap, no device mapping of a reaped page may remain.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await both(
        s,
        [
          "device",
          async () => {
            await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
            await s.ctx.access(buf, pageAddr(1), false);
          },
        ],
        ["oom_reaper", async () => void (await oomReapTaskMm(s.mm))],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "exit-during-populate",
    description:
      "The process exits (exit_mm -> mmput -> exit_mmap: release, then the final unmap) while the " +
      "device populates the buffer and reads it. Afterwards the driver's file is closed. The device " +
      "must never touch a page exit_mmap freed.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await both(
        s,
        [
          "device",
          async () => {
            await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
            await s.ctx.access(buf, pageAddr(0), false);
          },
        ],
        ["exit", async () => await exitTask(s.mm)],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "nested-invalidation-during-register",
    description:
      "munmap of the second half splits a transparent huge page (a nested MMU_NOTIFY_CLEAR " +
      "start/end inside the open UNMAP bracket) while a buffer over the whole range is registered, " +
      "populated and read. Registration during nested invalidations must neither deadlock nor map " +
      "an unmapped page.",
    exploration: DEFAULT,
    async run(s) {
      await both(
        s,
        [
          "munmap",
          async () =>
            void (await munmap(s.mm, pageAddr(2), 2 * P, { thpSplit: { start: BASE, end: BASE + 4 * P } })),
        ],
        [
          "device",
          async () => {
            const buf = await mustRegister(s, BASE, 4 * P);
            await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
            await s.ctx.access(buf, pageAddr(3), false);
            await s.ctx.unregister(buf);
          },
        ],
      );
    },
  },
  {
    name: "mprotect-readonly-then-device-write",
    description:
      "A buffer populated for writing is made read-only by mprotect (MMU_NOTIFY_PROTECTION_VMA) while " +
      "the device writes to it. After the invalidation no device write may land on a page the CPU " +
      "write-protected.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      await s.ctx.populate(buf, BASE, BASE + 2 * P, true);
      await both(
        s,
        ["mprotect", async () => void (await mprotect(s.mm, BASE, 2 * P, { read: true, write: false }))],
        ["device", async () => void (await s.ctx.access(buf, pageAddr(0), true))],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "fork-cow-then-device-write",
    description:
      "The process forks (copy_page_range write-protects the parent's private pages: " +
      "MMU_NOTIFY_PROTECTION_PAGE) while the device writes to a buffer populated for writing. A device " +
      "write after the write-protect would land in a page the child shares.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      await s.ctx.populate(buf, BASE, BASE + 2 * P, true);
      await both(
        s,
        ["fork", async () => void (await fork(s.mm))],
        ["device", async () => void (await s.ctx.access(buf, pageAddr(0), true))],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "two-registrations-one-invalidation",
    description:
      "Two buffers, [page 0, page 2) and [page 2, page 4), both populated; one munmap covers both while " +
      "the device reads from each. One invalidation must reach both registrations.",
    exploration: DEFAULT,
    async run(s) {
      const a = await mustRegister(s, BASE, 2 * P);
      const b = await mustRegister(s, pageAddr(2), 2 * P);
      await s.ctx.populate(a, BASE, pageAddr(2), false);
      await s.ctx.populate(b, pageAddr(2), pageAddr(4), false);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
        [
          "device",
          async () => {
            await s.ctx.access(a, pageAddr(1), false);
            await s.ctx.access(b, pageAddr(3), false);
          },
        ],
      );
      await s.ctx.unregister(a);
      await s.ctx.unregister(b);
    },
  },
  {
    name: "partial-munmap",
    description:
      "The middle page of a populated buffer is munmapped while the device reads the pages around it " +
      "and populates the buffer again. The hole must be torn down and never re-mapped; its neighbours " +
      "stay usable.",
    exploration: DEFAULT,
    async run(s) {
      const buf = await mustRegister(s, BASE, 3 * P);
      await s.ctx.populate(buf, BASE, BASE + 3 * P, false);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, pageAddr(1), P))],
        [
          "device",
          async () => {
            await s.ctx.access(buf, pageAddr(1), false);
            await s.ctx.populate(buf, BASE, BASE + 3 * P, false);
            await s.ctx.access(buf, pageAddr(2), false);
          },
        ],
      );
      await s.ctx.unregister(buf);
    },
  },
];

/**
 * The suite: the single races, then (issue 22) the race shapes with two invalidations, at a
 * buffer's edges (conformance/races.ts), the liveness oracle (conformance/edges.ts), and
 * the siblings of the scenarios that exist to show one bug (conformance/siblings.ts).
 */
export const CONFORMANCE: readonly ConformanceScenario[] = [
  ...SINGLE_RACES,
  ...RACE_SHAPES,
  ...EDGES,
  ...SIBLINGS,
];

/**
 * The conformance scenarios with a driver's expectations attached. Every scenario needs an
 * entry (variant id -> expectation); an exploration override per scenario is allowed where
 * a driver's model needs a different bound to exhaust its space. An override is the
 * driver's exploration for every variant: it replaces the scenario's per-variant ones
 * (Scenario.explorationByVariant) too, which are the suite's defaults. `explorationsByVariant`
 * gives a variant of the driver its own exploration of a scenario (the 5.5 variant one bound
 * deeper, say), on top of the scenario's per-variant ones.
 */
export function conformance(
  expectations: Record<string, Record<string, Expectation>>,
  explorations: Record<string, ExplorationSpec> = {},
  explorationsByVariant: Record<string, Record<string, ExplorationSpec>> = {},
): Scenario[] {
  const names = new Set(CONFORMANCE.map((c) => c.name));
  for (const n of [
    ...Object.keys(expectations),
    ...Object.keys(explorations),
    ...Object.keys(explorationsByVariant),
  ]) {
    if (!names.has(n)) throw new Error(`conformance: no scenario named "${n}"`);
  }
  return CONFORMANCE.map((c) => {
    const expected = expectations[c.name];
    if (expected === undefined) throw new Error(`conformance: no expectations given for "${c.name}"`);
    const own = explorations[c.name];
    const { explorationByVariant: suiteDefaults, ...rest } = c;
    const byVariant = { ...(own === undefined ? suiteDefaults : {}), ...explorationsByVariant[c.name] };
    return {
      ...rest,
      expected,
      exploration: own ?? c.exploration,
      ...(Object.keys(byVariant).length === 0 ? {} : { explorationByVariant: byVariant }),
    };
  });
}
