/**
 * drivers/gpu/drm/radeon/radeon_mn.c after 3506ff69c3ec "drm/radeon: use
 * mmu_interval_notifier_insert" (Linux 5.5; reference gpu-drivers.md 3.2): each userptr BO
 * embeds a struct mmu_interval_notifier over exactly [addr, addr + size). The callback has no
 * driver lock and never calls mmu_interval_set_seq: the BO's reservation is what serialises it
 * against CS. Registration inserts, then calls mmu_interval_read_begin() once and drops the
 * value, under the commit's FIXME: radeon lets get_user_pages run between
 * invalidate_range_start and _end, and would need read_begin/read_retry around GUP to read the
 * PTEs safely. That is modelled as merged: GUP (../common/ttm.ts) runs with no read_retry.
 */
import {
  type Kernel,
  type MmStruct,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  rangeBlockable,
} from "@mnlab/core";
import type { RadeonBo, RadeonMnImpl } from "../common/bo.ts";
import { dmaResvWaitTimeoutRcu, radeonBoReserve, radeonBoUnreserve, ttmBoValidate } from "../common/ttm.ts";

/** The struct mmu_interval_notifier embedded in struct radeon_bo @5.5 (bo->notifier). */
export class RadeonBoNotifier extends MmuIntervalNotifier {
  constructor(readonly bo: RadeonBo) {
    super(`${bo.name}->notifier`);
    this.lifetime = bo.lifetime; // embedded: freed with the BO (radeon_ttm_bo_destroy)
  }
}

const notifiers = new WeakMap<RadeonBo, RadeonBoNotifier>();

/** &bo->notifier: part of the BO from its kzalloc, mm NULL until inserted. */
export function notifierOf(bo: RadeonBo): RadeonBoNotifier {
  let n = notifiers.get(bo);
  if (n === undefined) {
    n = new RadeonBoNotifier(bo);
    notifiers.set(bo, n);
  }
  return n;
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_invalidate() @5.5
async function radeonMnInvalidate(
  mn: MmuIntervalNotifier,
  range: MmuNotifierRange,
  _curSeq: number,
): Promise<boolean> {
  const bo = (mn as RadeonBoNotifier).bo.use("radeon_mn_invalidate"); // container_of
  const k = bo.rdev.kernel;
  const ttm = bo.ttm;
  if (ttm === null || (await ttm.state.load()) !== "tt_bound") return true;
  if (!rangeBlockable(range)) return false;
  // radeon_bo_reserve(bo, true) cannot fail uninterruptibly: the "failed to reserve" path is not taken.
  await radeonBoReserve(bo, true);
  const waited = await dmaResvWaitTimeoutRcu(bo);
  k.ex.count("radeon.fence_wait_ticks", waited);
  // radeon_ttm_placement_from_domain(bo, RADEON_GEM_DOMAIN_CPU); ttm_bo_validate()
  await ttmBoValidate(bo, "CPU", null);
  k.ex.count("radeon.bo_invalidated");
  k.ex.count(`radeon.bo_invalidated.${bo.name}`);
  await radeonBoUnreserve(bo);
  return true;
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_ops @5.5
const radeonMnOps: MmuIntervalNotifierOps = { invalidate: radeonMnInvalidate };

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_register() @5.5
async function radeonMnRegister(bo: RadeonBo, addr: number, current: MmStruct): Promise<number> {
  const n = notifierOf(bo);
  const ret = await mmuIntervalNotifierInsert(n, current, addr, bo.size, radeonMnOps);
  if (ret !== 0) return ret;
  // FIXME (3506ff69c3ec): "radeon appears to allow get_user_pages to run during
  // invalidate_range_start/end, which is not a safe way to read the PTEs. It should use the
  // mmu_interval_read_begin() scheme around the get_user_pages to ensure that the PTEs are read
  // properly". The one read_begin, its value discarded:
  await mmuIntervalReadBegin(n);
  return 0;
}

// drivers/gpu/drm/radeon/radeon_mn.c: radeon_mn_unregister() @5.5
async function radeonMnUnregister(bo: RadeonBo): Promise<void> {
  const n = notifierOf(bo.use("radeon_mn_unregister"));
  if (n.mm === null) return;
  await mmuIntervalNotifierRemove(n);
  n.mm = null;
}

/** The 5.5 radeon_mn.c entry points. */
export function radeonMn55(_k: Kernel): RadeonMnImpl {
  return { register: radeonMnRegister, unregister: radeonMnUnregister };
}
