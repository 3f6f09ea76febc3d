/**
 * dmirror on the 2015 "active invalidation ranges" proposal, following its suggested caller
 * pattern as the record gives it (reference core.md section 4): wait_valid, take the lock the
 * driver's own invalidate_range_start callback takes, re-check is_valid, and loop — back to
 * wait_valid with the lock still held. Mark Hairgrove's review (31 Aug 2015) showed that this
 * deadlocks: the invalidation whose range is listed waits in its callback for the lock, the
 * fault holding the lock waits for that range to leave the list. Run it on the core variant:
 *   npm run mnlab -- test dmirror --variant packages/dmirror/patches/active-ranges-2015/wait-valid.ts \
 *     --core packages/core/patches/active-invalidation-ranges-2015.ts
 */
import { fileURLToPath } from "node:url";
import type { DriverModel } from "@mnlab/core";
import { dmirror2015Open } from "./mirror.ts";

export const variant: DriverModel = {
  info: {
    driver: "dmirror",
    id: "range-wait-valid-2015",
    kernel: "2015 proposal (never merged)",
    files: ["lib/test_hmm.c", "mm/mmu_notifier.c (2015 proposal, Jérôme Glisse / review thread)"],
    commits: [],
    source: fileURLToPath(new URL("./", import.meta.url)),
    summary:
      "dmirror on the 2015 active-ranges API, the suggested pattern: wait_valid, mutex, is_valid, loop with the mutex held",
  },
  open: (k, mm) => dmirror2015Open(k, mm, "range-wait-valid-2015", "wait-under-lock"),
};

export default variant;
