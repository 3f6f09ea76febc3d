// Divergences found by auditing the core model against the v5.4/v5.5 sources (issue 12,
// section 3). Each test fails on the behaviour the model had before the fix.
import { type Execution, Mutex } from "@mnlab/sim";
import { describe, expect, it } from "vitest";
import {
  cpuAccess,
  EPERM,
  exitTask,
  fork,
  HmmMirror,
  HmmRange,
  hmmMirrorRegister,
  hmmRangeFault54,
  hmmRangeRegister,
  hmmRangeUnregister,
  type MmStruct,
  MmuIntervalNotifier,
  MmuNotifier,
  type MmuNotifierEvent,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
  mprotect,
  munmap,
  oomReapTaskMm,
  ULONG_MAX,
  uniformRequest,
} from "../src/index.ts";
import { coreEvents } from "../src/notifier/invariants.ts";
import { IdealUser } from "./ideal-user.ts";
import { BASE, expectPass, P, runOne, setupKernel } from "./support.ts";

/** A kernel with the oracles installed and an mm with no VMA yet (each test adds its own). */
function bare(ex: Execution) {
  const r = setupKernel(ex, 0);
  r.mm.vmas = []; // setupKernel(ex, 0) leaves an empty [BASE, BASE)
  return r;
}

describe("item 5: a write fault on a read-only VMA is -EPERM (hmm_vma_walk_hole_ @5.4/5.5)", () => {
  it("5.5 hmm_range_fault", async () => {
    let ret = 0;
    const o = await runOne(async (ex) => {
      const { k, mm } = bare(ex);
      mm.addVma(BASE, BASE + 2 * P, { read: true, write: false, shared: false });
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      ret = await u.populate(BASE, BASE + 2 * P, true);
      await u.remove();
    });
    expectPass(o);
    expect(ret).toBe(EPERM); // the old default was -EFAULT
  });

  it("5.4 hmm_range_fault", async () => {
    let ret = 0;
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(BASE, BASE + 2 * P, { read: true, write: false, shared: false });
      const mirror = new HmmMirror("mirror", {
        release: async () => {},
        syncCpuDevicePagetables: async () => 0,
      });
      await mm.mmapSem.downWrite();
      expect(await hmmMirrorRegister(mirror, mm)).toBe(0);
      await mm.mmapSem.upWrite();
      const range = new HmmRange(BASE, BASE + 2 * P, uniformRequest(true, true));
      expect(await hmmRangeRegister(range, mirror)).toBe(0);
      await mm.mmapSem.downRead();
      ret = await hmmRangeFault54(range);
      await mm.mmapSem.upRead();
      await hmmRangeUnregister(range);
    });
    expectPass(o);
    expect(ret).toBe(EPERM); // the old model passed -EFAULT for 5.4
  });
});

describe("item 6: wp_page_copy re-checks pte_same after its invalidate_range_start", () => {
  it("a PTE zapped while the COW break waits installs nothing; the retried write faults a fresh page", async () => {
    const seen: { data?: number | "sigsegv"; child?: number | "sigsegv"; copies?: number } = {};
    const o = await runOne(async (ex) => {
      const { k, mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      expect(await cpuAccess(mm, BASE, true, 5)).toBe(5);
      const child = await fork(mm); // the page is now mapped twice, read-only: COW
      let zapped = false;
      const before = [...k.pages.all()].length;
      // Stands for another CPU's zap (madvise(MADV_DONTNEED) holds mmap_sem for read too)
      // landing while this fault sits in wp_page_copy's invalidate_range_start.
      const other = new MmuNotifier("other-cpu", {
        invalidateRangeStart: async (_mn, r) => {
          if (r.event !== "CLEAR" || zapped) return 0;
          zapped = true;
          const old = mm.pt.clear(BASE)!;
          old.page.mapcount--;
          k.pages.putPage(old.page);
          return 0;
        },
      });
      expect(await mmuNotifierRegister(other, mm)).toBe(0);
      seen.data = await cpuAccess(mm, BASE, true); // a store of data + 1
      seen.child = await cpuAccess(child, BASE, false);
      // Pages allocated by the write: the copy (released) and the retried fault's fresh page.
      seen.copies = [...k.pages.all()].slice(before).filter((p) => !p.freed).length;
    });
    expectPass(o);
    expect(seen.data).toBe(1); // fresh zeroed page + 1; the old model resurrected the copy: 6
    expect(seen.child).toBe(5);
    expect(seen.copies).toBe(1);
  });
});

/** A classic subscriber that records every invalidate_range_start it sees. */
async function recordStarts(mm: MmStruct): Promise<[MmuNotifierEvent, number, number][]> {
  const seen: [MmuNotifierEvent, number, number][] = [];
  const sub = new MmuNotifier("recorder", {
    invalidateRangeStart: async (_mn, r) => {
      seen.push([r.event, r.start, r.end]);
      return 0;
    },
  });
  expect(await mmuNotifierRegister(sub, mm)).toBe(0);
  return seen;
}

describe("item 2: the OOM reaper skips shared VMAs (shared anonymous memory is shmem-backed)", () => {
  it("reaps the private VMA and leaves the shared one alone", async () => {
    const seen: { starts?: [MmuNotifierEvent, number, number][]; shared?: boolean; priv?: boolean } = {};
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      mm.addVma(BASE + 8 * P, BASE + 9 * P, { read: true, write: true, shared: true });
      await cpuAccess(mm, BASE, true, 1);
      await cpuAccess(mm, BASE + 8 * P, true, 2);
      const starts = await recordStarts(mm);
      expect(await oomReapTaskMm(mm)).toBe(true);
      seen.starts = [...starts];
      seen.priv = mm.pt.get(BASE) !== undefined;
      seen.shared = mm.pt.get(BASE + 8 * P) !== undefined;
    });
    expectPass(o);
    expect(seen.starts).toEqual([["UNMAP", BASE, BASE + P]]); // the old model also reaped the shared VMA
    expect(seen.priv).toBe(false);
    expect(seen.shared).toBe(true);
  });
});

describe("item 7: mprotect invalidates from the first populated PMD; munmap of nothing invalidates nothing", () => {
  const PMD = 0x20_0000;
  it("mprotect over two PMDs with pages only in the second starts the invalidation there", async () => {
    const seen: { starts?: [MmuNotifierEvent, number, number][]; ret?: number } = {};
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(PMD, 3 * PMD, { read: true, write: true, shared: false });
      await cpuAccess(mm, 2 * PMD + P, true, 1);
      const starts = await recordStarts(mm);
      seen.ret = await mprotect(mm, PMD, 2 * PMD, { read: true, write: false });
      seen.starts = [...starts];
      expect(mm.pt.get(2 * PMD + P)?.write).toBe(false);
    });
    expectPass(o);
    expect(seen.ret).toBe(0);
    expect(seen.starts).toEqual([["PROTECTION_VMA", 2 * PMD, 3 * PMD]]); // old: [PMD, 3 * PMD)
  });

  it("mprotect of a range with no page tables, or to the same protection, issues no invalidation", async () => {
    const seen: { starts?: [MmuNotifierEvent, number, number][] } = {};
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(BASE, BASE + 4 * P, { read: true, write: true, shared: false });
      const starts = await recordStarts(mm);
      expect(await mprotect(mm, BASE, 4 * P, { read: true, write: false })).toBe(0); // nothing populated
      await cpuAccess(mm, BASE, false);
      expect(await mprotect(mm, BASE, 4 * P, { read: true, write: false })).toBe(0); // flags unchanged
      seen.starts = [...starts];
    });
    expectPass(o);
    expect(seen.starts).toEqual([]); // old: two PROTECTION_VMA invalidations
  });

  it("munmap of a range without a VMA returns 0 and issues no invalidation", async () => {
    const seen: { starts?: [MmuNotifierEvent, number, number][]; ret?: number } = {};
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      const starts = await recordStarts(mm);
      seen.ret = await munmap(mm, BASE + 4 * P, 2 * P);
      seen.starts = [...starts];
    });
    expectPass(o);
    expect(seen.ret).toBe(0);
    expect(seen.starts).toEqual([]); // old: an UNMAP invalidation of [BASE + 4P, BASE + 6P)
  });
});

describe("item 8: fork decides COW with is_cow_mapping and skips VMAs without an anon_vma", () => {
  it("a private read-only VMA with an anon_vma is COW: PROTECTION_PAGE on the parent", async () => {
    const seen: { starts?: [MmuNotifierEvent, number, number][]; child?: boolean } = {};
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      await cpuAccess(mm, BASE, true, 3); // anon_vma_prepare()
      expect(await mprotect(mm, BASE, P, { read: true, write: false })).toBe(0);
      const starts = await recordStarts(mm);
      const child = await fork(mm);
      seen.starts = [...starts];
      seen.child = child.pt.get(BASE)?.write === false;
    });
    expectPass(o);
    expect(seen.starts).toEqual([["PROTECTION_PAGE", BASE, BASE + P]]); // old: none (VM_WRITE test)
    expect(seen.child).toBe(true);
  });

  it("a private VMA never written (no anon_vma) is skipped: no invalidation, no PTE copied", async () => {
    const seen: { starts?: [MmuNotifierEvent, number, number][]; child?: boolean } = {};
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      expect(await cpuAccess(mm, BASE, false)).toBe(0); // the zero page; no anon_vma
      const starts = await recordStarts(mm);
      const child = await fork(mm);
      seen.starts = [...starts];
      seen.child = child.pt.get(BASE) !== undefined;
      expect(await cpuAccess(child, BASE, false)).toBe(0); // the child's fault fills it
    });
    expectPass(o);
    expect(seen.starts).toEqual([]); // old: a PROTECTION_PAGE invalidation
    expect(seen.child).toBe(false);
  });

  it("a shared VMA, or a private one without VM_MAYWRITE, is not COW", async () => {
    const seen: { starts?: [MmuNotifierEvent, number, number][] } = {};
    const o = await runOne(async (ex) => {
      const { mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: true });
      const ro = mm.addVma(BASE + 2 * P, BASE + 3 * P, {
        read: true,
        write: false,
        shared: false,
        mayWrite: false,
      });
      ro.anonVma = true;
      await cpuAccess(mm, BASE, true, 4);
      const starts = await recordStarts(mm);
      const child = await fork(mm);
      seen.starts = [...starts];
      expect(await cpuAccess(child, BASE, false)).toBe(4);
    });
    expectPass(o);
    expect(seen.starts).toEqual([]);
  });
});

describe("item 10: core.md 6's invariants asserted at run time", () => {
  /** One execution; returns its failure (kind and message), or null. */
  async function failureOf(body: (ex: Execution) => Promise<void>) {
    const o = await runOne(body);
    return o.failure === null ? null : { kind: o.failure.kind, message: o.failure.message };
  }

  it("12: set_seq in a callback that holds no lock", async () => {
    const f = await failureOf(async (ex) => {
      const { k, mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      const sub = new MmuIntervalNotifier("nolock");
      const ops = {
        invalidate: async (s: MmuIntervalNotifier, _r: unknown, seq: number) => {
          await mmuIntervalSetSeq(s, seq); // BUG: no user lock
          return true;
        },
      };
      expect(await mmuIntervalNotifierInsert(sub, mm, BASE, P, ops)).toBe(0);
      const seq = await mmuIntervalReadBegin(sub);
      await munmap(mm, BASE, P);
      const lock = new Mutex(k.ex, "user->lock");
      await lock.lock();
      mmuIntervalReadRetry(sub, seq); // read_retry under a lock set_seq did not take
      await lock.unlock();
    });
    expect(f?.kind).toBe("core-invariant");
    expect(f?.message).toMatch(/holding no lock the callback took, while read_retry is used.*invariant 12/);
  });

  it("12: set_seq outside the notifier's invalidate callback", async () => {
    const f = await failureOf(async (ex) => {
      const { k, mm } = bare(ex);
      mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
      const u = new IdealUser(k, mm, BASE, BASE + P);
      expect(await u.insert()).toBe(0);
      await u.lock.lock();
      await mmuIntervalSetSeq(u.sub, 7); // BUG: a driver "invalidating" its own notifier
      await u.lock.unlock();
    });
    expect(f?.kind).toBe("core-invariant");
    expect(f?.message).toMatch(/outside its invalidate callback.*invariant 12/);
  });

  // The 5.5 core itself never breaks 6-9, 17-19 or 24: the oracle is driven directly, as a
  // broken core would drive it, to show each is checked.
  async function withUser(ex: Execution, act: (u: IdealUser, mm: MmStruct) => void | Promise<void>) {
    const { k, mm } = bare(ex);
    mm.addVma(BASE, BASE + P, { read: true, write: true, shared: false });
    const u = new IdealUser(k, mm, BASE, BASE + P);
    expect(await u.insert()).toBe(0);
    await act(u, mm);
  }
  const range = (mm: MmStruct, event: MmuNotifierEvent = "UNMAP") => ({
    mm,
    start: BASE,
    end: BASE + P,
    event,
    blockable: true,
  });

  it.each([
    [
      6,
      "a callback while the seq is even",
      (u: IdealUser, mm: MmStruct) =>
        coreEvents(mm.kernel)!.callbackEnter(u.sub, range(mm), mm.notifierMm!.invalidateSeq),
    ],
    [
      8,
      "read_begin returning the running period's seq",
      (u: IdealUser, mm: MmStruct) => {
        mm.notifierMm!.invalidateSeq = 3;
        mm.notifierMm!.activeInvalidateRanges = 1;
        coreEvents(mm.kernel)!.readBegin(u.sub, 3);
      },
    ],
    [
      17,
      "an idle insert given the mm's seq",
      (u: IdealUser, mm: MmStruct) => {
        u.sub.invalidateSeq = mm.notifierMm!.invalidateSeq;
        coreEvents(mm.kernel)!.inserted(u.sub);
      },
    ],
    [
      18,
      "remove returning with the notifier still in the tree",
      (u: IdealUser, mm: MmStruct) => coreEvents(mm.kernel)!.removeReturn(u.sub, 0),
    ],
  ] as const)("%i: %s", async (n, _what, act) => {
    const f = await failureOf((ex) => withUser(ex, act));
    expect(f?.kind).toBe("core-invariant");
    expect(f?.message).toMatch(new RegExp(`invariant ${n}\\)`));
  });

  it("7 and 24: a cur_seq that is not the period's, and a second RELEASE callback", async () => {
    const seven = await failureOf((ex) =>
      withUser(ex, (u, mm) => {
        mm.notifierMm!.invalidateSeq = 3;
        mm.notifierMm!.activeInvalidateRanges = 1;
        coreEvents(mm.kernel)!.callbackEnter(u.sub, range(mm), 5);
      }),
    );
    expect(seven?.message).toMatch(/invariant 7\)/);
    const twice = await failureOf((ex) =>
      withUser(ex, (u, mm) => {
        mm.notifierMm!.invalidateSeq = 3;
        mm.notifierMm!.activeInvalidateRanges = 1;
        const r = { ...range(mm, "RELEASE"), start: 0, end: ULONG_MAX };
        coreEvents(mm.kernel)!.callbackEnter(u.sub, r, 3);
        coreEvents(mm.kernel)!.callbackExit(u.sub);
        coreEvents(mm.kernel)!.callbackEnter(u.sub, r, 3);
      }),
    );
    expect(twice?.message).toMatch(/second RELEASE.*invariant 24\)/);
  });

  it("9: a false read_retry after a set_seq since read_begin returned", async () => {
    const f = await failureOf((ex) =>
      withUser(ex, async (u, mm) => {
        const ev = coreEvents(mm.kernel)!;
        ev.readBegin(u.sub, 1);
        mm.notifierMm!.invalidateSeq = 3;
        mm.notifierMm!.activeInvalidateRanges = 1;
        ev.callbackEnter(u.sub, range(mm), 3);
        // The user lock, taken without a scheduling point (the corrupted counts above would
        // be reported first at one): a broken core whose set_seq store got lost.
        mm.kernel.ex.noteAcquired(mm.kernel.ex.self(), u.lock, false);
        ev.setSeq(u.sub, 3);
        ev.callbackExit(u.sub);
        ev.readRetry(u.sub, 1, false);
      }),
    );
    expect(f?.message).toMatch(/invariant 9\)/);
  });

  it("19: remove returning inside the period it waited for", async () => {
    const f = await failureOf((ex) =>
      withUser(ex, async (u, mm) => {
        await u.remove();
        mm.notifierMm!.invalidateSeq = 3;
        mm.notifierMm!.activeInvalidateRanges = 1;
        coreEvents(mm.kernel)!.removeReturn(u.sub, 3);
      }),
    );
    expect(f?.message).toMatch(/invariant 19\)/);
  });

  it("the ideal user under munmap, fork and exit stays clean with every check on", async () => {
    const o = await runOne(async (ex) => {
      const { k, mm } = bare(ex);
      mm.addVma(BASE, BASE + 2 * P, { read: true, write: true, shared: false });
      const u = new IdealUser(k, mm, BASE, BASE + 2 * P);
      expect(await u.insert()).toBe(0);
      expect(await u.populate(BASE, BASE + 2 * P, true)).toBe(0);
      await fork(mm);
      expect(await u.populate(BASE, BASE + 2 * P, true)).toBe(0);
      await munmap(mm, BASE + P, P);
      await exitTask(mm);
      await u.remove();
    });
    expectPass(o);
  });
});
