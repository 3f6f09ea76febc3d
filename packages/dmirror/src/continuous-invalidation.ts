/**
 * Continuous invalidations against a device fault: the starvation Mark Hairgrove pointed out
 * in the 2015 review (reference core.md section 4; 6.6 items 25 and 26). A thread keeps
 * invalidating the page the device faults, each invalidation held open `hold` ticks between
 * invalidate_range_start and _end, with `gap` ticks between two; the device faults the page
 * once and reads it. What is measured is the fault's waiting: its retries (the metrics'
 * retries per populate) and the virtual time it spends blocked, as the invalidation rate
 * grows, and then under invalidations that overlap so that one is always in flight, where
 * no fault can finish: the run ends at the runtime's step bound (livelock).
 *
 * Model decisions, not kernel facts: the invalidation source is modelled by its notifier
 * calls alone (start, `hold` ticks, end — the shape of clear_refs' soft-dirty pass or of NUMA
 * hinting's change_prot_numa, MMU_NOTIFY_SOFT_DIRTY here) and changes no PTE the device
 * reads, because only the waiting is measured; the rates are small numbers of ticks (1 tick =
 * 1 ms, as in fault.ts) so that the runs stay short. The same scenarios run on every dmirror
 * variant: on `interval` they measure 5.5's read_begin, which also sleeps for as long as an
 * exclusion period lasts (6.6 item 25) and also cannot finish under overlapping invalidations
 * (item 26: "Driver retry loops are not guaranteed to terminate"), next to the 2015 variants
 * in packages/dmirror/patches/active-ranges-2015/.
 */
import {
  BASE,
  type Expectation,
  errname,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  PAGE_SIZE,
  rangeInit,
  type Scenario,
  type ScenarioContext,
} from "@mnlab/core";

const P = PAGE_SIZE;

/** Exploration of these scenarios: sampled schedules (the runs are long in steps, not in choices). */
const EXPLORATION = { strategy: "random", executions: 8, seed: 1, maxSteps: 4000 } as const;

/** One invalidation of [start, end): start, `hold` ticks, end (the source's notifier calls). */
async function invalidation(s: ScenarioContext, hold: number): Promise<void> {
  const range = rangeInit(s.mm, "SOFT_DIRTY", BASE, BASE + P);
  await mmuNotifierInvalidateRangeStart(range);
  await s.ex.sleep(hold);
  await mmuNotifierInvalidateRangeEnd(range);
}

/** The device's side: fault the page in once, read it; a failed fault is the verdict, with its time. */
async function deviceFault(s: ScenarioContext, done: { v: boolean }): Promise<void> {
  const r = await s.ctx.register(BASE, P, { write: false });
  if (typeof r === "number") return s.ex.fail("exception", `register returned ${errname(r)}`);
  const t0 = s.ex.now;
  const ret = await s.ctx.populate(r, BASE, BASE + P, false);
  done.v = true;
  s.ex.trace("note", "fault", "device", `${errname(ret)} after ${s.ex.now - t0} ticks`);
  if (ret !== 0) {
    return s.ex.fail(
      "populate-failed",
      `the fault returned ${errname(ret)} after ${s.ex.now - t0} ticks of continuous invalidation`,
    );
  }
  await s.ctx.access(r, BASE, false);
  await s.ctx.unregister(r);
}

function rateScenario(
  hold: number,
  gap: number,
  cycles: number,
  expected: Record<string, Expectation>,
): Scenario {
  return {
    name: `continuous-invalidation-hold${hold}-gap${gap}`,
    description:
      `The process's page is invalidated ${cycles} times, each invalidation held open ${hold} ticks, ${gap} ticks apart, ` +
      "while the device faults it once and reads it. The fault must map the page; its retries and blocked ticks " +
      "measure what the invalidation rate costs it.",
    pages: 1,
    exploration: EXPLORATION,
    expected,
    async run(s) {
      const done = { v: false };
      const dev = s.ex.spawn("device", () => deviceFault(s, done));
      const inv = s.ex.spawn("invalidate", async () => {
        for (let i = 0; i < cycles; i++) {
          await invalidation(s, hold);
          if (gap > 0) await s.ex.sleep(gap);
        }
      });
      await dev.join();
      await inv.join();
    },
  };
}

/** Two sources whose invalidations overlap: from the first start on, one is always in flight. */
function overlappingScenario(hold: number, expected: Record<string, Expectation>): Scenario {
  return {
    name: `continuous-invalidation-overlapping-hold${hold}`,
    description:
      `Two sources invalidate the process's page back to back, each invalidation held open ${hold} ticks and the ` +
      "second source half a period behind the first, so that from the first start on an invalidation is always " +
      "in flight; they go on until the device's fault of the page, which starts 1 tick after the first " +
      "invalidation, has returned. A fault that waits for a " +
      "moment with no invalidation in flight never gets one: the run ends at the step bound.",
    pages: 1,
    exploration: { ...EXPLORATION, executions: 2, maxSteps: 800 },
    expected,
    async run(s) {
      const done = { v: false };
      const source = (delay: number) => async () => {
        if (delay > 0) await s.ex.sleep(delay);
        while (!done.v) await invalidation(s, hold);
      };
      const a = s.ex.spawn("invalidate-a", source(0));
      const b = s.ex.spawn("invalidate-b", source(hold / 2));
      // The device comes 1 tick after the first start: in every schedule an invalidation is in flight by then.
      const dev = s.ex.spawn("device", async () => {
        await s.ex.sleep(1);
        await deviceFault(s, done);
      });
      await dev.join();
      await a.join();
      await b.join();
    },
  };
}

const REF = "core.md 6.6";

/**
 * The scenarios with dmirror's (5.5) expectations; a patch variant is expected to do what
 * `interval` does (expectationFor), so the 2015 variants' rows say where they differ.
 */
export const continuousInvalidationScenarios: Scenario[] = [
  rateScenario(10, 40, 6, {
    interval: {
      verdict: "pass",
      ref: REF,
      note: "Item 25: read_begin sleeps only through the exclusion period its callback ran in; a gap lets the fault through.",
    },
  }),
  rateScenario(10, 0, 12, {
    interval: {
      verdict: "pass",
      ref: REF,
      note:
        "Back to back, one source: each end brings the mm seq back to even, so read_begin returns between two " +
        "periods; the fault retries when the next callback collides, and maps once the source stops.",
    },
  }),
  overlappingScenario(10, {
    interval: {
      verdict: "livelock",
      ref: REF,
      note:
        "Item 26: overlapping invalidations keep active_invalidate_ranges above 0, so the period whose callback " +
        "set the notifier's seq never ends and read_begin sleeps through all of it (dmirror's 1000 ms deadline is " +
        "checked only between attempts). The 5.5 core, like the 2015 proposal, lets invalidations starve a fault: " +
        "Jérôme's answer in 2015, that invalidations take precedence over device faults.",
    },
  }),
];
