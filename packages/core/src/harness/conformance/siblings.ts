/**
 * Siblings (issue 22, "no verdict hides another"): a conformance scenario that exists to show
 * one documented bug fails at its trigger in the variants that have the bug, and then says
 * nothing else about them. Each sibling runs the same race with that trigger taken out, so
 * the variant is still judged on the rest.
 */
import { madviseDontneed } from "../../cpu/madvise.ts";
import { munmap } from "../../cpu/munmap.ts";
import { PAGE_SIZE } from "../../mm/page.ts";
import type { ExplorationSpec } from "../scenario.ts";
import { BASE, pageAddr } from "../setup.ts";
import { both, mustRegister } from "./helpers.ts";
import type { ConformanceScenario } from "./types.ts";

const P = PAGE_SIZE;
const BOUND2: ExplorationSpec = { strategy: "exhaustive", preemptionBound: 2, executions: 20_000 };

export const SIBLINGS: readonly ConformanceScenario[] = [
  {
    name: "oom-reaper-sibling-blockable-zap",
    description:
      "Sibling of oom-reaper-nonblocking without its trigger, the non-blockable start: the same zap of " +
      "the whole VMA under mmap_sem for read, issued blockably by madvise(MADV_DONTNEED) " +
      "(zap_page_range: MMU_NOTIFY_CLEAR), while the device populates the buffer and reads page 1. " +
      "Callbacks may sleep here, so none may refuse; no device mapping of a zapped page may remain.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await both(
        s,
        [
          "device",
          async () => {
            await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
            await s.ctx.access(buf, pageAddr(1), false);
          },
        ],
        ["madvise", async () => void (await madviseDontneed(s.mm, BASE, 4 * P))],
      );
      await s.ctx.unregister(buf);
    },
  },
  {
    name: "exit-sibling-munmap-all",
    description:
      "Sibling of exit-during-populate without its trigger, the exit: the process munmaps the whole " +
      "buffer (MMU_NOTIFY_UNMAP, the unmap exit_mmap would do, but with the mm alive and no release) " +
      "while the device populates the buffer and reads page 0. Afterwards the driver's file is closed.",
    exploration: BOUND2,
    async run(s) {
      const buf = await mustRegister(s, BASE, 4 * P);
      await both(
        s,
        [
          "device",
          async () => {
            await s.ctx.populate(buf, BASE, BASE + 4 * P, false);
            await s.ctx.access(buf, pageAddr(0), false);
          },
        ],
        ["munmap", async () => void (await munmap(s.mm, BASE, 4 * P))],
      );
      await s.ctx.unregister(buf);
    },
  },
];
