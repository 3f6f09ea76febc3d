/**
 * dmirror on the 2015 "active invalidation ranges" proposal with the alternative the review
 * thread names (reference core.md section 4): when is_valid fails under the lock, drop the
 * lock and start again (-EAGAIN), as HMM itself did and as Jérôme Glisse said was the intended
 * use. No deadlock; the cost Mark Hairgrove pointed out is that a faulting thread can be
 * starved by invalidations that keep coming. Run it on the core variant:
 *   npm run mnlab -- test dmirror --variant packages/dmirror/patches/active-ranges-2015/eagain.ts \
 *     --core packages/core/patches/active-invalidation-ranges-2015.ts
 */
import { fileURLToPath } from "node:url";
import type { DriverModel } from "@mnlab/core";
import { dmirror2015Open } from "./mirror.ts";

export const variant: DriverModel = {
  info: {
    driver: "dmirror",
    id: "range-valid-eagain-2015",
    kernel: "2015 proposal (never merged)",
    files: ["lib/test_hmm.c", "mm/mmu_notifier.c (2015 proposal, Jérôme Glisse / review thread)"],
    commits: [],
    source: fileURLToPath(new URL("./", import.meta.url)),
    summary: "dmirror on the 2015 active-ranges API, drop the mutex and retry when is_valid fails (-EAGAIN)",
  },
  open: (k, mm) => dmirror2015Open(k, mm, "range-valid-eagain-2015", "eagain"),
};

export default variant;
