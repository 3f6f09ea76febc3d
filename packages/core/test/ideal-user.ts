// A minimal, correct 5.5 interval-notifier user (the hmm.rst pattern): one notifier, one
// user lock, a shadow page table on a DeviceMmu. The core's tests drive the core through it.
import { Mutex } from "@mnlab/sim";
import {
  DeviceMmu,
  EBUSY,
  HmmRange55,
  hmmRangeFault,
  type Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  uniformRequest,
} from "../src/index.ts";

export class IdealUser {
  readonly lock: Mutex;
  readonly sub: MmuIntervalNotifier;
  readonly dev: DeviceMmu;
  callbacks = 0;
  retries = 0;

  constructor(
    readonly k: Kernel,
    readonly mm: MmStruct,
    readonly start: number,
    readonly end: number,
    name = "user",
  ) {
    this.lock = new Mutex(k.ex, `${name}->lock`, "user->lock");
    this.sub = new MmuIntervalNotifier(`${name}.mni`);
    this.dev = new DeviceMmu(k, `${name}.dev`, mm);
  }

  insert(): Promise<number> {
    return mmuIntervalNotifierInsert(this.sub, this.mm, this.start, this.end - this.start, {
      invalidate: async (sub, range, curSeq) => {
        this.callbacks++;
        if (range.blockable) await this.lock.lock();
        else if (!(await this.lock.trylock())) return false;
        await mmuIntervalSetSeq(sub, curSeq);
        await this.dev.unmap(Math.max(range.start, this.start), Math.min(range.end, this.end));
        await this.lock.unlock();
        return true;
      },
    });
  }

  remove(): Promise<void> {
    return mmuIntervalNotifierRemove(this.sub);
  }

  /** The again-loop; returns 0, or the error hmm_range_fault gave. Bounded by `tries`. */
  async populate(start = this.start, end = this.end, write = false, tries = 8): Promise<number> {
    const range = new HmmRange55(this.sub, start, end, uniformRequest(true, write));
    for (let i = 0; i < tries; i++) {
      range.notifierSeq = await mmuIntervalReadBegin(this.sub);
      await this.mm.mmapSem.downRead();
      const ret = await hmmRangeFault(range);
      await this.mm.mmapSem.upRead();
      if (ret === EBUSY) {
        this.retries++;
        continue;
      }
      if (ret < 0) return ret;
      await this.lock.lock();
      if (mmuIntervalReadRetry(this.sub, range.notifierSeq)) {
        await this.lock.unlock();
        this.retries++;
        continue;
      }
      await this.dev.map(range.pfns, {
        via: { notifier: this.sub, seq: range.notifierSeq, lock: this.lock },
      });
      await this.lock.unlock();
      return 0;
    }
    return EBUSY;
  }
}
