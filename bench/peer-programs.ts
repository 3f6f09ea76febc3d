/**
 * Three small racy programs for the peer comparison (bench/peer.ts), each written once
 * against a minimal environment — shared words, a mutex, a wait queue, threads — that has
 * two implementations: @mnlab/sim's primitives, and promises released by fast-check's
 * scheduler (fc.scheduler()). Every operation is one scheduling point on both sides, at the
 * same places (a wait_event condition is evaluated at a point before sleeping and after
 * prepare_to_wait, as sim's WaitQueue does), so executions and counterexample lengths compare.
 *
 * - active-range: Jerome Glisse's 2015 "active invalidation ranges" caller pattern and the
 *   deadlock Mark Hairgrove showed (reference/core.md section 4): wait_valid, take the driver
 *   lock, re-check is_valid, and go back to wait_valid with the lock still held.
 * - lazy-valid-aba: hmm_mirror 5.4's range->valid, a level not a generation (core.md 3.4
 *   item 1, from 04ec32fbc2b2's message): the fault reads the PTE, a whole invalidation runs
 *   and sets valid again, the fault takes the lock, sees valid, and maps the stale page.
 * - seqcount-two-writers: a seqcount reader (read_seqcount_begin/_retry) racing two writers
 *   that are not serialised, as write_seqcount_begin() requires them to be: the sequence's
 *   plain increments interleave, the reader sees it even and unchanged across a torn read.
 *
 * These are bench programs, not models of a driver: they reproduce the documented patterns
 * at the smallest size that still has the bug.
 */
import { type Execution, Mutex, SharedCell, WaitQueue } from "@mnlab/sim";
import type { Scheduler } from "fast-check";

export interface Cell<T> {
  load(): Promise<T>;
  store(v: T): Promise<void>;
  /** Not a scheduling point: for conditions and end checks. */
  peek(): T;
}
export interface Lock {
  lock(): Promise<void>;
  unlock(): Promise<void>;
}
export interface Queue {
  /** wait_event(wq, cond): cond reads with peek(). */
  waitEvent(cond: () => boolean): Promise<void>;
  wakeUpAll(): Promise<void>;
}
export interface Env {
  cell<T>(name: string, init: T): Cell<T>;
  mutex(name: string): Lock;
  waitq(name: string): Queue;
  spawn(name: string, body: () => Promise<void>): { join(): Promise<void> };
  fail(kind: string, message: string): never;
}

export type PeerProgram = (env: Env) => Promise<void>;

/** core.md section 4: the 2015 proposal's caller pattern, and the invalidation it deadlocks with. */
export const activeRange: PeerProgram = async (env) => {
  const active = env.cell("active_ranges", 0);
  const lock = env.mutex("driver_lock");
  const wq = env.waitq("range_wait");
  const mapped = env.cell("device_mapped", false);
  const fault = env.spawn("fault", async () => {
    for (;;) {
      // mmu_notifier_range_wait_valid(): sleep until no active range overlaps
      await wq.waitEvent(() => active.peek() === 0);
      // the driver lock its own invalidate_range_start callback takes
      await lock.lock();
      // mmu_notifier_range_is_valid(), re-checked under the lock
      if ((await active.load()) === 0) break;
      // the documented pattern: back to wait_valid, the lock still held
    }
    await mapped.store(true);
    await lock.unlock();
  });
  const inval = env.spawn("invalidate", async () => {
    // the range goes on the mm's active list before ->invalidate_range_start
    await active.store(1);
    await lock.lock();
    await mapped.store(false);
    await lock.unlock();
    // ...and leaves it after ->invalidate_range_end, waking the waiters
    await active.store(0);
    await wq.wakeUpAll();
  });
  await fault.join();
  await inval.join();
};

/** core.md 3.4 item 1: hmm_range_wait_until_valid / hmm_range_fault / hmm_range_valid against a start/end pair. */
export const lazyValidAba: PeerProgram = async (env) => {
  const valid = env.cell("range->valid", true);
  const notifiers = env.cell("hmm->notifiers", 0);
  const pte = env.cell("pte", 1);
  const dev = env.cell("device_pte", 0);
  const lock = env.mutex("driver_lock");
  const wq = env.waitq("hmm->wq");
  const fault = env.spawn("fault", async () => {
    // hmm_range_wait_until_valid(): wait_event_timeout(hmm->wq, range->valid, ...)
    await wq.waitEvent(() => valid.peek());
    // hmm_range_fault(): the CPU page table, read without the driver lock
    const pfn = await pte.load();
    await lock.lock();
    // hmm_range_valid(): a level, not a generation — true again after a whole start/end
    if (await valid.load()) await dev.store(pfn);
    await lock.unlock();
  });
  const inval = env.spawn("invalidate", async () => {
    // hmm_invalidate_range_start(): notifiers++, every range invalid, the mirror's sync
    await notifiers.store(1);
    await valid.store(false);
    await lock.lock();
    await dev.store(0);
    await lock.unlock();
    // the CPU PTE changes (a migration: page 1 -> page 2)
    await pte.store(2);
    // hmm_invalidate_range_end(): notifiers-- reaches 0, ranges valid again, wake_up_all
    await notifiers.store(0);
    await valid.store(true);
    await wq.wakeUpAll();
  });
  await fault.join();
  await inval.join();
  const d = dev.peek();
  if (d !== 0 && d !== pte.peek())
    env.fail("stale-device-mapping", `device maps page ${d}, the CPU PTE is page ${pte.peek()}`);
};

/** A seqcount reader against two writers that nothing serialises. */
export const seqcountTwoWriters: PeerProgram = async (env) => {
  const seq = env.cell("seq", 0);
  const a = env.cell("data.a", 0);
  const b = env.cell("data.b", 0);
  const writer = (v: number) => async () => {
    // write_seqcount_begin(): s->sequence++ — a plain increment, safe only for one writer
    await seq.store((await seq.load()) + 1);
    await a.store(v);
    await b.store(v);
    // write_seqcount_end()
    await seq.store((await seq.load()) + 1);
  };
  const w1 = env.spawn("W1", writer(1));
  const w2 = env.spawn("W2", writer(2));
  const reader = env.spawn("reader", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      // read_seqcount_begin(): an odd count means a write is in progress
      const s = await seq.load();
      if (s % 2 === 1) continue;
      const x = await a.load();
      const y = await b.load();
      // read_seqcount_retry()
      if ((await seq.load()) !== s) continue;
      if (x !== y) env.fail("torn-read", `reader accepted a=${x} b=${y} at sequence ${s}`);
      return;
    }
  });
  await w1.join();
  await w2.join();
  await reader.join();
};

export const PEER_PROGRAMS: Record<string, { program: PeerProgram; bug: string }> = {
  "active-range": { program: activeRange, bug: "deadlock" },
  "lazy-valid-aba": { program: lazyValidAba, bug: "stale-device-mapping" },
  "seqcount-two-writers": { program: seqcountTwoWriters, bug: "torn-read" },
};

/** The environment on @mnlab/sim: its own primitives, so its detectors (deadlock) apply. */
export function simEnv(ex: Execution): Env {
  return {
    cell: <T>(name: string, init: T) => new SharedCell<T>(ex, name, init),
    mutex: (name) => new Mutex(ex, name),
    waitq: (name) => {
      const q = new WaitQueue(ex, name);
      return { waitEvent: (cond) => q.waitEvent(cond), wakeUpAll: () => q.wakeUpAll() };
    },
    spawn: (name, body) => ex.spawn(name, body),
    fail: (kind, message) => ex.fail(kind as never, message),
  };
}

class PeerFailure extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

/** One run on fast-check's scheduler: the failure kind (a hang is a deadlock), or null. */
export async function runOnScheduler(
  s: Scheduler,
  program: PeerProgram,
): Promise<{ failure: string | null; points: number }> {
  let points = 0;
  let failure: string | null = null;
  const point = (label: string) =>
    s.schedule(Promise.resolve(), label).then(() => {
      points++;
    });
  const env: Env = {
    cell: <T>(name: string, init: T): Cell<T> => {
      let v = init;
      return {
        load: async () => {
          await point(`READ_ONCE ${name}`);
          return v;
        },
        store: async (x: T) => {
          await point(`WRITE_ONCE ${name}`);
          v = x;
        },
        peek: () => v,
      };
    },
    mutex: (name) => {
      let held = false;
      const waiters: (() => void)[] = [];
      return {
        lock: async () => {
          await point(`mutex_lock ${name}`);
          while (held) await new Promise<void>((r) => waiters.push(r));
          held = true;
        },
        unlock: async () => {
          await point(`mutex_unlock ${name}`);
          held = false;
          for (const w of waiters.splice(0)) w();
        },
      };
    },
    waitq: (name) => {
      const waiters = new Set<{ woken: boolean; wake: () => void }>();
      return {
        waitEvent: async (cond) => {
          await point(`wait_event condition ${name}`);
          if (cond()) return;
          for (;;) {
            let wake = () => {};
            const slept = new Promise<void>((r) => {
              wake = r;
            });
            const w = { woken: false, wake: () => wake() };
            waiters.add(w); // prepare_to_wait
            await point(`wait_event condition ${name}`);
            if (cond()) {
              waiters.delete(w);
              return;
            }
            if (w.woken) await point(`schedule ${name}`);
            else await slept;
            waiters.delete(w);
          }
        },
        wakeUpAll: async () => {
          await point(`wake_up_all ${name}`);
          for (const w of [...waiters]) {
            waiters.delete(w);
            w.woken = true;
            w.wake();
          }
        },
      };
    },
    spawn: (_name, body) => {
      const done = body().catch((e: unknown) => {
        if (!(e instanceof PeerFailure)) throw e;
        failure ??= e.kind;
      });
      return { join: () => done };
    },
    fail: (kind, message) => {
      throw new PeerFailure(kind, message);
    },
  };
  let finished = false;
  const main = program(env).then(
    () => {
      finished = true;
    },
    (e: unknown) => {
      if (!(e instanceof PeerFailure)) throw e;
      failure ??= e.kind;
      finished = true;
    },
  );
  await s.waitIdle();
  // Nothing left to release and main has not returned: every thread waits on another.
  if (!finished && failure === null) failure = "deadlock";
  void main;
  return { failure, points };
}
