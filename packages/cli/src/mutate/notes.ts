/**
 * What a reviewer found when reading a surviving mutant: equivalent (and why, from the kernel
 * lines), or a gap in the scenarios or oracles (and what would kill it). Keyed by operator,
 * file and the edit itself (not the line number), so a note survives unrelated edits above it
 * and falls back to "not reviewed" when the mutated statement changes. Reviewed on the
 * committed nouveau and rdma-odp `interval` variants (mnlab mutate at --cap 2000).
 */
interface Reviewed {
  operator: string;
  file: string;
  description: string;
  note: string;
}

const NV = "packages/nouveau/src/interval/";
const ODP = "packages/rdma-odp/src/interval/";
const AMD = "packages/amdgpu/src/interval/";
const DM = "packages/dmirror/src/";
const GNT = "packages/xen-gntdev/src/interval/";

/**
 * ignore-blockable in a 5.5 interval callback: equivalent within the model, for a reason that
 * is the kernel's. 5.5's mn_itree_invalidate calls mni->ops->invalidate with no
 * non_block_start() around it (only the hlist pass has one: there the same mutant is killed,
 * sleep-in-atomic), so nothing in 5.5 sees a non-blockable interval callback sleep; what it
 * costs — the OOM reaper waiting behind the driver's lock or its fences while the lock holder
 * waits for memory — needs memory pressure, which the model does not have.
 */
const IGNORE_BLOCKABLE_IN_INTERVAL_CALLBACK =
  "Equivalent in the model: 5.5's mn_itree_invalidate has no non_block_start() around interval " +
  "callbacks (only the hlist pass has, where this mutant is killed), so a non-blockable interval " +
  "callback that sleeps is invisible to 5.5's own checks; its kernel cost (the OOM reaper stuck behind " +
  "the driver's lock or fences while the holder waits for memory) needs memory pressure, not modelled.";

const REVIEWED: Reviewed[] = [
  {
    operator: "set-seq-outside-lock",
    file: `${NV}fault.ts`,
    description: "move `await mmuIntervalSetSeq(mni, curSeq);` after `await svmm.mutex.unlock();`",
    note:
      "Equivalent in nouveau (reasoned): 5.5 __mmu_notifier_invalidate_range_start runs the itree pass " +
      "(this callback) before the hlist pass, whose nouveau_svmm_invalidate_range_start PFNCLRs the range " +
      "under svmm->mutex before any PTE changes. A fault that takes svmm->mutex between the unlock and " +
      "set_seq sees the old seq and PFNMAPs, and that PFNCLR removes the mapping; a later fault sees the " +
      "new seq. In a driver whose itree callback does the clear itself (rdma-odp) the same mutant is killed.",
  },
  {
    operator: "swap-ordered",
    file: `${NV}fault.ts`,
    description: "swap `await mmuIntervalSetSeq(mni, curSeq);` and `await svmm.mutex.unlock();`",
    note: "Equivalent, as set-seq-outside-lock on the same line: the hlist callback's PFNCLR comes after it.",
  },
  {
    operator: "shorten-clear-range",
    file: `${NV}index.ts`,
    description: "unmap(): end `ULONG_MAX` -> `(ULONG_MAX) - 0x1000`",
    note: "Equivalent: nvif_vmm_fini's clear of everything; nothing is ever mapped in the last page below ULONG_MAX.",
  },
  {
    operator: "shorten-clear-range",
    file: `${NV}svmm.ts`,
    description: "nouveauSvmmInvalidate(): end `svmm.unmanaged.limit` -> `(svmm.unmanaged.limit) - 0x1000`",
    note:
      "Equivalent (reasoned from nvkm, not from the reference): the page the shortened clear skips, " +
      "[unmanaged.limit - 1 page, unmanaged.limit), lies inside the NVKM-managed area (nvkm_vmm_ctor builds " +
      "PFN-mappable vmas only around it); nvkm_vmm_pfn_map refuses a PFNMAP there (fault.ts nvkmVmmPfnMap, " +
      "-ENOENT), even for the one-page window nouveau_svm_fault's clip lets through for a fault inside it, " +
      "so that page never holds a PFN mapping for PFNCLR to clear.",
  },
  {
    operator: "swap-ordered",
    file: `${NV}fault.ts`,
    description: "swap `await mm.mmapSem.upRead();` and `await mmput(mm);`",
    note: "Equivalent: on this early-exit path the mm_users reference the fault took is not the last one, so mmput before or after up_read frees nothing (the end check of mm_users sees either order balanced).",
  },
  {
    operator: "swap-ordered",
    file: `${NV}fault.ts`,
    description:
      "swap `range.notifierSeq = await mmuIntervalReadBegin(range.notifier);` and `await mm.mmapSem.downRead();`",
    note:
      "Equivalent (reasoned): read_begin under mmap_sem (read) may sleep until an invalidation ends; every " +
      "invalidation under mmap_sem takes it before invalidate_range_start (munmap, mprotect), so lockdep " +
      "already has mmap_sem -> invalidate_range_start and the wait adds no new order; the seq is still " +
      "taken before hmm_range_fault.",
  },
  {
    operator: "swap-ordered",
    file: `${NV}svmm.ts`,
    description: "swap `await mm.mmapSem.upWrite();` and `await cli.mutex.unlock();`",
    note: "Equivalent: the order two locks are released in changes no lock order, and nothing races NOUVEAU_SVM_INIT.",
  },
  {
    operator: "swap-ordered",
    file: `${NV}svmm.ts`,
    description: "swap `await svmm.mutex.unlock();` and `await mmuNotifierPut(svmm.notifier);`",
    note:
      "Equivalent: mmu_notifier_put only queues the free behind SRCU (call_srcu), it does not wait, so " +
      "calling it with svmm->mutex held cannot block a callback in flight.",
  },
  {
    operator: "shorten-clear-range",
    file: `${ODP}umem-odp.ts`,
    description: "ibUmemOdpUnmapDmaPages(): end `umem.end` -> `(umem.end) - 0x1000`",
    note:
      "Equivalent: ib_umem_odp_release clears the DMA list right before the umem is freed with it; the " +
      "device's view (the MTT) is zapped by mlx5_ib_dereg_mr, whose own shortened clear is killed.",
  },
  {
    operator: "swap-ordered",
    file: `${ODP}mlx5-odp.ts`,
    description:
      "swap `await mr.mtt.unmap(odp.start, odp.end);` and `ibUmemOdpUnmapDmaPages(odp, odp.start, odp.end);`",
    note: "Equivalent: both clears run under umem_mutex, so no reader sees one done without the other.",
  },
  {
    operator: "drop-clear",
    file: `${ODP}umem-odp.ts`,
    description: "remove `ibUmemOdpUnmapDmaPages(umem, umem.start, umem.end);`",
    note:
      "Equivalent for everything the model sees: ib_umem_odp_release runs after mlx5_ib_dereg_mr zapped the " +
      "MTT, and 5.5 ODP holds no page reference (ib_umem_odp_map_dma_single_page ends in put_user_page), so " +
      "the DMA list freed with the umem points at nothing the device can reach. What the kernel loses is " +
      "each page's ib_dma_unmap_page (an IOMMU mapping leak CONFIG_DMA_API_DEBUG reports); the model does " +
      "not track DMA-API mappings.",
  },
  ...[`${AMD}mn.ts`, `${AMD}mn.ts`, `${NV}fault.ts`, `${ODP}mlx5-odp.ts`].map((file) => ({
    operator: "ignore-blockable",
    file,
    description: "`rangeBlockable(range)` -> `true`",
    note: IGNORE_BLOCKABLE_IN_INTERVAL_CALLBACK,
  })),
  {
    operator: "swap-ordered",
    file: `${AMD}ttm.ts`,
    description:
      "swap `range.notifierSeq = await mmuIntervalReadBegin(bo.notifier);` and `await mm.mmapSem.downRead();`",
    note:
      "Equivalent (reasoned), as nouveau's same swap: read_begin with mmap_sem held for read may sleep until " +
      "the invalidation in progress ends; an invalidation that needs mmap_sem for write (munmap) cannot be in " +
      "progress while it is held for read, and the others (migration, reclaim, madvise's read hold) do not " +
      "wait for it, so the sleep always ends; the seq is still taken before hmm_range_fault.",
  },
  {
    operator: "drop-fence-wait",
    file: "packages/radeon/src/interval/radeon-mn.ts",
    description: "`await dmaResvWaitTimeoutRcu(bo)` -> `1`",
    note:
      "Equivalent (reasoned): radeon_mn_invalidate's ttm_bo_validate to the CPU domain moves the BO through " +
      "ttm_bo_move_ttm, which waits for the same fences (ttm_bo_wait) before ttm_tt_unbind, so the GART " +
      "pages are never unbound under a running job even without the explicit wait; only its DRM_ERROR on " +
      "a failed wait is lost.",
  },
  // dmirror (lib/test_hmm.c @5.8): survivors of `mutate dmirror:interval` with the snapshot scenarios
  // (hmm.snapshot-vs-munmap, hmm.snapshot-vs-migrate) and the snapshot oracle (dmirror
  // snapshot-oracle.ts: every byte agrees with the CPU page table when dmirror_range_snapshot fills
  // it), which kill drop-read-retry, drop-set-seq, drop-lock-pair, invert-read-retry,
  // set-seq-outside-lock and swap-ordered at the snapshot callback, the short temporary notifier,
  // drop-remove and drop-mmput.
  {
    operator: "shorten-notifier-range",
    file: `${DM}dmirror.ts`,
    description: "mmuIntervalNotifierInsert(): length `DMIRROR_VA_LENGTH` -> `(DMIRROR_VA_LENGTH) - 0x1000`",
    note:
      "Equivalent: the whole-VA notifier loses its top page below ULONG_MAX & PAGE_MASK, which no VMA " +
      "ever covers (user space ends at TASK_SIZE; the model maps nothing there), and RELEASE's [0, " +
      "ULONG_MAX) still meets it.",
  },
  {
    operator: "swap-ordered",
    file: `${DM}fault.ts`,
    description:
      "swap `range.notifierSeq = await mmuIntervalReadBegin(range.notifier);` and `await mm.mmapSem.downRead();`",
    note:
      "Equivalent (reasoned), as nouveau's: read_begin under mmap_sem (read) may sleep until an exclusion " +
      "period ends; the invalidations that need mmap_sem for write take it before invalidate_range_start, " +
      "so none is in flight, and the rest (migration, reclaim, the OOM reaper's read hold) do not wait for " +
      "it; lockdep already has mmap_sem -> invalidate_range_start. The seq is still taken before the walk.",
  },
  {
    operator: "swap-ordered",
    file: `${DM}snapshot.ts`,
    description:
      "swap `range.notifierSeq = await mmuIntervalReadBegin(range.notifier);` and `await mm.mmapSem.downRead();`",
    note: "Equivalent (reasoned), as the same swap in dmirror_range_fault (fault.ts).",
  },
  {
    operator: "ignore-blockable",
    file: `${DM}invalidate.ts`,
    description: "`rangeBlockable(range)` -> `true`",
    note:
      `${IGNORE_BLOCKABLE_IN_INTERVAL_CALLBACK} In dmirror nothing holding dmirror->mutex (the fault path's ` +
      "store, the ioctls' copy, the snapshot's bytes) waits for the reaper, so the mutex_lock always returns.",
  },
  {
    operator: "ignore-blockable",
    file: `${DM}snapshot.ts`,
    description: "`rangeBlockable(range)` -> `true`",
    note: `${IGNORE_BLOCKABLE_IN_INTERVAL_CALLBACK} As dmirror_interval_invalidate's (invalidate.ts).`,
  },
  // xen-gntdev (drivers/xen/gntdev.c @5.5): survivors of `mutate xen-gntdev:interval`.
  {
    operator: "ignore-blockable",
    file: `${GNT}gntdev.ts`,
    description: "`rangeBlockable(range)` -> `true`",
    note:
      "Equivalent in the model: gntdev_invalidate takes no lock; without the test a non-blockable start " +
      "(the OOM reaper over a MAP_PRIVATE grant mapping, G2) unmaps the grants by hypercall before the " +
      "zap, the order the notifier exists for, instead of -EAGAIN and the reaper skipping the VMA. " +
      "gnttab_unmap_refs_sync sleeps while a page has another reference, and its might_sleep() passes: " +
      "5.5's mn_itree_invalidate has no non_block_start() around interval callbacks; the cost (the " +
      "reaper blocked behind another domain's page references under memory pressure) is not modelled.",
  },
];

export function survivorNote(operator: string, file: string, description: string): string {
  return (
    REVIEWED.find((r) => r.operator === operator && r.file === file && r.description === description)?.note ??
    `${description}: no scenario's verdict changed at this budget — equivalent, or a gap in the scenarios (not reviewed yet)`
  );
}
