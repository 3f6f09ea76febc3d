// A minimal, correct 5.5 interval-notifier user (the hmm.rst pattern): one notifier, one
// user lock, a shadow page table on a DeviceMmu. The core's tests drive the core through it;
// buggy users in the tests subclass it and override one step (`invalidate`, `populate`).
import { Mutex } from "@mnlab/sim";
import {
  DeviceMmu,
  EBUSY,
  EFAULT,
  HmmRange55,
  hmmRangeFault,
  type Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuNotifierEvent,
  type MmuNotifierRange,
  mmgetNotZero,
  mmput,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  uniformRequest,
} from "../src/index.ts";

/** One invalidate callback as the user saw it. */
export interface InvalidateCall {
  event: MmuNotifierEvent;
  start: number;
  end: number;
  blockable: boolean;
  curSeq: number;
  /** Whether the callback got the user lock (false: the non-blockable trylock failed). */
  ok: boolean;
}

export class IdealUser {
  readonly lock: Mutex;
  readonly sub: MmuIntervalNotifier;
  readonly dev: DeviceMmu;
  callbacks = 0;
  retries = 0;
  /** Every invalidate callback, in order. */
  readonly calls: InvalidateCall[] = [];

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
      invalidate: (sub, range, curSeq) => this.invalidate(sub, range, curSeq),
    });
  }

  /** The ops->invalidate callback: lock (trylock when non-blockable), set_seq, tear down, unlock. */
  protected async invalidate(
    sub: MmuIntervalNotifier,
    range: MmuNotifierRange,
    curSeq: number,
  ): Promise<boolean> {
    this.callbacks++;
    const call: InvalidateCall = {
      event: range.event,
      start: range.start,
      end: range.end,
      blockable: range.blockable,
      curSeq,
      ok: false,
    };
    this.calls.push(call);
    if (range.blockable) await this.lock.lock();
    else if (!(await this.lock.trylock())) return false;
    call.ok = true;
    await mmuIntervalSetSeq(sub, curSeq);
    await this.dev.unmap(Math.max(range.start, this.start), Math.min(range.end, this.end));
    await this.lock.unlock();
    return true;
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

  /**
   * The driver's fault entry (dmirror_fault): pin the address space with mmget_not_zero —
   * -EFAULT once the process is exiting — then populate, then mmput.
   */
  async fault(start = this.start, end = this.end, write = false, tries = 8): Promise<number> {
    if (!(await mmgetNotZero(this.mm))) return EFAULT;
    const ret = await this.populate(start, end, write, tries);
    await mmput(this.mm);
    return ret;
  }
}
