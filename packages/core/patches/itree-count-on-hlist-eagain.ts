/**
 * mm/mmu_notifier: undo the interval pass's count when a classic subscriber refuses a
 * non-blockable range
 *
 * __mmu_notifier_invalidate_range_start() runs the interval-tree pass first and the classic
 * (hlist) pass second. mn_itree_invalidate() counts the range in active_invalidate_ranges
 * and, when every interval callback agrees, leaves it counted for the matching
 * invalidate_range_end() to drop. If a classic subscriber then refuses the non-blockable
 * range with -EAGAIN, that -EAGAIN is returned as it is, and a non-blocking caller that is
 * told -EAGAIN must not call invalidate_range_end() (__oom_reap_task_mm() skips the VMA;
 * from 5.15 process_mrelease() too). Nothing drops the count: active_invalidate_ranges
 * never reaches zero again, an exclusion period that started (the seq made odd because the
 * range hit a notifier, or an insert during the period) never ends, and the next
 * mmu_interval_read_begin() or mmu_interval_notifier_remove() that waits for it sleeps for
 * good (TASK_UNINTERRUPTIBLE). One nouveau process hits it alone: its svmm hlist notifier
 * refuses every non-blockable range and its faults insert interval notifiers.
 *
 * mn_itree_invalidate() already undoes its own count when one of its callbacks refuses the
 * range ("a non-blocking caller that gets -EAGAIN is not allowed to call
 * invalidate_range_end"); do the same when the hlist pass refuses it: call
 * mn_itree_inv_end(), which drops the count and, when it was the last, ends the exclusion
 * period, applies the deferred inserts/removes and wakes the waiters. The interval
 * callbacks that already ran have set their seq and torn their mappings down; as for a
 * refused interval callback, that over-invalidation only makes their readers retry.
 *
 * This does not make the hlist pass pair its own starts with ends (c2655835fd8c, 2021,
 * "mm/mmu_notifiers: ensure range_end() is paired with range_start()", does that for the
 * hlist subscribers and leaves this count alone): hlist behaviour is unchanged here.
 *
 * The 5.5 lines it changes (mm/mmu_notifier.c, __mmu_notifier_invalidate_range_start();
 * quoted from the 5.5 source as the model follows it — the reference, core.md 1.4, states
 * the same order and early return in prose, not as code):
 *
 *     int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
 *     {
 *             struct mmu_notifier_mm *mmn_mm = range->mm->mmu_notifier_mm;
 *             int ret;
 *
 *             if (mmn_mm->has_itree) {
 *                     ret = mn_itree_invalidate(mmn_mm, range);
 *                     if (ret)
 *                             return ret;
 *             }
 *     -       if (!hlist_empty(&mmn_mm->list))
 *     -               return mn_hlist_invalidate_range_start(mmn_mm, range);
 *     +       if (!hlist_empty(&mmn_mm->list)) {
 *     +               ret = mn_hlist_invalidate_range_start(mmn_mm, range);
 *     +               if (ret && !mmu_notifier_range_blockable(range) &&
 *     +                   mmn_mm->has_itree)
 *     +                       mn_itree_inv_end(mmn_mm);
 *     +               return ret;
 *     +       }
 *             return 0;
 *     }
 *
 * The undo is for a non-blockable range only: a blockable start whose hlist pass fails is a
 * WARN in mn_hlist_invalidate_range_start(), mmu_notifier_invalidate_range_start() ignores
 * the return, and its caller calls end as always, which drops the count it owns (undoing it
 * here too would drop it twice).
 *
 * Fixes: 99cb252f5e68 ("mm/mmu_notifier: add an interval tree notifier")
 */
import { type CoreVariant, coreFunctions, type MmuNotifierRange } from "../src/index.ts";

/** mm/mmu_notifier.c: __mmu_notifier_invalidate_range_start() @5.5 with this patch applied. */
async function __mmuNotifierInvalidateRangeStart(range: MmuNotifierRange): Promise<number> {
  const nmm = range.mm.notifierMm!;
  const core = coreFunctions();
  if (nmm.hasItree) {
    const ret = await core.mn_itree_invalidate(nmm, range);
    if (ret !== 0) return ret;
  }
  if (nmm.list.length > 0) {
    const ret = await core.mn_hlist_invalidate_range_start(nmm, range);
    // Only a non-blockable caller is forbidden its end; a blockable one ends what it started.
    if (ret !== 0 && !range.blockable && nmm.hasItree) await core.mn_itree_inv_end(nmm);
    return ret;
  }
  return 0;
}

export const coreVariant: CoreVariant = {
  id: "itree-count-on-hlist-eagain",
  description:
    "__mmu_notifier_invalidate_range_start: drop the interval pass's count (mn_itree_inv_end) when the hlist pass refuses a non-blockable range",
  replaces: { __mmu_notifier_invalidate_range_start: __mmuNotifierInvalidateRangeStart },
};

export default coreVariant;
