// Each oracle has a second line (issue 22): the protocol oracle `unsafe-map` (a mapping made
// without the user lock, or without a false read_retry for its seq, reference core.md 6.3
// item 16) flags a protocol error at the mapping, before anything goes wrong; switched off
// (RunOverrides.oraclesOff, MNLAB_ORACLES_OFF), the same conformance scenario must still
// catch the consequence through a semantic oracle (stale access, use-after-free).
import { Mutex } from "@mnlab/sim";
import { afterEach, describe, expect, it } from "vitest";
import {
  type BufferHandle,
  CONFORMANCE,
  conformance,
  type DeviceContext,
  DeviceMmu,
  type DriverModel,
  EBUSY,
  EFAULT,
  type Expectation,
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
  oraclesOff,
  replayScenario,
  runScenario,
  uniformRequest,
} from "../src/index.ts";

type Bug = "no-retry" | "map-after-unlock";

interface Buf extends BufferHandle {
  sub: MmuIntervalNotifier;
  lock: Mutex;
}

/** The canonical 5.5 user with one protocol error, declaring its read sections to the oracle. */
function buggyDriver(bug: Bug): DriverModel {
  return {
    info: {
      driver: "second-line",
      id: bug,
      kernel: "5.5",
      files: ["Documentation/vm/hmm.rst"],
      commits: [],
      source: import.meta.url,
      summary: bug === "no-retry" ? "maps without read_retry" : "maps after dropping the user lock",
    },
    async open(k: Kernel, mm: MmStruct): Promise<DeviceContext> {
      const dev = new DeviceMmu(k, `${bug}.dev`, mm);
      let n = 0;
      return {
        mmus: [dev],
        async register(start, len) {
          const b: Buf = {
            start,
            end: start + len,
            sub: new MmuIntervalNotifier(`buf${n}`),
            lock: new Mutex(k.ex, `buf${n++}->lock`, "buf->lock"),
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
          const b = buf as Buf;
          if (!(await mmgetNotZero(mm))) return EFAULT;
          const range = new HmmRange55(b.sub, start, end, uniformRequest(true, write));
          let ret = EBUSY;
          for (let tries = 0; tries < 4; tries++) {
            range.notifierSeq = await mmuIntervalReadBegin(b.sub);
            await mm.mmapSem.downRead();
            ret = await hmmRangeFault(range);
            await mm.mmapSem.upRead();
            if (ret === EBUSY) continue;
            if (ret < 0) break;
            await b.lock.lock();
            const via = { notifier: b.sub, seq: range.notifierSeq, lock: b.lock };
            if (bug === "no-retry") {
              await dev.map(range.pfns, { via }); // BUG: no mmu_interval_read_retry
              await b.lock.unlock();
            } else {
              const retry = mmuIntervalReadRetry(b.sub, range.notifierSeq);
              await b.lock.unlock();
              if (retry) {
                ret = EBUSY;
                continue;
              }
              await dev.map(range.pfns, { via }); // BUG: the callback can run before this
            }
            ret = 0;
            break;
          }
          await mmput(mm);
          return ret;
        },
        access: (_buf, addr, write) => dev.access(addr, write),
        async unregister(buf) {
          const b = buf as Buf;
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

const pass: Record<string, Expectation> = { default: { verdict: "pass" } };
const scenarios = conformance(Object.fromEntries(CONFORMANCE.map((c) => [c.name, pass])));
const RACE = scenarios.find((s) => s.name === "invalidate-between-lookup-and-program")!;
const SEMANTIC = ["stale-access", "use-after-free", "write-after-protect"];
/** Well inside the scenario's default budget (850 executions): off, the consequence shows by 59. */
const BUDGET = { executions: 150 };

describe("unsafe-map and its second line", () => {
  const saved = process.env.MNLAB_ORACLES_OFF;
  afterEach(() => {
    if (saved === undefined) delete process.env.MNLAB_ORACLES_OFF;
    else process.env.MNLAB_ORACLES_OFF = saved;
  });

  for (const bug of ["no-retry", "map-after-unlock"] as const) {
    it(`${bug}: unsafe-map at the mapping; with it off, a semantic oracle at the consequence`, async () => {
      delete process.env.MNLAB_ORACLES_OFF;
      const on = await runScenario(buggyDriver(bug), RACE, BUDGET);
      expect(on.verdict).toBe("unsafe-map");
      expect(on.oraclesOff).toBeUndefined();

      const off = await runScenario(buggyDriver(bug), RACE, { ...BUDGET, oraclesOff: ["unsafe-map"] });
      const kinds = off.violations.map((v) => v.kind);
      expect(kinds).not.toContain("unsafe-map");
      expect(SEMANTIC).toContain(off.verdict);
      expect(off.oraclesOff).toEqual(["unsafe-map"]);
      console.log(
        `${bug}: unsafe-map at execution ${on.firstFailureAt}; off: ${off.verdict} at ${off.firstFailureAt} of ${off.executions}`,
      );
      // Later than the protocol oracle, never earlier: the consequence needs the race.
      expect(off.firstFailureAt!).toBeGreaterThanOrEqual(on.firstFailureAt!);
      // Its token replays with the oracle off, to the same kind.
      const sim = off.replay!.split(":")[3]!;
      const again = await replayScenario(buggyDriver(bug), RACE, sim, { oraclesOff: ["unsafe-map"] });
      expect(again.failure?.kind).toBe(off.verdict);
    });
  }

  it("MNLAB_ORACLES_OFF switches it off for runs that name nothing; an unknown name is an Error", async () => {
    process.env.MNLAB_ORACLES_OFF = "unsafe-map";
    expect(oraclesOff()).toEqual(["unsafe-map"]);
    const r = await runScenario(buggyDriver("no-retry"), RACE, { executions: 50 });
    expect(r.violations.map((v) => v.kind)).not.toContain("unsafe-map");
    expect(r.oraclesOff).toEqual(["unsafe-map"]);
    expect(oraclesOff({ oraclesOff: [] })).toEqual([]);
    process.env.MNLAB_ORACLES_OFF = "unsafe-map, stale-access";
    expect(() => oraclesOff()).toThrow(/unknown oracle to switch off: stale-access/);
  });
});
