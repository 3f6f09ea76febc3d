// Small, fixed result data for the renderers' golden tests: one driver ("toy") with a legacy
// and an interval variant, two scenarios, one documented legacy bug found, one unexpected
// verdict, and a hand-written trace that exercises every trimming rule of the CPU columns.
import type { ResultRecord } from "@mnlab/core";
import type { TraceEvent } from "@mnlab/sim";
import type { DocsIndex, DriverSummary, MutationDocument, ReportInput, SameSchedule } from "../src/index.ts";

let step = 0;
function ev(
  thread: number,
  kind: TraceEvent["kind"],
  op: string,
  object?: string,
  detail?: string,
): TraceEvent {
  const threadName = ["main", "device", "munmap"][thread]!;
  const e: TraceEvent = { step: step++, tick: 0, thread, threadName, kind, op };
  if (object !== undefined) e.object = object;
  if (detail !== undefined) e.detail = detail;
  return e;
}

export const TRACE: TraceEvent[] = [
  ev(0, "call", "mmu_interval_notifier_insert", "toy.buf0", "[0x100000, +0x2000)"),
  ev(0, "op", "down_write", "proc->mmap_sem"),
  ev(0, "op", "up_write", "proc->mmap_sem"),
  ev(0, "ret", "mmu_interval_notifier_insert", "toy.buf0", "0"),
  ev(0, "spawn", "spawn", "device"),
  ev(0, "spawn", "spawn", "munmap"),
  ev(0, "op", "join", "device"),
  ev(0, "block", "block", "thread device"),
  ev(1, "call", "mmu_interval_read_begin", "toy.buf0"),
  ev(1, "ret", "mmu_interval_read_begin", "toy.buf0", "seq=1"),
  ev(1, "op", "down_read", "proc->mmap_sem"),
  ev(1, "op", "walk_page_range", "proc", "[0x100000, 0x102000)"),
  ev(1, "op", "up_read", "proc->mmap_sem"),
  ev(2, "call", "munmap", "proc", "[0x101000, 0x102000)"),
  ev(2, "op", "down_write", "proc->mmap_sem"),
  ev(2, "call", "mni->ops->invalidate", "toy.buf0", "MMU_NOTIFY_UNMAP"),
  ev(2, "op", "mutex_lock", "toy->mutex"),
  ev(1, "op", "mutex_lock", "toy->mutex"),
  ev(1, "block", "block", "toy->mutex"),
  ev(2, "op", "device_unmap", "toy.dev", "[0x101000, 0x102000)"),
  ev(2, "op", "mutex_unlock", "toy->mutex"),
  ev(2, "ret", "mni->ops->invalidate", "toy.buf0", "true"),
  ev(2, "note", "free_page", "pfn 0x102"),
  ev(2, "op", "up_write", "proc->mmap_sem"),
  ev(2, "exit", "exit"),
  ev(1, "op", "device_map", "toy.dev", "0x100000->0x101 0x101000->0x102"),
  ev(1, "op", "mutex_unlock", "toy->mutex"),
  ev(1, "fail", "use-after-free", undefined, "toy.dev: at rest, 0x101000 -> pfn 0x102: the page was freed"),
];

/** The same race on the 5.5 variant: read_retry sees the collision and the fault goes round again. */
step = 0;
export const TRACE_NEW: TraceEvent[] = [
  ev(0, "call", "mmu_interval_notifier_insert", "toy.buf0", "[0x100000, +0x2000)"),
  ev(0, "ret", "mmu_interval_notifier_insert", "toy.buf0", "0"),
  ev(0, "spawn", "spawn", "device"),
  ev(0, "spawn", "spawn", "munmap"),
  ev(1, "call", "mmu_interval_read_begin", "toy.buf0"),
  ev(1, "ret", "mmu_interval_read_begin", "toy.buf0", "seq=1"),
  ev(1, "op", "down_read", "proc->mmap_sem"),
  ev(1, "op", "walk_page_range", "proc", "[0x100000, 0x102000)"),
  ev(1, "op", "up_read", "proc->mmap_sem"),
  ev(2, "call", "munmap", "proc", "[0x101000, 0x102000)"),
  ev(2, "op", "down_write", "proc->mmap_sem"),
  ev(2, "call", "mni->ops->invalidate", "toy.buf0", "MMU_NOTIFY_UNMAP"),
  ev(2, "op", "mutex_lock", "toy->mutex"),
  ev(2, "op", "mmu_interval_set_seq", "toy.buf0", "seq=2"),
  ev(2, "op", "mutex_unlock", "toy->mutex"),
  ev(2, "ret", "mni->ops->invalidate", "toy.buf0", "true"),
  ev(2, "note", "free_page", "pfn 0x102"),
  ev(2, "op", "up_write", "proc->mmap_sem"),
  ev(1, "op", "mutex_lock", "toy->mutex"),
  ev(1, "op", "mmu_interval_read_retry", "toy.buf0", "true"),
  ev(1, "op", "mutex_unlock", "toy->mutex"),
  ev(1, "call", "mmu_interval_read_begin", "toy.buf0"),
  ev(1, "ret", "mmu_interval_read_begin", "toy.buf0", "seq=3"),
];

/** A second kind the legacy exploration reaches later: the fault path and munmap hang on each other. */
step = 0;
export const DEADLOCK_TRACE: TraceEvent[] = [
  ev(0, "spawn", "spawn", "device"),
  ev(0, "spawn", "spawn", "munmap"),
  ev(1, "op", "mutex_lock", "toy->mutex"),
  ev(2, "op", "down_write", "proc->mmap_sem"),
  ev(2, "op", "mutex_lock", "toy->mutex"),
  ev(2, "block", "block", "toy->mutex"),
  ev(1, "op", "down_read", "proc->mmap_sem"),
  ev(1, "block", "block", "proc->mmap_sem"),
  ev(1, "fail", "deadlock", undefined, "device waits for munmap, munmap waits for device"),
];

/** Four threads with long steps: what the columns must fit into 110 characters. */
step = 0;
function wide(
  thread: number,
  kind: TraceEvent["kind"],
  op: string,
  object?: string,
  detail?: string,
): TraceEvent {
  const e = ev(thread, kind, op, object, detail);
  return { ...e, threadName: ["main", "gpu_fault_worker", "migrate_pages", "oom_reaper"][thread]! };
}
export const WIDE_TRACE: TraceEvent[] = [
  wide(0, "call", "nouveau_svmm_init", "cli", "unmanaged 0x40000000+0x100000"),
  wide(0, "call", "hmm_mirror_register", "svmm(cli)->mirror"),
  wide(1, "call", "nouveau_range_fault", "svmm(cli)", "[0x100000, 0x104000) 4 pages write"),
  wide(1, "call", "hmm_range_fault", "hmm(proc)", "[0x100000, 0x104000) flags=HMM_PFN_VALID|HMM_PFN_WRITE"),
  wide(
    2,
    "call",
    "mmu_notifier_invalidate_range_start",
    "proc",
    "[0x0000000000100000, 0x0000000000101000) MMU_NOTIFY_MIGRATE",
  ),
  wide(
    3,
    "call",
    "mmu_notifier_invalidate_range_start_nonblock",
    "proc",
    "[0x100000, 0x104000) MMU_NOTIFY_UNMAP",
  ),
  wide(3, "op", "down_read_trylock", "proc->mmap_sem", "= 1"),
  wide(2, "op", "mutex_lock", "svmm(cli)->mutex"),
  wide(1, "op", "mutex_lock", "svmm(cli)->mutex"),
  wide(1, "block", "block", "svmm(cli)->mutex"),
  wide(
    2,
    "op",
    "device_unmap",
    "cli->svm.vmm",
    "[0x100000, 0x101000) 0x100000->0x101 0x101000->0x102 0x102000->0x103",
  ),
  wide(3, "op", "device_unmap", "cli->svm.vmm", "[0x100000, 0x104000)"),
  wide(2, "op", "mutex_unlock", "svmm(cli)->mutex"),
  wide(
    1,
    "op",
    "device_map",
    "cli->svm.vmm",
    "0x100000->0x101 0x101000->0x102 0x102000->0x103 0x103000->0x104",
  ),
  wide(
    1,
    "fail",
    "use-after-free",
    undefined,
    "cli->svm.vmm: at rest, 0x100000 -> pfn 0x101: the page was freed",
  ),
];

const base = {
  driver: "toy",
  steps: { min: 20, median: 25, max: 30 },
  exhausted: false,
  message: null,
  replay: null,
  trace: null,
  threads: null,
  firstFailureAt: null,
  violations: [] as ResultRecord["violations"],
} as const;

export const RECORDS: ResultRecord[] = [
  {
    ...base,
    variant: "legacy",
    scenario: "T1-populate-vs-munmap",
    verdict: "use-after-free",
    expected: "use-after-free",
    expectedRef: "abcdef123456",
    asExpected: true,
    strategy: "exhaustive (preemption bound 2, at most 1000 executions)",
    exploration: { strategy: "exhaustive", preemptionBound: 2, executions: 1000 },
    executions: 17,
    firstFailureAt: 17,
    message: "toy.dev: at rest, 0x101000 -> pfn 0x102: the page was freed",
    replay: "toy:legacy:T1-populate-vs-munmap:v1.0.0-1_7-2_f",
    trace: TRACE,
    threads: [{ id: 1, name: "device", state: "runnable", holds: [] }],
    violations: [
      {
        kind: "use-after-free",
        firstFailureAt: 17,
        message: "toy.dev: at rest, 0x101000 -> pfn 0x102: the page was freed",
        replay: "toy:legacy:T1-populate-vs-munmap:v1.0.0-1_7-2_f",
        trace: TRACE,
        threads: [{ id: 1, name: "device", state: "runnable", holds: [] }],
      },
      {
        kind: "deadlock",
        firstFailureAt: 230,
        message: "device waits for munmap, munmap waits for device",
        replay: "toy:legacy:T1-populate-vs-munmap:v1n.0.0-1-2-2-1",
        trace: DEADLOCK_TRACE,
        threads: [
          { id: 1, name: "device", state: "blocked", blockedOn: "proc->mmap_sem", holds: ["toy->mutex"] },
          { id: 2, name: "munmap", state: "blocked", blockedOn: "toy->mutex", holds: ["proc->mmap_sem"] },
        ],
      },
    ],
    metrics: { populates: 1, retriesPerPopulate: 0, ticksBlocked: 12.5, callbacks: 3, lockHoldTicks: 40 },
  },
  {
    ...base,
    variant: "interval",
    scenario: "T1-populate-vs-munmap",
    verdict: "pass",
    expected: "pass",
    expectedRef: null,
    asExpected: true,
    strategy: "exhaustive (preemption bound 2, at most 1000 executions)",
    exploration: { strategy: "exhaustive", preemptionBound: 2, executions: 1000 },
    executions: 412,
    exhausted: true,
    metrics: { populates: 1, retriesPerPopulate: 0.25, ticksBlocked: 2, callbacks: 1, lockHoldTicks: 8.125 },
  },
  {
    ...base,
    variant: "legacy",
    scenario: "T2-exit | during populate",
    verdict: "pass",
    expected: "leak",
    expectedRef: "fedcba654321",
    asExpected: false,
    strategy: "random (50 executions, seed 3)",
    exploration: { strategy: "random", executions: 50, seed: 3 },
    executions: 50,
    metrics: { populates: 2, retriesPerPopulate: 0.5, ticksBlocked: 0, callbacks: 2, lockHoldTicks: 10 },
  },
  {
    ...base,
    variant: "interval",
    scenario: "T2-exit | during populate",
    verdict: "use-after-free",
    expected: "use-after-free",
    expectedRef: "T2; core.md 1.11",
    asExpected: true,
    strategy: "random (50 executions, seed 3)",
    exploration: { strategy: "random", executions: 50, seed: 3 },
    executions: 50,
    firstFailureAt: 1,
    message: "toy.dev: at rest, 0x101000 -> pfn 0x102: the page was freed",
    replay: "toy:interval:T2-exit | during populate:v1.3.0",
    trace: TRACE,
    threads: [],
    violations: [
      {
        kind: "use-after-free",
        firstFailureAt: 1,
        message: "toy.dev: at rest, 0x101000 -> pfn 0x102: the page was freed",
        replay: "toy:interval:T2-exit | during populate:v1.3.0",
        trace: TRACE,
        threads: [],
      },
    ],
    metrics: { populates: 2, retriesPerPopulate: 0, ticksBlocked: 0, callbacks: 1, lockHoldTicks: 4 },
  },
];

export const DRIVER: DriverSummary = {
  name: "toy",
  title: "A toy driver for the renderers' tests (drivers/gpu/toy/toy_svm.c)",
  design: {
    legacy: "A `hmm_mirror` whose `sync_cpu_device_pagetables` clears every range under `toy->mutex`.",
    interval: "One `mmu_interval_notifier` per buffer; the again-loop with `mmu_interval_read_retry`.",
  },
  patches: [
    {
      commit: "abcdef123456",
      title: "drm/toy: use mmu_interval_notifier | the new API",
      insertions: 120,
      deletions: 95,
    },
    { commit: "123456abcdef", title: "drm/toy: drop the hmm_mirror", insertions: 3, deletions: 40 },
  ],
  variants: [
    {
      id: "legacy",
      kernel: "5.4",
      files: ["drivers/gpu/toy/toy_svm.c"],
      commits: [],
      summary: "hmm_mirror, hmm_range_register",
      source: "packages/toy/src/legacy/",
      modelLines: 210,
    },
    {
      id: "interval",
      kernel: "5.5",
      files: ["drivers/gpu/toy/toy_svm.c"],
      commits: ["abcdef123456"],
      summary: "mmu_interval_notifier per buffer",
      source: "packages/toy/src/interval/",
      modelLines: 180,
    },
  ],
  scenarios: [
    {
      name: "T1-populate-vs-munmap",
      description: "The device populates while the process munmaps the second page.",
      exploration: { strategy: "exhaustive", preemptionBound: 2, executions: 1000 },
      expected: { legacy: { verdict: "use-after-free", ref: "abcdef123456" }, interval: { verdict: "pass" } },
    },
    {
      name: "T2-exit | during populate",
      description: "The process exits while the device populates.",
      exploration: { strategy: "random", executions: 50, seed: 3 },
      expected: {
        legacy: { verdict: "leak", ref: "fedcba654321", note: "the mirror keeps a page reference" },
        interval: {
          verdict: "use-after-free",
          ref: "T2; core.md 1.11",
          finding: {
            explanation:
              "toy_mn_ops registers no release op, so exit_mmap's unmap reaches no toy callback (core.md 1.11).",
            lines: [
              "drivers/gpu/toy/toy_svm.c: toy_mn_ops @5.5",
              "mm/mmu_notifier.c: mn_hlist_release() @5.5",
            ],
            later: "Unchanged in the newest toy_svm.c found.",
          },
        },
      },
    },
  ],
};

export const SAME: SameSchedule[] = [
  {
    driver: "toy",
    scenario: "T1-populate-vs-munmap",
    from: "legacy",
    to: "interval",
    how: "same-schedule",
    verdict: "pass",
    message: null,
    replay: "toy:interval:T1-populate-vs-munmap:v1.0.0-1_7-2_9",
    trace: TRACE_NEW,
    retries: 1,
  },
];

export const DOCS: DocsIndex = {
  "docs/core.md": ["core-1-11", "core-1-6"],
  "docs/toy.md": ["t1", "t2", "s2-2"],
};

export const MUTATION: MutationDocument = {
  schema: "mnlab-mutation/1",
  drivers: [
    {
      driver: "toy",
      variant: "interval",
      mutants: 5,
      killed: 3,
      survived: 2,
      byOperator: [
        { operator: "drop-call", generated: 3, killed: 2, survived: 1 },
        { operator: "negate-condition", generated: 2, killed: 1, survived: 1 },
      ],
      survivors: [
        {
          id: "toy-interval-3",
          operator: "negate-condition",
          location: "packages/toy/src/interval/fault.ts:42",
          diff: "-  if (mmu_interval_read_retry(mni, seq)) {\n+  if (!mmu_interval_read_retry(mni, seq)) {",
          note: "no scenario collides on the second pass",
        },
        {
          id: "toy-interval-4",
          operator: "drop-call",
          location: "packages/toy/src/interval/fault.ts:57",
          diff: "-  trace_toy_fault(addr);\n+",
          note: "Equivalent: a tracepoint, which no verdict reads",
        },
      ],
    },
  ],
};

export const INPUT: ReportInput = {
  drivers: [DRIVER],
  results: RECORDS,
  bench: null,
  sameSchedule: SAME,
  mutation: MUTATION,
  docs: DOCS,
};
