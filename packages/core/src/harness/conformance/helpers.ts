/**
 * What the conformance scenarios (and the drivers' own scenario tables) share: registering a
 * buffer as setup, running racing threads, and the liveness oracle of a populate that nothing
 * raced (issue 22).
 */
import type { AccessResult } from "../../device/device-mmu.ts";
import { errname } from "../../errno.ts";
import { hex, PAGE_SIZE } from "../../mm/page.ts";
import { type BufferHandle, isBuffer } from "../driver-model.ts";
import type { ScenarioContext } from "../scenario.ts";

/** Register [start, start+len) or fail the execution: setup is not what these scenarios test. */
export async function mustRegister(
  s: ScenarioContext,
  start: number,
  len: number,
  write = true,
): Promise<BufferHandle> {
  const b = await s.ctx.register(start, len, { write });
  if (!isBuffer(b)) return s.ex.fail("exception", `register [${start.toString(16)}, +${len}) returned ${b}`);
  return b;
}

/** Run two named thread bodies concurrently and wait for both. */
export async function both(
  s: ScenarioContext,
  a: [string, () => Promise<void>],
  b: [string, () => Promise<void>],
): Promise<void> {
  await all(s, a, b);
}

/** Run named thread bodies concurrently (spawned in order) and wait for every one. */
export async function all(s: ScenarioContext, ...bodies: [string, () => Promise<void>][]): Promise<void> {
  const threads = bodies.map(([name, body]) => s.ex.spawn(name, body));
  for (const t of threads) await t.join();
}

/**
 * The liveness oracle (reference core.md 6.6; issue 22): a populate of [start, end) that no
 * invalidation over that range can race must map what it asked for. The caller guarantees
 * that nothing of the scenario invalidates [start, end) (its racing invalidations hit other
 * pages): then an error return (-EFAULT, -EOVERFLOW, -EBUSY...) or a page of the range the
 * device cannot read right after is `populate-failed`. Each page is read through the driver's
 * own access path (a GPU job, a NIC DMA), so a driver that maps lazily is judged by what the
 * device sees, not by its tables. A populate that keeps retrying instead is bounded by the
 * driver's own deadline (HMM_RANGE_DEFAULT_TIMEOUT: -EBUSY, judged here) or by the runtime's
 * step bound (`livelock`).
 */
export async function populateMustMap(
  s: ScenarioContext,
  buf: BufferHandle,
  start: number,
  end: number,
  write: boolean,
): Promise<void> {
  const ret = await s.ctx.populate(buf, start, end, write);
  if (ret !== 0) {
    s.ex.fail(
      "populate-failed",
      `populate [${hex(start)}, ${hex(end)}) returned ${errname(ret)} with no invalidation of that range`,
    );
  }
  for (let a = start; a < end; a += PAGE_SIZE) {
    const r: AccessResult | number = await s.ctx.access(buf, a, false);
    if (typeof r === "number" || !r.ok) {
      const why = typeof r === "number" ? errname(r) : `a device fault (${r.fault})`;
      s.ex.fail(
        "populate-failed",
        `populate [${hex(start)}, ${hex(end)}) returned 0 but the device read of ${hex(a)} gave ${why}, with no invalidation of that range`,
      );
    }
  }
}
