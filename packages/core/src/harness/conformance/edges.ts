/**
 * Invalidations next to what the driver registered and faulted (issue 22): the pages just
 * before and just past a one-page buffer, with the liveness oracle. A driver whose notifier
 * is a page too long over-invalidates, which is allowed (core.md 6.2 item 11) but must not
 * make a populate fail. The edges inside a buffer (its first page only, a range straddling
 * its end, a three-page buffer) are races.ts's migrate-then-munmap-at-buffer-edges.
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
