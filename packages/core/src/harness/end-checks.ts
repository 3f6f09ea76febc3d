/**
 * End-of-run checks (reference core.md 6, issue "device side"): once every thread has
 * finished, nothing may be left behind — no WARN fired, no page reference or pin the
 * drivers took, no notifier still registered, no device mapping in a closed context. Locks
 * still held are caught by the runtime when their thread ends.
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
    return null;
  });
}
