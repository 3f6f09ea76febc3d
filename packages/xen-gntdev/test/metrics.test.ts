// Old against new, from whole explorations: maps scanned per invalidation (5.4's linear scan of
// maps and freeable_maps on every invalidation of the mm; 5.5's interval tree calls only the
// maps whose notifier meets the range), -EAGAIN under the OOM reaper with priv->lock contended,
// the grant unmap's wait for page references, and lines of model code next to the diffstat.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isBuffer, munmap, PAGE_SIZE, pageAddr } from "@mnlab/core";
import { describe, expect, it } from "vitest";
import { driverPackage, interval, intervalHvm, legacy, scenarios } from "../src/index.ts";
import { adHoc, exploreCounters } from "./support.ts";

const P = PAGE_SIZE;

/** Three 1-page grant mappings at pages 0-2; four munmaps of anonymous pages 4-7 (no grants). */
const trafficElsewhere = adHoc(
  "three maps, invalidations elsewhere",
  async (s) => {
    const bufs = [];
    for (let i = 0; i < 3; i++) {
      const b = await s.ctx.register(pageAddr(i), P, { write: true });
      if (!isBuffer(b)) return s.ex.fail("exception", `register ${b}`);
      bufs.push(b);
    }
    for (let i = 4; i < 8; i++) await munmap(s.mm, pageAddr(i), P);
    for (const b of bufs) await s.ctx.unregister(b);
  },
  8,
);

describe("maps scanned per invalidation", () => {
  it("5.4 scans every map of the file for every invalidation of the mm; 5.5 is called only for the map that is hit", async () => {
    const old = await exploreCounters(legacy, trafficElsewhere, 0);
    const neu = await exploreCounters(interval, trafficElsewhere, 0);
    expect(old.r.failure, old.r.failure?.message).toBeNull();
    expect(neu.r.failure, neu.r.failure?.message).toBeNull();
    // Every invalidate_range_start of the mm reaches 5.4's per-file notifier.
    const starts = old.total("gntdev_invalidations");
    const oldScanned = old.total("gntdev_maps_scanned");
    const newScanned = neu.total("gntdev_maps_scanned");
    console.log(
      `maps scanned per invalidation over ${starts} invalidations: 5.4 ${(oldScanned / starts).toFixed(2)}, 5.5 ${(newScanned / starts).toFixed(2)}`,
    );
    // 3 MAP_FIXED registrations + 4 munmaps elsewhere + 3 unregistering munmaps.
    expect(starts).toBe(10);
    // 5.4: the four munmaps elsewhere each scan all three maps.
    expect(oldScanned).toBeGreaterThanOrEqual(4 * 3);
    // 5.5: only the three unregistering munmaps hit a notifier, one map each.
    expect(newScanned).toBe(3);
  });
});

describe("-EAGAIN under the OOM reaper", () => {
  const contended = scenarios.find((s) => s.name === "G2-oom-reaper-contended-priv-lock")!;
  const overlap = scenarios.find((s) => s.name === "G2-oom-reaper-over-private-grant-mapping")!;

  it("contended priv->lock, no grant in the reaped range: 5.4 refuses in some schedules, 5.5 never", async () => {
    const old = await exploreCounters(legacy, contended, 2);
    const neu = await exploreCounters(interval, contended, 2);
    expect(old.r.failure, old.r.failure?.message).toBeNull();
    expect(neu.r.failure, neu.r.failure?.message).toBeNull();
    expect(old.r.exhausted && neu.r.exhausted).toBe(true);
    const oldRate = old.perExec("gntdev_eagain");
    console.log(
      `-EAGAIN per reaper run (no overlap, contended lock): 5.4 ${oldRate.toFixed(3)} over ${old.r.executions} executions, 5.5 ${neu.perExec("gntdev_eagain")} over ${neu.r.executions}`,
    );
    expect(oldRate).toBeGreaterThan(0);
    expect(neu.total("gntdev_eagain")).toBe(0);
    expect(neu.total("gntdev_invalidations")).toBe(
      old.total("gntdev_invalidations") > 0 ? neu.total("gntdev_invalidations") : 0,
    );
  });

  it("an overlapping grant mapping: both refuse in every schedule (5.4 by -EAGAIN from unmap_if_in_range or the trylock, 5.5 by false)", async () => {
    const old = await exploreCounters(legacy, overlap, 2);
    const neu = await exploreCounters(interval, overlap, 2);
    expect(old.r.failure, old.r.failure?.message).toBeNull();
    expect(neu.r.failure, neu.r.failure?.message).toBeNull();
    expect(old.perExec("gntdev_eagain")).toBe(1);
    expect(neu.perExec("gntdev_eagain")).toBe(1);
  });

  it("HVM: no notifier, nothing refuses", async () => {
    const hvm = await exploreCounters(intervalHvm, overlap, 2);
    expect(hvm.r.failure, hvm.r.failure?.message).toBeNull();
    expect(hvm.total("gntdev_eagain")).toBe(0);
  });
});

describe("the grant unmap waits for page references", () => {
  const s = scenarios.find((x) => x.name === "G-unmap-waits-for-page-reference")!;
  it("gnttab_unmap_refs_sync defers while a GUP reference is held, in both versions", async () => {
    for (const v of [legacy, interval]) {
      const r = await exploreCounters(v, s, 2);
      expect(r.r.failure, r.r.failure?.message).toBeNull();
      expect(r.perExec("gnttab_unmap_deferred")).toBeGreaterThan(0);
    }
  });
});

describe("lines of model code next to the kernel diffstat", () => {
  function lines(dir: string): number {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .reduce((n, f) => n + readFileSync(join(dir, f), "utf8").split("\n").length, 0);
  }
  it("the 5.5 model is shorter than the 5.4 one, as d3eeb1d77c5d (+49/-138) is", () => {
    const old = lines(legacy.info.source);
    const neu = lines(interval.info.source);
    const patch = driverPackage.patches[0]!;
    console.log(
      `model lines: legacy ${old}, interval ${neu}; kernel d3eeb1d77c5d +${patch.insertions}/-${patch.deletions}`,
    );
    expect(patch.insertions - patch.deletions).toBe(-89);
    expect(neu).toBeLessThan(old);
  });
});
