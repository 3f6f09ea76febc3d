/**
 * End-of-run checks (reference core.md 6, issue "device side"; lifetimes, issue 22): once
 * every thread has finished, nothing may be left behind — no WARN fired, no page reference
 * or pin the drivers took (every get_page/put_page pair), no notifier still registered, no
 * device mapping in a closed context, no mm_users or mm_count reference a driver took (every
 * mmget/mmput and mmgrab/mmdrop pair: the counts are back to what the process's own tasks
 * hold, and 0 once the process is gone), no heap struct never freed (kmemleak). Locks still
 * held are caught by the runtime when their thread ends.
 */
import type { DeviceMmu } from "../device/device-mmu.ts";
import { Hmm } from "../hmm/mirror.ts";
import type { Kernel } from "../kernel.ts";
import type { HasLifetime } from "../lifetime.ts";
import { hex, type Page } from "../mm/page.ts";

export function installEndChecks(k: Kernel, closedMmus: () => readonly DeviceMmu[]): void {
  k.ex.atExit("kernel-warn", () => {
    const w = k.warnings[0];
    return w === undefined ? null : `WARN in ${w.thread} at step ${w.step}: ${w.message}`;
  });
  // A freed object still linked where the kernel will walk it (the interval tree, the
  // deferred list, the hlist, hmm->ranges) is a use-after-free waiting for the next
  // invalidation; checked before the leak check, which would call it "never removed".
  k.ex.atExit("use-after-free", () => {
    for (const mm of k.mms) {
      const nmm = mm.notifierMm;
      if (nmm === null || nmm.lifetime.isFreed) continue;
      const linked: { what: string; obj: HasLifetime }[] = [
        ...[...nmm.itree.items()].map((s) => ({ what: "the interval tree", obj: s })),
        ...nmm.deferredList.map((s) => ({ what: "the deferred list", obj: s })),
        ...nmm.list.map((s) => ({ what: "the mmu_notifier hlist", obj: s })),
      ];
      for (const s of nmm.list) {
        if (s instanceof Hmm && !s.lifetime.isFreed) {
          for (const r of s.ranges) linked.push({ what: `${s.name}->ranges`, obj: r });
        }
      }
      for (const { what, obj } of linked) {
        const lt = obj.lifetime;
        if (lt.isFreed) return `${mm.name}: ${lt.name} ${lt.describeFree()} but still on ${what}`;
      }
    }
    return null;
  });
  k.ex.atExit("leak", () => {
    // A page reclaim could not free stays in the swap cache, which holds one reference for
    // its swap entry (mm/swap_state.c add_to_swap_cache() @5.5): not a leak.
    const swapCache = new Map<Page, number>();
    for (const mm of k.mms) {
      for (const [, e] of mm.pt.swapEntries()) {
        if (e.kind === "swap" && e.page !== undefined)
          swapCache.set(e.page, (swapCache.get(e.page) ?? 0) + 1);
      }
    }
    for (const p of k.pages.all()) {
      if (p.freed || p === k.zeroPage) continue;
      if (p.pincount > 0) return `pfn ${hex(p.pfn)} still pinned (${p.pincount})`;
      const cached = swapCache.get(p) ?? 0;
      if (p.refcount !== p.mapcount + cached) {
        const inCache = cached > 0 ? ` and ${cached} swap-cache entr${cached === 1 ? "y" : "ies"}` : "";
        return `pfn ${hex(p.pfn)} has ${p.refcount} references for ${p.mapcount} mappings${inCache}`;
      }
    }
    for (const mm of k.mms) {
      const nmm = mm.notifierMm;
      if (nmm === null) continue;
      const left = [...nmm.itree.items(), ...nmm.deferredList].map((s) => s.name);
      if (left.length > 0) return `${mm.name}: interval notifiers never removed: ${left.join(", ")}`;
      if (nmm.list.length > 0)
        return `${mm.name}: mmu_notifiers still registered: ${nmm.list.map((s) => s.name).join(", ")}`;
    }
    for (const d of closedMmus()) {
      if (d.size > 0) return `${d.name}: ${d.size} device mappings left after close`;
    }
    return mmReferencesLeft(k) ?? structsNeverFreed(k);
  });
}

/**
 * mm_users and mm_count against what the process itself holds (reference core.md 6.5 item
 * 24, 6.4 item 21): each task whose ->mm it is holds one mm_users reference, and all users
 * together hold one mm_count (mm_alloc; the last mmput drops it with its mmdrop). Anything
 * above that is a driver's mmget without its mmput (the address space never reaches
 * exit_mmap, the pages are never freed) or mmgrab without its mmdrop (the mm_struct is never
 * freed); anything below underflowed, which the refcount already WARNed.
 */
function mmReferencesLeft(k: Kernel): string | null {
  for (const mm of k.mms) {
    const users = mm.mmUsers.peek();
    if (users !== mm.tasks) {
      const who =
        mm.tasks === 0
          ? "the process is gone"
          : `its ${mm.tasks} task${mm.tasks === 1 ? "" : "s"} hold ${mm.tasks}`;
      return `${mm.name}: mm_users is ${users} once everything is closed (${who}): an mmget without its mmput`;
    }
    const count = mm.mmCount.peek();
    const want = users > 0 ? 1 : 0;
    if (count !== want) {
      return `${mm.name}: mm_count is ${count} once everything is closed (${want} for mm_users ${users}): an mmgrab without its mmdrop`;
    }
  }
  return null;
}

/** kmemleak: a heap struct (lifetime.ts) the model allocated and never freed. */
function structsNeverFreed(k: Kernel): string | null {
  const left = k.allocations.filter((lt) => !lt.isFreed).map((lt) => lt.name);
  if (left.length === 0) return null;
  return `never freed once everything is closed: ${left.join(", ")}`;
}
