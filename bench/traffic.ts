/**
 * Fault latency under invalidation traffic, in virtual time (deterministic: no wall clock).
 * A fault on range A starts at tick 10 while K invalidations run in the same mm, started 50
 * ticks apart, each held open 100 ticks by a slow subscriber's callback:
 *   unrelated   the invalidations cover range B, which the fault does not touch
 *   overlapping they cover range A itself
 *   hmm54     5.4: hmm_range_register/wait_until_valid — valid only when no invalidation at
 *             all is running in the mm (the global gate)
 *   interval  5.5: read_begin sleeps only when this notifier was hit
 * Reported per K: mean and max ticks the fault took, and retries per fault, over a fixed
 * set of random schedules (seeded).
 *
 *   node --import tsx bench/traffic.ts [--smoke]
 */

import {
  BASE,
  EBUSY,
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
  migratePage,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  overlaps,
  PAGE_SIZE,
  setupProcess,
  uniformRequest,
} from "@mnlab/core";
import { explore, Mutex, type Program, RandomStrategy } from "@mnlab/sim";
import { emit } from "./lib.ts";

const P = PAGE_SIZE;
const A = { start: BASE, end: BASE + 4 * P };
const B = { start: BASE + 8 * P, end: BASE + 12 * P };
const HOLD = 100;
const SPACING = 50;

type Impl = "hmm54" | "interval";

function program(impl: Impl, k: number, overlapping: boolean): Program {
  const target = overlapping ? A : B;
  return async (ex) => {
    const kern = new Kernel(ex);
    const mm = setupProcess(kern, 12);
    const lock = new Mutex(ex, "driver->lock");
    let populate: () => Promise<number>;
    if (impl === "hmm54") {
      const mirror = new HmmMirror("driver", {
        release: async () => {},
        syncCpuDevicePagetables: async () => {
          await lock.lock();
          await lock.unlock();
          return 0;
        },
      });
      const slow = new HmmMirror("slow", {
        release: async () => {},
        syncCpuDevicePagetables: async (_m, r) => {
          if (overlaps(r.start, r.end, target.start, target.end)) await ex.sleep(HOLD);
          return 0;
        },
      });
      await mm.mmapSem.downWrite();
      await hmmMirrorRegister(mirror, mm);
      await hmmMirrorRegister(slow, mm);
      await mm.mmapSem.upWrite();
      // The 5.4 pattern (hmm.rst), bounded by the default timeout.
      populate = async () => {
        const deadline = ex.now + HMM_RANGE_DEFAULT_TIMEOUT;
        const range = new HmmRange(A.start, A.end, uniformRequest(true, false));
        await hmmRangeRegister(range, mirror);
        try {
          while (ex.now < deadline) {
            if (!(await hmmRangeWaitUntilValid(range, deadline - ex.now))) return EBUSY;
            await mm.mmapSem.downRead();
            const ret = await hmmRangeFault54(range);
            if (ret === EBUSY) {
              await mm.mmapSem.upRead();
              ex.count("retries");
              continue;
            }
            await lock.lock();
            const ok = hmmRangeValid(range);
            await lock.unlock();
            await mm.mmapSem.upRead();
            if (ok) return 0;
            ex.count("retries");
          }
          return EBUSY;
        } finally {
          await hmmRangeUnregister(range);
        }
      };
    } else {
      const sub = new MmuIntervalNotifier("driver.mni");
      await mmuIntervalNotifierInsert(sub, mm, A.start, A.end - A.start, {
        invalidate: async (s, _r, seq) => {
          await lock.lock();
          await mmuIntervalSetSeq(s, seq);
          await lock.unlock();
          return true;
        },
      });
      await mmuIntervalNotifierInsert(
        new MmuIntervalNotifier("slow.mni"),
        mm,
        target.start,
        target.end - target.start,
        {
          invalidate: async () => {
            await ex.sleep(HOLD);
            return true;
          },
        },
      );
      populate = async () => {
        const deadline = ex.now + HMM_RANGE_DEFAULT_TIMEOUT;
        const range = new HmmRange55(sub, A.start, A.end, uniformRequest(true, false));
        while (ex.now < deadline) {
          range.notifierSeq = await mmuIntervalReadBegin(sub);
          await mm.mmapSem.downRead();
          const ret = await hmmRangeFault(range);
          await mm.mmapSem.upRead();
          if (ret === EBUSY) {
            ex.count("retries");
            continue;
          }
          await lock.lock();
          const retry = mmuIntervalReadRetry(sub, range.notifierSeq);
          await lock.unlock();
          if (!retry) return 0;
          ex.count("retries");
        }
        return EBUSY;
      };
    }
    const threads = [];
    for (let i = 0; i < k; i++) {
      threads.push(
        ex.spawn(`invalidate${i}`, async () => {
          await ex.sleep(i * SPACING);
          await migratePage(mm, target.start + (i % 4) * P);
        }),
      );
    }
    threads.push(
      ex.spawn("fault", async () => {
        await ex.sleep(10);
        const t0 = ex.now;
        const ret = await populate();
        ex.count("fault_ticks", ex.now - t0);
        if (ret === EBUSY) ex.count("ebusy");
      }),
    );
    for (const t of threads) await t.join();
  };
}

const smoke = process.argv.includes("--smoke");
const executions = smoke ? 2 : 40;
const ks = smoke ? [0, 1] : [0, 1, 2, 4, 8, 20];
const rows = [];
for (const overlapping of [false, true]) {
  for (const impl of ["hmm54", "interval"] as const) {
    for (const k of ks) {
      const r = await explore(program(impl, k, overlapping), { strategy: new RandomStrategy(1), executions });
      if (r.failure !== null)
        throw new Error(`traffic ${impl} k=${k}: ${r.failure.kind}: ${r.failure.message}`);
      const n = r.executions;
      rows.push({
        traffic: overlapping ? "overlapping" : "unrelated",
        impl,
        invalidations: k,
        executions: n,
        meanFaultTicks: (r.counters.fault_ticks ?? 0) / n,
        retriesPerFault: (r.counters.retries ?? 0) / n,
        ebusy: r.counters.ebusy ?? 0,
      });
    }
  }
}
emit({ program: "traffic", holdTicks: HOLD, spacingTicks: SPACING, rows });
