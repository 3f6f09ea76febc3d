/** include/linux/mmu_notifier.h: struct mmu_notifier_range and enum mmu_notifier_event @5.5 */
import type { MmStruct } from "../mm/mm.ts";
import { hex } from "../mm/page.ts";

/** enum mmu_notifier_event: why the CPU page table is changing (RELEASE is new in 5.5). */
export type MmuNotifierEvent =
  | "UNMAP"
  | "CLEAR"
  | "PROTECTION_VMA"
  | "PROTECTION_PAGE"
  | "SOFT_DIRTY"
  | "RELEASE"
  | "MIGRATE";

/** struct mmu_notifier_range: [start, end) with end exclusive. */
export interface MmuNotifierRange {
  readonly mm: MmStruct;
  readonly start: number;
  readonly end: number;
  readonly event: MmuNotifierEvent;
  /** MMU_NOTIFIER_RANGE_BLOCKABLE; cleared for the OOM reaper's _nonblock start. */
  blockable: boolean;
}

/** include/linux/mmu_notifier.h: mmu_notifier_range_init() @5.5 */
export function rangeInit(
  mm: MmStruct,
  event: MmuNotifierEvent,
  start: number,
  end: number,
): MmuNotifierRange {
  return { mm, start, end, event, blockable: true };
}

/** include/linux/mmu_notifier.h: mmu_notifier_range_blockable() @5.5 */
export function rangeBlockable(r: MmuNotifierRange): boolean {
  return r.blockable;
}

export function describeRange(r: {
  start: number;
  end: number;
  event?: string;
  blockable?: boolean;
}): string {
  const ev = r.event === undefined ? "" : ` MMU_NOTIFY_${r.event}`;
  const nb = r.blockable === false ? " nonblock" : "";
  return `[${hex(r.start)}, ${hex(r.end)})${ev}${nb}`;
}

/** [a, b) and [c, d) intersect. */
export function overlaps(a: number, b: number, c: number, d: number): boolean {
  return a < d && c < b;
}
