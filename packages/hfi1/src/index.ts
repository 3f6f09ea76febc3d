/**
 * @mnlab/hfi1 — hfi1 expected-receive TID caching (drivers/infiniband/hw/hfi1/user_exp_rcv.c,
 * mmu_rb.c), modelled twice on @mnlab/core (reference rdma-xen-drivers.md 2):
 *   legacy    Linux 5.4: one mmu_rb handler per open file — its own mmu_notifier on fd->mm
 *             and an interval tree of TID nodes under an irqsave spinlock, which refuses
 *             overlapping TIDs; tid_rb_invalidate queues the TID for PSM.
 *   interval  Linux 5.5 (3889551db212): one mmu_interval_notifier per programmed TID, the
 *             read_begin whose value is discarded, no read_retry, teardown through
 *             mmu_interval_notifier_remove, the RELEASE pass at exit.
 * hfi1 is the pinning driver: a TID is a cache entry that PSM is told to drop, not a mapping
 * the kernel tears down, and the oracle follows the reference's weaker invariant (rcvarray.ts).
 */
import type { DriverPackage } from "@mnlab/core";
import { interval } from "./interval/driver.ts";
import { legacy } from "./legacy/driver.ts";
import {
  conformanceExpectations,
  conformanceScenarios,
  HFI1_COUNTERS,
  referenceScenarios,
  scenarios,
} from "./scenarios.ts";

export { interval } from "./interval/driver.ts";
export { legacy } from "./legacy/driver.ts";
export { conformanceExpectations, conformanceScenarios, HFI1_COUNTERS, referenceScenarios, scenarios };

export const variants = [legacy, interval];

export const driverPackage: DriverPackage = {
  name: "hfi1",
  title:
    "hfi1 expected-receive TID caching (drivers/infiniband/hw/hfi1/user_exp_rcv.c, mmu_rb.c): PSM's receive buffers pinned and programmed into the RcvArray",
  design: {
    legacy: [
      "- One `mmu_rb_handler` per open file: its own `mmu_notifier` on `fd->mm` (only `invalidate_range_start`, no `release`) and an interval tree of `tid_rb_node`s under an irqsave spinlock, with an LRU and a `del_list`/`del_work` the TIDs never use.",
      "- `TID_UPDATE` pins the whole buffer first (long-term GUP on `current->mm`), splits it into physically contiguous power-of-two chunks, then under `exp_mutex` per chunk: node, DMA map, `hfi1_mmu_rb_insert` (refuses any overlap with a cached node: `-EFAULT`), `hfi1_put_tid`.",
      "- `tid_rb_invalidate` (under the handler lock) marks the node `freed`, queues its TID in `invalid_tids` and sets the event bit; the RcvArray entry and the pins stay until PSM's `TID_INVAL_READ` + `TID_FREE`. Close: `mmu_notifier_unregister` (SRCU), flush, remove every node.",
    ].join("\n"),
    interval: [
      "- `fd->handler` becomes `use_mn`; each programmed TID embeds its own `mmu_interval_notifier` over exactly its chunk on `fd->mm` (overlapping TIDs are allowed).",
      "- Setup keeps the 5.4 order: pin, then per chunk insert the notifier, `mmu_interval_read_begin()` with the value discarded (the merged FIXME: the notifier should come before the pin), `hfi1_put_tid`; nothing calls `read_retry`.",
      "- `tid_rb_invalidate` takes only `invalid_lock` (never refuses, no `set_seq`, `freed` tested without a lock); `TID_FREE` and close call `mmu_interval_notifier_remove` first, then `clear_tid_node`; exit reaches every TID through the RELEASE pass (3889551db212: +60/−93).",
    ].join("\n"),
  },
  patches: [
    {
      commit: "3889551db212",
      title:
        "RDMA/hfi1: Use mmu_interval_notifier_insert for user_exp_rcv (user_exp_rcv.c 56/90, .h 2/1, hfi.h 1/1, file_ops.c 1/1; mmu_rb.c, kept for SDMA, is untouched by it but counted in the legacy model's lines)",
      insertions: 60,
      deletions: 93,
    },
  ],
  variants,
  scenarios,
};
