/**
 * Populate-path cost with no contention, 16 present pages, no device programming (the same
 * for both): the 5.5 sequence read_begin / hmm_range_fault / lock / read_retry against the 5.4
 * sequence hmm_range_register / wait_until_valid / hmm_range_fault / lock / hmm_range_valid /
 * hmm_range_unregister. A "<driver>:<variant>" implementation measures that driver's whole
 * populate() (its fault path, device programming included) through the DriverModel contract.
 *
 *   node --expose-gc --import tsx bench/populate.mitata.ts --impl interval [--smoke]
 */

import {
  BASE,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmMirror,
  HmmRange,
  HmmRange55,
  hmmMirrorRegister,
  hmmRangeFault,
  hmmRangeFault54,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
  Kernel,
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  PAGE_SIZE,
  setupProcess,
  uniformRequest,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";
import { do_not_optimize } from "mitata";
import { driverImpls, loadVariant, openOrDie } from "./drivers.ts";
import { benchmark, collect, emit, inSim, parseArgs } from "./lib.ts";

const IMPLS = [
  "interval",
  "hmm54",
  // hfi1 is left out: its populate is a TID setup, which refuses 16 pages with the model's
  // RcvArray ("Expected buffer too big", -EINVAL) and pins afresh each time — not this path.
  ...driverImpls(["amdgpu", "nouveau", "radeon", "rdma-odp", "xen-gntdev"]),
];
const PAGES = 16;
const args = parseArgs(process.argv.slice(2), IMPLS, [PAGES]);
const variant = args.impl.includes(":") ? await loadVariant(args.impl) : null;

const stats = await inSim(async (ex) => {
  const k = new Kernel(ex);
  const mm = setupProcess(k, PAGES);
  const lock = new Mutex(ex, "user->lock");
  const end = BASE + PAGES * PAGE_SIZE;
  if (variant !== null) {
    const ctx = await openOrDie(variant, k, mm);
    const buf = await ctx.register(BASE, PAGES * PAGE_SIZE, { write: false });
    if (typeof buf === "number") throw new Error(`register failed: ${buf}`);
    benchmark("populate", async () => {
      const ret = await ctx.populate(buf, BASE, end, false);
      if (ret !== 0) throw new Error(`populate failed: ${ret}`);
    });
  } else if (args.impl === "interval") {
    const sub = new MmuIntervalNotifier("bench.mni");
    await mmuIntervalNotifierInsert(sub, mm, BASE, PAGES * PAGE_SIZE, {
      invalidate: async (s, _r, seq) => {
        await lock.lock();
        await mmuIntervalSetSeq(s, seq);
        await lock.unlock();
        return true;
      },
    });
    benchmark("populate", async () => {
      const range = new HmmRange55(sub, BASE, end, uniformRequest(true, false));
      range.notifierSeq = await mmuIntervalReadBegin(sub);
      await mm.mmapSem.downRead();
      const ret = await hmmRangeFault(range);
      await mm.mmapSem.upRead();
      await lock.lock();
      const retry = mmuIntervalReadRetry(sub, range.notifierSeq);
      await lock.unlock();
      do_not_optimize(ret + (retry ? 1 : 0));
    });
  } else {
    const mirror = new HmmMirror("bench.mirror", {
      release: async () => {},
      syncCpuDevicePagetables: async () => 0,
    });
    await mm.mmapSem.downWrite();
    await hmmMirrorRegister(mirror, mm);
    await mm.mmapSem.upWrite();
    benchmark("populate", async () => {
      const range = new HmmRange(BASE, end, uniformRequest(true, false));
      await hmmRangeRegister(range, mirror);
      await hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT);
      await mm.mmapSem.downRead();
      const ret = await hmmRangeFault54(range);
      await lock.lock();
      const valid = hmmRangeValid(range);
      await lock.unlock();
      await mm.mmapSem.upRead();
      await hmmRangeUnregister(range);
      do_not_optimize(ret + (valid ? 1 : 0));
    });
  }
  return collect(args.smoke);
});

emit({ program: "populate", impl: args.impl, pages: PAGES, ...stats.populate! });
