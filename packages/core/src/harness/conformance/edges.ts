/**
 * Invalidations at the edges of what the driver registered and faulted (issue 22): the
 * first or the last page only, a range straddling the buffer's start, the pages just before
 * and just past it; buffers of one page and of three (not a power of two), not at the VMA's
 * start. A driver whose notifier or device clear is a page short misses an invalidation of
 * an edge page; one whose notifier is a page too long over-invalidates, which is allowed
 * (core.md 6.2 item 11) but must not make a populate fail.
 */
import { migratePage } from "../../cpu/migrate.ts";
import { munmap } from "../../cpu/munmap.ts";
import { PAGE_SIZE } from "../../mm/page.ts";
import type { ExplorationSpec } from "../scenario.ts";
import { pageAddr } from "../setup.ts";
import { both, mustRegister, populateMustMap } from "./helpers.ts";
import type { ConformanceScenario } from "./types.ts";

const P = PAGE_SIZE;
const BOUND2: ExplorationSpec = { strategy: "exhaustive", preemptionBound: 2, executions: 20_000 };

export const EDGES: readonly ConformanceScenario[] = [
  {
    name: "invalidations-at-buffer-edges",
    description:
      "A three-page buffer at pages 1-3 of a five-page VMA is populated and its last page " +
      "read while a munmap of pages 0-1 straddles its start (one page before, the first page), then a " +
      "migration moves its last page only (page 3). Each edge page must be torn down or re-looked-up: " +
      "a notifier or device clear one page short leaves the device on a page the CPU no longer maps.",
    pages: 5,
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, pageAddr(1), 3 * P);
      await both(
        s,
        [
          "device",
          async () => {
            await s.ctx.populate(buf, pageAddr(1), pageAddr(4), false);
            await s.ctx.access(buf, pageAddr(3), false);
          },
        ],
        [
          "cpu",
          async () => {
            await munmap(s.mm, pageAddr(0), 2 * P);
            await migratePage(s.mm, pageAddr(3));
          },
        ],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "one-page-buffer-neighbour-invalidations",
    description:
      "A one-page buffer at page 2 of a five-page VMA is populated and read while its neighbours are " +
      "invalidated: a migration of page 1 (the page before), then a munmap of page 3 (the page past). " +
      "Nothing invalidates the buffer's page, so the populate must map it and the device must read it " +
      "(liveness: otherwise populate-failed); the neighbours' invalidations must not reach it.",
    pages: 5,
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, pageAddr(2), P);
      await both(
        s,
        ["device", async () => await populateMustMap(s, buf, pageAddr(2), pageAddr(3), false)],
        [
          "neighbours",
          async () => {
            await migratePage(s.mm, pageAddr(1));
            await munmap(s.mm, pageAddr(3), P);
          },
        ],
      );
      await s.ctx.unregister(buf);
    },
  },
];
