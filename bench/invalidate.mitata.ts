/**
 * Invalidation cost against the number of registrations: one invalidate_range_start/end of a
 * one-page range in an mm holding N registered buffers, each one page, all disjoint.
 *   interval  5.5: N mmu_interval_notifiers; the core's tree finds the one hit (log N + k)
 *   hmm54     5.4: one hmm_mirror, N hmm_ranges; every start and end walks the range list (N)
 *   <driver>:<variant>  N buffers registered through the driver's DriverModel (register()):
 *             rdma-odp:legacy walks ODP's per-mm umem tree under umem_rwsem; rdma-odp:interval
 *             is one core interval notifier per umem. Further drivers' structures (gntdev's
 *             list, the merged-node trees) join as their packages land.
 *
 *   node --expose-gc --import tsx bench/invalidate.mitata.ts --impl interval [--sizes 1,10] [--smoke]
 */

import {
  HmmMirror,
  HmmRange,
  hmmMirrorRegister,
  hmmRangeRegister,
  Kernel,
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalSetSeq,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  PAGE_SIZE,
  rangeInit,
  uniformRequest,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";
import { do_not_optimize } from "mitata";
import { driverImpls, loadVariant, openOrDie } from "./drivers.ts";
import { benchmark, collect, emit, inSim, parseArgs } from "./lib.ts";

export const IMPLS = ["interval", "hmm54", ...driverImpls(["rdma-odp"])];
const SIZES = [1, 10, 100, 1000, 10_000, 100_000];
const BASE = 0x100000;

const args = parseArgs(process.argv.slice(2), IMPLS, SIZES);
const variant = args.impl.includes(":") ? await loadVariant(args.impl) : null;

const rows = await inSim(async (ex) => {
  // Build every size first, register one mitata benchmark per size, then run them all once.
  for (const n of args.sizes) {
    const k = new Kernel(ex);
    const mm = k.createMm("bench");
    const lock = new Mutex(ex, "user->lock");
    if (variant !== null) {
      // Untouched memory: registration (an ODP MR) needs the VMA, not the pages.
      mm.addVma(BASE, BASE + 2 * n * PAGE_SIZE, { read: true, write: true, shared: false });
      const ctx = await openOrDie(variant, k, mm);
      for (let i = 0; i < n; i++) {
        const b = await ctx.register(BASE + i * 2 * PAGE_SIZE, PAGE_SIZE, { write: false });
        if (typeof b === "number") throw new Error(`register failed: ${b}`);
      }
    } else if (args.impl === "interval") {
      const ops = {
        invalidate: async (sub: MmuIntervalNotifier, _r: unknown, seq: number) => {
          await lock.lock();
          await mmuIntervalSetSeq(sub, seq);
          await lock.unlock();
          return true;
        },
      };
      for (let i = 0; i < n; i++) {
        const ret = await mmuIntervalNotifierInsert(
          new MmuIntervalNotifier(`b${i}`),
          mm,
          BASE + i * 2 * PAGE_SIZE,
          PAGE_SIZE,
          ops,
        );
        if (ret !== 0) throw new Error(`insert failed: ${ret}`);
      }
    } else {
      const mirror = new HmmMirror("bench.mirror", {
        release: async () => {},
        syncCpuDevicePagetables: async () => {
          await lock.lock();
          await lock.unlock();
          return 0;
        },
      });
      await mm.mmapSem.downWrite();
      await hmmMirrorRegister(mirror, mm);
      await mm.mmapSem.upWrite();
      for (let i = 0; i < n; i++) {
        const start = BASE + i * 2 * PAGE_SIZE;
        const ret = await hmmRangeRegister(
          new HmmRange(start, start + PAGE_SIZE, uniformRequest(false, false)),
          mirror,
        );
        if (ret !== 0) throw new Error(`hmm_range_register failed: ${ret}`);
      }
    }
    const hit = BASE + Math.floor(n / 2) * 2 * PAGE_SIZE;
    benchmark(`invalidate n=${n}`, async () => {
      const r = rangeInit(mm, "CLEAR", hit, hit + PAGE_SIZE);
      await mmuNotifierInvalidateRangeStart(r);
      await mmuNotifierInvalidateRangeEnd(r);
      do_not_optimize(r);
    });
  }
  const stats = await collect(args.smoke);
  return args.sizes.map((n) => ({ n, ...stats[`invalidate n=${n}`]! }));
});

emit({ program: "invalidate", impl: args.impl, rows });
