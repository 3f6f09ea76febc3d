/**
 * struct dmirror: one per open file of /dev/hmm_dmirrorN (lib/test_hmm.c @5.8,
 * b2ef9f5a5cb3). At open it inserts one interval notifier over the opener's whole address
 * space, [0, ULONG_MAX & PAGE_MASK); at close it removes it. Its device page table is an
 * xarray keyed by virtual pfn whose entries point at the CPU's struct page, tagged
 * DPT_XA_TAG_WRITE when the device may write; here it is a DeviceMmu (entries keyed by
 * address, `write` is the tag), so every device access goes through the oracles.
 * dmirror->mutex is the user lock: it orders the fault path's read_retry and the device
 * page-table stores against the invalidate callback's set_seq and erase.
 */
import {
  DeviceMmu,
  type HasLifetime,
  kfree,
  Lifetime,
  type MmStruct,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  PAGE_SIZE,
  ULONG_MAX,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";
import { DmirrorInterval } from "./interval.ts";
import { dmirrorMinOps } from "./invalidate.ts";

/**
 * Pages per dmirror_fault / SNAPSHOT chunk: ARRAY_SIZE(pfns) with `unsigned long pfns[64]`
 * in 5.8 (32 in the first postings). One chunk is one hmm_range.
 */
export const DMIRROR_CHUNK_PAGES = 64;

/** ULONG_MAX & PAGE_MASK in the model's address space. */
export const DMIRROR_VA_LENGTH = ULONG_MAX - (ULONG_MAX % PAGE_SIZE);

export interface DmirrorOpenOptions {
  /**
   * Model knob, not a kernel one: pages per chunk (default DMIRROR_CHUNK_PAGES). A small
   * value lets a few-page buffer cross chunk boundaries — several hmm_ranges per fault and
   * several temporary notifiers per SNAPSHOT.
   */
  chunkPages?: number;
}

/**
 * lib/test_hmm.c: struct dmirror @5.8 — kzalloc'ed at open, kfree'd at release (or when the
 * insert at open fails); the whole-VA notifier is embedded and shares its lifetime.
 */
export class Dmirror implements HasLifetime {
  readonly lifetime: Lifetime;
  /** dmirror->notifier: the whole-VA interval notifier. */
  readonly notifier: DmirrorInterval;
  /** dmirror->mutex: the user lock. */
  readonly mutex: Mutex;
  /** dmirror->pt: the device page table. */
  readonly pt: DeviceMmu;
  readonly chunkPages: number;

  constructor(
    readonly mm: MmStruct,
    readonly name: string,
    opts: DmirrorOpenOptions = {},
  ) {
    const k = mm.kernel;
    this.chunkPages = opts.chunkPages ?? DMIRROR_CHUNK_PAGES;
    if (!Number.isInteger(this.chunkPages) || this.chunkPages < 1) {
      throw new Error(`dmirror: chunkPages must be a positive integer, got ${this.chunkPages}`);
    }
    this.lifetime = new Lifetime(`struct dmirror ${name}`);
    this.notifier = new DmirrorInterval(`${name}->notifier`, this);
    this.notifier.lifetime = this.lifetime;
    this.mutex = new Mutex(k.ex, `${name}->mutex`, "dmirror->mutex");
    this.pt = new DeviceMmu(k, `${name}->pt`, mm);
  }
}

/** What open(2) gives back: 0 and the file's private_data, or -errno. */
export type DmirrorOpenResult = { ret: 0; dmirror: Dmirror } | { ret: number; dmirror: null };

// lib/test_hmm.c: dmirror_fops_open() @5.8 — runs in the opener's context (current->mm).
export async function dmirrorFopsOpen(
  mm: MmStruct,
  name: string,
  opts: DmirrorOpenOptions = {},
): Promise<DmirrorOpenResult> {
  const ex = mm.kernel.ex;
  ex.trace("call", "dmirror_fops_open", name, mm.name);
  const dmirror = new Dmirror(mm, name, opts);
  const ret = await mmuIntervalNotifierInsert(dmirror.notifier, mm, 0, DMIRROR_VA_LENGTH, dmirrorMinOps);
  if (ret !== 0) {
    dmirror.pt.closed = true; // the device page table was never used
    kfree(mm.kernel, dmirror, "dmirror_fops_open: kfree(dmirror)");
    return { ret, dmirror: null };
  }
  return { ret: 0, dmirror };
}

// lib/test_hmm.c: dmirror_fops_release() @5.8
export async function dmirrorFopsRelease(dmirror: Dmirror): Promise<number> {
  const ex = dmirror.mm.kernel.ex;
  ex.trace("call", "dmirror_fops_release", dmirror.name);
  // The last fput: no ioctl is inside the file any more, and dmirror's "device" is its ioctls,
  // so from here on nothing reads dmirror->pt — it is only torn down. Between the remove below
  // and xa_destroy it may name pages a munmap has freed; that is no access (the at-rest check
  // stops judging the table).
  dmirror.pt.retire();
  await mmuIntervalNotifierRemove(dmirror.notifier);
  // xa_destroy(&dmirror->pt): no callback can run any more, nothing else holds the file.
  await dmirror.pt.unmap(0, ULONG_MAX);
  dmirror.pt.closed = true;
  kfree(dmirror.mm.kernel, dmirror, "dmirror_fops_release: kfree(dmirror)");
  return 0;
}
