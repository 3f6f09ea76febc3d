// A textbook 5.5 driver (Documentation/vm/hmm.rst after the series): one interval notifier
// and one user lock per buffer, the canonical again-loop. `skipRetry` makes the classic
// mistake of programming the device without mmu_interval_read_retry — the harness must catch it.
import { Mutex } from "@mnlab/sim";
import {
  type BufferHandle,
  type DeviceContext,
  DeviceMmu,
  type DriverModel,
  EBUSY,
  EFAULT,
  HmmRange55,
  hmmRangeFault,
  type Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  mmgetNotZero,
  mmput,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  POPULATE_RETRY,
  uniformRequest,
} from "../src/index.ts";

interface RefBuffer extends BufferHandle {
  sub: MmuIntervalNotifier;
  lock: Mutex;
}

export function referenceDriver(id: string, skipRetry = false): DriverModel {
  return {
    info: {
      driver: "reference",
      id,
      kernel: "5.5",
      files: ["Documentation/vm/hmm.rst"],
      commits: ["99cb252f5e68"],
      source: import.meta.url,
      summary: skipRetry ? "programs the device without read_retry" : "the canonical collision-retry user",
    },
    async open(k: Kernel, mm: MmStruct): Promise<DeviceContext> {
      const dev = new DeviceMmu(k, `ref-${id}.dev`, mm);
      let n = 0;
      return {
        mmus: [dev],
        async register(start, len) {
          const b: RefBuffer = {
            start,
            end: start + len,
            sub: new MmuIntervalNotifier(`ref.buf${n}`),
            lock: new Mutex(k.ex, `ref.buf${n++}->lock`, "ref->lock"),
          };
          const ret = await mmuIntervalNotifierInsert(b.sub, mm, start, len, {
            invalidate: async (sub, range, curSeq) => {
              if (range.blockable) await b.lock.lock();
              else if (!(await b.lock.trylock())) return false;
              await mmuIntervalSetSeq(sub, curSeq);
              await dev.unmap(Math.max(range.start, b.start), Math.min(range.end, b.end));
              await b.lock.unlock();
              return true;
            },
          });
          return ret === 0 ? b : ret;
        },
        async populate(buf, start, end, write) {
          const b = buf as RefBuffer;
          if (!(await mmgetNotZero(mm))) return EFAULT;
          const range = new HmmRange55(b.sub, start, end, uniformRequest(true, write));
          let ret = EBUSY;
          for (let tries = 0; tries < 4; tries++) {
            range.notifierSeq = await mmuIntervalReadBegin(b.sub);
            await mm.mmapSem.downRead();
            ret = await hmmRangeFault(range);
            await mm.mmapSem.upRead();
            if (ret === EBUSY) {
              k.ex.count(POPULATE_RETRY);
              continue;
            }
            if (ret < 0) break;
            await b.lock.lock();
            if (!skipRetry && mmuIntervalReadRetry(b.sub, range.notifierSeq)) {
              await b.lock.unlock();
              k.ex.count(POPULATE_RETRY);
              ret = EBUSY;
              continue;
            }
            await dev.map(range.pfns);
            await b.lock.unlock();
            ret = 0;
            break;
          }
          await mmput(mm);
          return ret;
        },
        access: (_buf, addr, write) => dev.access(addr, write),
        async unregister(buf) {
          // Tear the device down first: once the notifier is gone nothing would do it.
          const b = buf as RefBuffer;
          await b.lock.lock();
          await dev.unmap(b.start, b.end);
          await b.lock.unlock();
          await mmuIntervalNotifierRemove(b.sub);
        },
        async close() {},
      };
    },
  };
}
