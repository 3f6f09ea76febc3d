/**
 * The gntdev scenarios: the reference rows G1, G2, G8 (rdma-xen-drivers.md 3.5), the hazards
 * of a driver that keeps a pointer to its VMA (partial munmaps in several orders, a partial
 * mprotect, MAP_FIXED over a live mapping), the unmap ioctl before munmap, fork, the mmap
 * error path, and the generic conformance suite. Every scenario states its expectation for
 * both guest kinds: `legacy`/`interval` are PV (use_ptemod), `legacy-hvm`/`interval-hvm`
 * auto-translated (reference 3: "In HVM/PVH mode the pages are ordinary ballooned pages
 * inserted with vm_map_pages, and no notifier is used").
 *
 * The oracle is the hypervisor's (reference 3.5 invariants): no PTE Xen wrote may be cleared
 * or changed by Linux before its grant is unmapped — Xen reports "Attempt to implicitly unmap
 * a granted PTE" — reported as `stale-access`; a freed pfn under a live grant is
 * `use-after-free`; grants or maps left behind are `leak`.
 *
 * Unsettled by the reference, worked out from the kernel lines (flagged in the note):
 * a partial munmap or mprotect of a PV mapping. __split_vma keeps the original
 * vm_area_struct — the one map->vma points to — for the part *outside* a munmapped range
 * (below it when the cut starts inside the VMA), and for the part *inside* an mprotected
 * range. Both versions then compute the overlap from map->vma's current bounds (5.4
 * in_range()/unmap_if_in_range(); 5.5 gntdev_invalidate(), whose FIXME says so) and the
 * offset from map->vma->vm_start rather than pages_vm_start: the munmapped grants are not
 * unmapped before zap_pte_range clears their PTEs, and after an mprotect split the wrong
 * grants are unmapped while the protected ones are rewritten. 5.5 adds a WARN at the close of
 * the other part and removes the notifier there (the original keeps live grants without it),
 * and removes it a second time when the original is closed. And 5.5's gntdev_invalidate takes
 * no lock, so two invalidations that hold mmap_sem only for read (MADV_DONTNEED) unmap the same
 * handles twice. Each 5.5 violation carries its Finding record.
 */
import {
  BASE,
  type BufferHandle,
  both,
  conformance,
  type Expectation,
  type ExplorationSpec,
  exitTask,
  type Finding,
  fork,
  getUserPages,
  madviseDontneed,
  mmap,
  mprotect,
  munmap,
  mustRegister,
  oomReapTaskMm,
  PAGE_SIZE,
  pageAddr,
  releaseUserPages,
  type Scenario,
} from "@mnlab/core";
import { gntdevOf } from "./common/gntdev-file.ts";

const P = PAGE_SIZE;
const BOUND2: ExplorationSpec = { strategy: "exhaustive", preemptionBound: 2, executions: 20_000 };

type Four = Record<"legacy" | "interval" | "legacy-hvm" | "interval-hvm", Expectation>;

const HVM_PASS = (note: string): Pick<Four, "legacy-hvm" | "interval-hvm"> => ({
  "legacy-hvm": { verdict: "pass", ref: "reference 3 (HVM: no notifier)", note },
  "interval-hvm": { verdict: "pass", ref: "reference 3 (HVM: no notifier)", note },
});
const HVM_ZAP =
  "the PTEs map ballooned pages by vm_insert_page; zapping them is legal, the grants stay on the pfns until the last gntdev_put_map unmaps them";

const LATER_SPLIT =
  'Not in the reference or findings-status. The record here does not say; an upstream change titled "xen/gntdev: Accommodate VMA splitting" (2022) is remembered, unverified, to rework gntdev_vma_close and the notifier for split VMAs.';
const SPLIT_FINDING: Finding = {
  explanation:
    "The notifier covers the VMA's range at mmap time, but gntdev_invalidate clips the range to map->vma's current bounds (its FIXME). __split_vma keeps the original vm_area_struct — map->vma — for the part outside a munmapped hole, so the hole's own invalidation is answered true without an unmap, and zap_pte_range then clears grant PTEs Xen still owns. 5.4's in_range()/unmap_if_in_range() did the same; the conversion kept it.",
  lines: [
    "drivers/xen/gntdev.c: gntdev_invalidate() @5.5 (map->vma->vm_start >= range->end || map->vma->vm_end <= range->start)",
    "mm/mmap.c: __split_vma() @5.5 (vma_adjust keeps the original for one part)",
    "mm/mmap.c: __do_munmap() @5.5 (split, detach, then unmap_region)",
  ],
  later: LATER_SPLIT,
};

const SPLIT_NOTE_54 =
  "(inference, not in the reference) __split_vma leaves map->vma on the part outside the hole; in_range() tests that part's bounds, the unmapped grants are skipped and zap_pte_range clears their PTEs: Xen's implicit unmap";
const SPLIT_NOTE_55 =
  "FINDING (not in the reference): gntdev_invalidate tests map->vma's current bounds (its FIXME), which __split_vma shrank to the part outside the hole: the unmapped grants are skipped and zap_pte_range clears their PTEs; 5.4 did the same";
const splitExpect = (what: string): Four => ({
  legacy: {
    verdict: "stale-access",
    ref: "drivers/xen/gntdev.c in_range() @5.4 + mm/mmap.c __split_vma",
    note: `${SPLIT_NOTE_54}; ${what}`,
  },
  interval: {
    verdict: "stale-access",
    ref: "d3eeb1d77c5d gntdev_invalidate() FIXME + __split_vma",
    note: `${SPLIT_NOTE_55}; ${what}`,
    finding: SPLIT_FINDING,
  },
  ...HVM_PASS(HVM_ZAP),
});

/** The reference rows and the driver's own hazards. */
export const referenceScenarios: Scenario[] = [
  {
    name: "G1-munmap-whole-mapping",
    description:
      "A PV backend has 4 granted pages mmapped (IOCTL_GNTDEV_MAP_GRANT_REF + mmap) and munmaps the " +
      "whole mapping while it still reads pages 1 and 3. The grants must be unmapped by hypercall " +
      "before zap_pte_range clears the PTEs Xen wrote.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
        [
          "backend",
          async () => {
            await s.ctx.access(buf, pageAddr(1), false);
            await s.ctx.access(buf, pageAddr(3), false);
          },
        ],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row G1",
        note: "mn_invl_range_start scans priv->maps, map->vma overlaps: unmap_grant_pages before the zap",
      },
      interval: {
        verdict: "pass",
        ref: "reference row G1; d3eeb1d77c5d",
        note: "the interval tree hands the map's notifier to gntdev_invalidate before the zap",
      },
      ...HVM_PASS(HVM_ZAP),
    },
  },
  {
    name: "G1-unmap-ioctl-before-munmap",
    description:
      "IOCTL_GNTDEV_UNMAP_GRANT_REF races the munmap of the still-mapped grants (either order). The " +
      "map leaves priv->maps while its VMA lives: 5.4 keeps it on freeable_maps for the notifier, 5.5 " +
      "keeps its interval notifier until gntdev_vma_close.",
    exploration: BOUND2,
    async run(s) {
      const buf = (await mustRegister(s, BASE, 4 * P)) as BufferHandle & { index: number; count: number };
      const g = gntdevOf(s.k);
      await both(
        s,
        ["ioctl", async () => void (await g.unmapGrantRef(buf.index, buf.count))],
        ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
      );
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row G1 (variant)",
        note: "the map is found on freeable_maps; gntdev_put_map unlinks it under priv->lock at the last put",
      },
      interval: {
        verdict: "pass",
        ref: "reference row G1 (variant); d3eeb1d77c5d",
        note: "the notifier stays until vma_close",
      },
      ...HVM_PASS("the last put (ioctl or vma_close) unmaps the grants after the zap"),
    },
  },
  {
    name: "G2-oom-reaper-over-private-grant-mapping",
    description:
      "The OOM reaper (non-blockable UNMAP starts) reaps a process with a read-only MAP_PRIVATE grant " +
      "mapping (reapable: !VM_SHARED) over pages 0-1 and anonymous memory over pages 2-3, while the " +
      "backend reads page 0. Overlap must refuse with -EAGAIN and never sleep; other ranges are reaped.",
    exploration: BOUND2,
    async run(s) {
      const g = gntdevOf(s.k);
      const index = await g.mapGrantRef(2);
      const err = await g.mmapGrants(index, BASE, 2 * P, { write: false, shared: false });
      if (err !== 0) s.ex.fail("exception", `mmap returned ${err}`);
      const buf: BufferHandle & { index: number; count: number } = {
        start: BASE,
        end: BASE + 2 * P,
        index,
        count: 2,
      };
      await both(
        s,
        ["oom_reaper", async () => void (await oomReapTaskMm(s.mm))],
        ["backend", async () => void (await s.ctx.access(buf, pageAddr(0), false))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row G2",
        note: "mutex_trylock(priv->lock), then unmap_if_in_range returns -EAGAIN for the overlapping map; the reaper skips that VMA",
      },
      interval: {
        verdict: "pass",
        ref: "reference row G2; d3eeb1d77c5d",
        note: "only the overlapping map's gntdev_invalidate is called; it returns false, the core answers -EAGAIN",
      },
      ...HVM_PASS(
        "no notifier: the reaper zaps the private PTEs; the grants stay mapped on the ballooned pfns the driver still holds",
      ),
    },
  },
  {
    name: "G2-oom-reaper-contended-priv-lock",
    description:
      "A shared grant mapping over pages 0-1 (not reaped: VM_SHARED) while the backend maps and unmaps " +
      "another grant (ioctls take priv->lock) and the OOM reaper reaps the anonymous pages 2-3, which no " +
      "grant touches. 5.4's per-file notifier sees every range and trylocks priv->lock: a contended lock " +
      "is -EAGAIN for a range without grants (reference 3.4 item 2); 5.5 is not called at all.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      const g = gntdevOf(s.k);
      await both(
        s,
        [
          "backend",
          async () => {
            const index = await g.mapGrantRef(1);
            await g.unmapGrantRef(index, 1);
          },
        ],
        ["oom_reaper", async () => void (await oomReapTaskMm(s.mm))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row G2; 3.4 item 2 (inference)",
        note: "a coarse back-off, not a safety violation: measured as the -EAGAIN rate in the metrics test",
      },
      interval: {
        verdict: "pass",
        ref: "reference row G2; d3eeb1d77c5d",
        note: "no notifier meets pages 2-3",
      },
      ...HVM_PASS("no notifier"),
    },
  },
  {
    name: "G8-exit-with-live-pv-mappings",
    description:
      "The process exits (exit_mmap) with two grant mappings still mmapped while the backend reads " +
      "both; the gntdev file is closed afterwards. Every grant must be unmapped before exit_mmap zaps.",
    exploration: BOUND2,
    async run(s) {
      const a = await mustRegister(s, BASE, 2 * P);
      const b = await mustRegister(s, pageAddr(2), 2 * P);
      await both(
        s,
        ["exit", async () => await exitTask(s.mm)],
        [
          "backend",
          async () => {
            await s.ctx.access(a, pageAddr(1), false);
            await s.ctx.access(b, pageAddr(2), false);
          },
        ],
      );
      const g = gntdevOf(s.k);
      for (const x of [a, b] as (BufferHandle & { index: number; count: number })[])
        await g.unmapGrantRef(x.index, x.count);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference row G8",
        note: "mn_release unmaps every map with a vma, on both lists; vma_close then clears map->vma",
      },
      interval: {
        verdict: "pass",
        ref: "reference row G8; 99cb252f5e68 (mn_itree_release)",
        note: "the RELEASE invalidation reaches each notifier; vma_close removes it",
      },
      ...HVM_PASS("exit_mmap zaps the vm_insert_page PTEs; the last put unmaps the grants"),
    },
  },
  {
    name: "G-partial-munmap-tail",
    description:
      "munmap of the upper half (pages 2-3) of a 4-page PV grant mapping, then the backend reads page " +
      "0, then the rest is unmapped. __split_vma keeps map->vma's object for pages 0-1.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await munmap(s.mm, pageAddr(2), 2 * P);
      await s.ctx.access(buf, pageAddr(0), false);
      await s.ctx.unregister(buf);
    },
    expected: splitExpect("the grants of pages 2-3"),
  },
  {
    name: "G-partial-munmap-head",
    description:
      "munmap of page 0 of a 4-page PV grant mapping, then the rest. __split_vma keeps map->vma's " +
      "object for pages 1-3 (vm_start moves up).",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await munmap(s.mm, BASE, P);
      await s.ctx.access(buf, pageAddr(1), false);
      await s.ctx.unregister(buf);
    },
    expected: splitExpect("the grant of page 0"),
  },
  {
    name: "G-partial-munmap-middle-racing-reads",
    description:
      "munmap of pages 1-2 of a 4-page PV grant mapping while the backend reads pages 0 and 3: the " +
      "hole splits the VMA twice; map->vma keeps page 0.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await both(
        s,
        ["munmap", async () => void (await munmap(s.mm, pageAddr(1), 2 * P))],
        [
          "backend",
          async () => {
            await s.ctx.access(buf, pageAddr(0), false);
            await s.ctx.access(buf, pageAddr(3), false);
          },
        ],
      );
      await s.ctx.unregister(buf);
    },
    expected: splitExpect("the grants of pages 1-2"),
  },
  {
    name: "G-madvise-dontneed-then-partial-munmaps",
    description:
      "madvise(MADV_DONTNEED) over a whole 4-page PV grant mapping (the CLEAR invalidation unmaps every " +
      "grant; the VMA stays), then munmap of pages 2-3, then of pages 0-1. No grant PTE is left to " +
      "zap, but the VMA splits: the tail's new vm_area_struct is closed first, the original last.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await madviseDontneed(s.mm, BASE, 4 * P);
      await munmap(s.mm, pageAddr(2), 2 * P);
      await s.ctx.access(buf, pageAddr(0), false);
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "drivers/xen/gntdev.c gntdev_vma_close() @5.4",
        note: "each close only clears map->vma under priv->lock and puts a reference (gntdev_vma_open took one at the split)",
      },
      interval: {
        verdict: "kernel-bug",
        ref: "d3eeb1d77c5d gntdev_vma_close() + mm/mmap.c __split_vma",
        note: "FINDING (not in the reference): closing the tail's new VMA fires WARN_ON(map->vma != vma) and removes the map's notifier anyway; closing the original then WARNs again and calls mmu_interval_notifier_remove a second time: interval_tree_remove of an erased node (rb-tree corruption) and a second mmdrop",
        finding: {
          explanation:
            "Every part of a split gntdev VMA is closed, but there is one notifier per map. gntdev_vma_close only WARNs when map->vma is not the VMA being closed, then removes the notifier and clears map->vma regardless: the first part closed removes it, the last part closed removes it again (rb_erase of a node already erased, a second mmdrop of the mm). 5.4's vma_close only cleared map->vma under priv->lock, which is harmless twice.",
          lines: [
            "drivers/xen/gntdev.c: gntdev_vma_close() @5.5 (WARN_ON(map->vma != vma); mmu_interval_notifier_remove(&map->notifier); map->vma = NULL)",
            "mm/mmu_notifier.c: mmu_interval_notifier_remove() @5.5 (interval_tree_remove without RB_CLEAR_NODE)",
          ],
          later: LATER_SPLIT,
        },
      },
      ...HVM_PASS("no notifier; splits and closes only move map references"),
    },
  },
  {
    name: "G-concurrent-madvise-dontneed",
    description:
      "Two threads of the backend madvise(MADV_DONTNEED) the same 2-page PV grant mapping at once: both " +
      "hold mmap_sem for read only, so both CLEAR invalidations run their callbacks concurrently. " +
      "Each grant handle must be unmapped once.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      await both(
        s,
        ["madvise_a", async () => void (await madviseDontneed(s.mm, BASE, 2 * P))],
        ["madvise_b", async () => void (await madviseDontneed(s.mm, BASE, 2 * P))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "drivers/xen/gntdev.c mn_invl_range_start() @5.4",
        note: "priv->lock serialises the two callbacks; the second finds every handle -1 and unmaps nothing",
      },
      interval: {
        verdict: "kernel-warn",
        ref: "d3eeb1d77c5d gntdev_invalidate() (no lock) + unmap_grant_pages()",
        note: "FINDING (not in the reference): the callback takes no gntdev lock, so both read the same live handles before either sets them to -1; the second GNTTABOP_unmap_grant_ref gets GNTST_bad_handle, __unmap_grant_pages returns -EINVAL and gntdev_invalidate's WARN_ON(err) fires",
        finding: {
          explanation:
            "5.4 serialised every invalidation on priv->lock, so unmap_grant_pages saw handles set to -1 by the previous one. 5.5's gntdev_invalidate takes no lock, and two invalidations of one map can run at once when neither holds mmap_sem for write (madvise(MADV_DONTNEED) holds it for read): both pass the handle != -1 test before either hypercall returns, and the second unmaps handles Xen has already released.",
          lines: [
            "drivers/xen/gntdev.c: gntdev_invalidate() @5.5 (no priv->lock)",
            "drivers/xen/gntdev.c: unmap_grant_pages() / __unmap_grant_pages() @5.5 (handle == -1 test, then -1 after the hypercall)",
            "mm/madvise.c: madvise_dontneed_single_vma() @5.5 (mmap_sem for read)",
          ],
          later:
            "Not in the reference or findings-status; the record here says nothing of later locking in gntdev_invalidate.",
        },
      },
      ...HVM_PASS("no notifier: DONTNEED zaps ordinary PTEs"),
    },
  },
  {
    name: "G-unmap-waits-for-page-reference",
    description:
      "The backend holds a get_user_pages reference on page 0 of a PV grant mapping (direct I/O in " +
      "flight) while the process munmaps the mapping: gnttab_unmap_refs_sync sleeps, retrying from " +
      "delayed work every GNTTAB_UNMAP_REFS_DELAY * (age + 1) ms, until the reference is dropped — in " +
      "5.4 inside mn_invl_range_start with priv->lock held, in 5.5 inside gntdev_invalidate.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      const gup = await (async () => {
        await s.mm.mmapSem.downRead();
        const r = await getUserPages(s.mm, BASE, 1, { write: false });
        await s.mm.mmapSem.upRead();
        return r;
      })();
      await both(
        s,
        [
          "backend_io",
          async () => {
            await s.ex.sleep(12);
            releaseUserPages(s.mm, gup.pages, false);
          },
        ],
        ["munmap", async () => void (await munmap(s.mm, BASE, 2 * P))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "pass",
        ref: "reference 3.1 (unmap_grant_pages may sleep until page references drop)",
      },
      interval: { verdict: "pass", ref: "reference 3.2; d3eeb1d77c5d" },
      ...HVM_PASS("the grants are unmapped at the last put, after the zap; the GUP reference only delays it"),
    },
  },
  {
    name: "G-munmap-whole-then-unmap-ioctl",
    description:
      "The usual teardown order (libxengnttab: munmap, then IOCTL_GNTDEV_UNMAP_GRANT_REF) of two grant " +
      "mappings, one after the other, each munmapped whole: no split, map->vma covers the range.",
    exploration: BOUND2,
    async run(s) {
      const a = await mustRegister(s, BASE, 2 * P);
      const b = await mustRegister(s, pageAddr(2), 2 * P);
      await s.ctx.unregister(b);
      await s.ctx.unregister(a);
    },
    expected: {
      legacy: { verdict: "pass", ref: "reference row G1" },
      interval: { verdict: "pass", ref: "reference row G1; d3eeb1d77c5d" },
      ...HVM_PASS(HVM_ZAP),
    },
  },
  {
    name: "G-mprotect-tail-of-mapping",
    description:
      "mprotect(PROT_READ) of pages 2-3 of a 4-page writable PV grant mapping. mprotect_fixup splits so " +
      "that map->vma's object keeps pages 2-3 (vm_start moves up); the overlap's offset is taken from " +
      "that vm_start.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await mprotect(s.mm, pageAddr(2), 2 * P, { read: true, write: false });
      await s.ctx.access(buf, pageAddr(3), false);
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: {
        verdict: "stale-access",
        ref: "drivers/xen/gntdev.c unmap_if_in_range() @5.4 + mm/mprotect.c mprotect_fixup",
        note: "(inference, not in the reference) offset (mstart - map->vma->vm_start) is 0: the grants of pages 0-1 are unmapped and change_pte_range rewrites the live grant PTEs of pages 2-3; what Xen does with a rewritten grant PTE is not in the record (the model reports it as the PTE Xen wrote changed behind it)",
      },
      interval: {
        verdict: "stale-access",
        ref: "d3eeb1d77c5d gntdev_invalidate() + mprotect_fixup",
        note: "FINDING (not in the reference): the same offset arithmetic from map->vma->vm_start as 5.4; the notifier (over pages 0-3) is called for pages 2-3 and unmaps pages 0-1's grants",
        finding: {
          explanation:
            "mprotect_fixup splits so that the original vm_area_struct (map->vma) keeps the protected part; gntdev_invalidate computes the page offset as (mstart - map->vma->vm_start) >> PAGE_SHIFT, i.e. from the shrunken VMA, not from pages_vm_start, so it unmaps the grants at the start of the map and leaves the protected ones for change_pte_range to rewrite.",
          lines: [
            "drivers/xen/gntdev.c: gntdev_invalidate() @5.5 (unmap_grant_pages(map, (mstart - map->vma->vm_start) >> PAGE_SHIFT, ...))",
            "mm/mprotect.c: mprotect_fixup() @5.5 (split_vma(..., start, 1); split_vma(..., end, 0))",
          ],
          later: `${LATER_SPLIT} What Xen does with a grant PTE whose RW bit Linux rewrites is not in the record either.`,
        },
      },
      ...HVM_PASS("PROTECTION_VMA needs no notifier; change_pte_range write-protects ordinary PTEs"),
    },
  },
  {
    name: "G-map-fixed-over-whole-mapping",
    description:
      "mmap(MAP_FIXED | MAP_ANONYMOUS) over the whole live grant mapping while the backend reads it: " +
      "mmap_region's do_munmap detaches the gntdev VMA whole and unmaps it inside its own invalidation.",
    exploration: BOUND2,
    async run(s) {
      const buf = (await mustRegister(s, BASE, 4 * P)) as BufferHandle & { index: number; count: number };
      await both(
        s,
        ["mmap", async () => void (await mmap(s.mm, BASE, 4 * P, { read: true, write: true }))],
        ["backend", async () => void (await s.ctx.access(buf, pageAddr(2), false))],
      );
      await gntdevOf(s.k).unmapGrantRef(buf.index, buf.count);
    },
    expected: {
      legacy: { verdict: "pass", ref: "reference row G1 (munmap through mmap_region)" },
      interval: { verdict: "pass", ref: "reference row G1; d3eeb1d77c5d" },
      ...HVM_PASS(HVM_ZAP),
    },
  },
  {
    name: "G-map-fixed-over-half-mapping",
    description:
      "mmap(MAP_FIXED | MAP_ANONYMOUS) over pages 2-3 of a live 4-page PV grant mapping: do_munmap " +
      "splits the gntdev VMA first, as a partial munmap does.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await mmap(s.mm, pageAddr(2), 2 * P, { read: true, write: true });
      await s.ctx.unregister(buf);
    },
    expected: splitExpect("the grants of pages 2-3, via mmap_region's do_munmap"),
  },
  {
    name: "G-fork-child-exits",
    description:
      "The backend forks with a writable grant mapping live, the child exits at once, then the parent " +
      "unmaps. PV gntdev VMAs are VM_DONTCOPY; HVM ones are copied (gntdev_vma_open takes a map reference).",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 2 * P);
      let child: Awaited<ReturnType<typeof fork>> | null = null;
      await both(
        s,
        [
          "fork",
          async () => {
            child = await fork(s.mm);
            await exitTask(child);
          },
        ],
        ["backend", async () => void (await s.ctx.access(buf, pageAddr(0), true))],
      );
      await s.ctx.unregister(buf);
    },
    expected: {
      legacy: { verdict: "pass", ref: "drivers/xen/gntdev.c gntdev_mmap() @5.4 (VM_DONTCOPY in PV)" },
      interval: { verdict: "pass", ref: "d3eeb1d77c5d (VM_DONTCOPY unchanged)" },
      ...HVM_PASS("the child's copy holds a map reference (vm_ops->open) that its exit drops"),
    },
  },
  {
    name: "G-mmap-error-path",
    description:
      "The frontend has revoked the second of three grants when the backend mmaps them: the grant-map " +
      "hypercall fails for it, gntdev_mmap takes its error path (5.4: clear map->vma, unmap the mapped " +
      "grants; 5.5: unmap them, remove the notifier, clear map->vma) and mmap_region unmaps the range.",
    pages: 4,
    exploration: BOUND2,
    async run(s) {
      const g = gntdevOf(s.k);
      const index = await g.mapGrantRef(3);
      g.xen.revoked.add(2);
      const err = await g.mmapGrants(index, BASE, 3 * P, { write: true, shared: true });
      if (err === 0) s.ex.fail("exception", "mmap of a revoked grant succeeded");
      await g.unmapGrantRef(index, 3);
    },
    expected: {
      legacy: { verdict: "pass", ref: "drivers/xen/gntdev.c gntdev_mmap() out_put_map @5.4" },
      interval: { verdict: "pass", ref: "d3eeb1d77c5d gntdev_mmap() out_put_map" },
      ...HVM_PASS("the failed map is unmapped at the last put"),
    },
  },
];

// ---------------------------------------------------------------- conformance expectations

const pvPass = (legacyNote: string, intervalNote: string): Pick<Four, "legacy" | "interval"> => ({
  legacy: { verdict: "pass", ref: "reference 3.1", note: legacyNote },
  interval: { verdict: "pass", ref: "reference 3.2; d3eeb1d77c5d", note: intervalNote },
});

export const conformanceExpectations: Record<string, Four> = {
  "populate-vs-munmap": splitExpect(
    "the conformance munmap of pages 2-3 cuts the grant mapping of pages 0-3",
  ),
  "register-during-invalidation": {
    ...pvPass(
      "the migrated page is the anonymous one MAP_FIXED replaces (try_to_unmap_one leaves a PTE that maps another page alone); balloon pages are on no LRU",
      "as legacy; insert_locked under priv->lock, read_begin waits out an open bracket",
    ),
    ...HVM_PASS("as PV, without a notifier"),
  },
  "invalidate-between-lookup-and-program": {
    ...pvPass(
      "migration cannot isolate a balloon page (no LRU): no invalidation reaches the grant PTE",
      "as legacy",
    ),
    ...HVM_PASS("as PV"),
  },
  "unregister-during-invalidation": {
    ...pvPass(
      "either munmap unmaps the grants under priv->lock before the zap; the ioctl moves the map to freeable_maps, still scanned",
      "the notifier stays until vma_close; remove waits out a running callback",
    ),
    ...HVM_PASS(HVM_ZAP),
  },
  "oom-reaper-nonblocking": {
    ...pvPass(
      "the grant mapping is VM_SHARED and file-backed: __oom_reap_task_mm skips it; a non-blockable start never sleeps",
      "as legacy",
    ),
    ...HVM_PASS("the reaper skips the shared mapping"),
  },
  "exit-during-populate": {
    ...pvPass(
      "mn_release unmaps the grants before exit_mmap zaps",
      "the RELEASE invalidation unmaps them; vma_close removes the notifier",
    ),
    ...HVM_PASS("exit_mmap zaps ordinary PTEs; the last put unmaps the grants"),
  },
  "nested-invalidation-during-register": splitExpect(
    "whenever the munmap of pages 2-3 comes after the grant mmap of pages 0-3 (the THP split adds nothing)",
  ),
  "mprotect-readonly-then-device-write": {
    ...pvPass(
      "mprotect of exactly the mapping: no split; PROTECTION_VMA unmaps every grant, the write faults",
      "as legacy: gntdev_invalidate does not look at the event",
    ),
    ...HVM_PASS("change_pte_range write-protects ordinary PTEs; the write faults"),
  },
  "fork-cow-then-device-write": {
    ...pvPass("PV gntdev VMAs are VM_DONTCOPY: the child gets nothing", "as legacy"),
    "legacy-hvm": {
      verdict: "leak",
      ref: "dup_mmap copies the HVM gntdev VMA (no VM_DONTCOPY); harness",
      note: "not a kernel bug: the scenario never exits the child, whose copy of the mapping keeps the map and its pages referenced at the end check; G-fork-child-exits (the child exits) passes",
    },
    "interval-hvm": {
      verdict: "leak",
      ref: "dup_mmap copies the HVM gntdev VMA (no VM_DONTCOPY); harness",
      note: "as legacy-hvm: the child still maps the grants when the run ends",
    },
  },
  "two-registrations-one-invalidation": {
    ...pvPass("one scan of priv->maps unmaps both", "one callback per map's notifier"),
    ...HVM_PASS(HVM_ZAP),
  },
  "partial-munmap": splitExpect("the middle page of the 3-page grant mapping"),
  "migrate-then-munmap-at-buffer-edges": splitExpect(
    "the munmap of pages 3-4 straddles the end of the grant mapping at pages 1-3 and splits it at page 3 (the migration of its first page finds a balloon page, on no LRU, and does nothing)",
  ),
  "overlapping-invalidations-race-populate": {
    ...pvPass(
      "as G1: the munmap covers the whole one-page grant mapping (no split), so unmap_if_in_range unmaps the grant before the zap; the overlapping migration finds a balloon page (no LRU) and does nothing",
      "as legacy: the map's notifier callback unmaps the grant before the zap",
    ),
    ...HVM_PASS(HVM_ZAP),
  },
  "successive-migrations-and-munmap-race-populate": {
    ...splitExpect(
      "the munmap of page 1 cuts the two-page grant mapping at pages 0-1 and splits it there (both migrations of page 0 find a balloon page, on no LRU, and do nothing)",
    ),
    ...HVM_PASS(
      `${HVM_ZAP}; the migrations of page 0 find a balloon page (no LRU) and do nothing; exhausted at bound 2 (CONFORMANCE_EXPLORATION)`,
    ),
  },
  "one-page-buffer-neighbour-invalidations": {
    ...pvPass(
      "the neighbours are ordinary anonymous pages: in_range() skips the map, the grant mmap maps its page and the backend reads it (liveness)",
      "the neighbours' ranges do not hit the map's notifier, which covers exactly its page",
    ),
    ...HVM_PASS("as PV, without a notifier: the neighbours' zaps do not touch the grant's page"),
  },
  "oom-reaper-sibling-blockable-zap": {
    ...pvPass(
      "the blockable zap of the grant mapping reaches unmap_if_in_range first: the grants are unmapped by hypercall before zap_pte_range",
      "as legacy: gntdev_invalidate unmaps the grants under priv->lock, blockable",
    ),
    ...HVM_PASS(HVM_ZAP),
  },
  "exit-sibling-munmap-all": {
    ...pvPass(
      "as G1: the munmap covers the whole grant mapping (no split), so the grants are unmapped before the zap",
      "as G1: the notifier's callback unmaps the whole map before the zap",
    ),
    ...HVM_PASS(HVM_ZAP),
  },
};

/**
 * The suite's two three-thread shapes run at bound 1 by default (their cost on the drivers with
 * long populates); on gntdev, whose map and unmap are a few steps, bound 2 exhausts them in a
 * few hundred executions per variant (measured: overlapping 227 PV, 186 HVM; successive 125 PV,
 * 234 HVM), so every variant here gets it.
 */
const CONFORMANCE_EXPLORATION: Record<string, ExplorationSpec> = {
  "overlapping-invalidations-race-populate": BOUND2,
  "successive-migrations-and-munmap-race-populate": BOUND2,
};

export const conformanceScenarios: Scenario[] = conformance(conformanceExpectations, CONFORMANCE_EXPLORATION);

export const scenarios: Scenario[] = [...referenceScenarios, ...conformanceScenarios];
