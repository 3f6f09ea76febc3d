/**
 * The radeon objects both variants share (drivers/gpu/drm/radeon/radeon.h, radeon_object.c,
 * radeon_ttm.c @5.4 — untouched by 3506ff69c3ec but for the notifier fields): the device with
 * its GART, and userptr BOs with their reservation, fences, placement and TTM backing.
 *
 * The notifier side of a BO differs per version (5.4: bo->mn and bo->mn_list; 5.5: the
 * embedded bo->notifier); each variant keeps it in its own module and plugs in through
 * RadeonMnImpl, the two functions radeon_gem.c and radeon_object.c call.
 */
import {
  DeviceMmu,
  type DmaFence,
  type GupPage,
  type HasLifetime,
  type Kernel,
  Lifetime,
  type MmStruct,
  type Page,
  touch,
} from "@mnlab/core";
import { LocklessField, Mutex } from "@mnlab/sim";
import type { RadeonDomain } from "../uapi.ts";

/** radeon_mn.c's two entry points, per version. */
export interface RadeonMnImpl {
  /** radeon_mn_register(bo, addr): 0 or -errno. Called from the ioctl, no lock held. */
  register(bo: RadeonBo, addr: number, current: MmStruct): Promise<number>;
  /** radeon_mn_unregister(bo): from radeon_gem_object_free, no lock held. */
  unregister(bo: RadeonBo): Promise<void>;
}

/** struct radeon_device, reduced to the GART (as the oracles' shadow page table). */
export class RadeonDevice {
  /** rdev->gart: GPU-visible translations of GTT BOs, keyed by the user address they back. */
  readonly gart: DeviceMmu;
  readonly bos: RadeonBo[] = [];
  private seqno = 0;

  constructor(
    readonly kernel: Kernel,
    readonly mm: MmStruct,
    readonly mn: RadeonMnImpl,
  ) {
    this.gart = new DeviceMmu(kernel, "rdev->gart", mm);
  }

  /** radeon_fence_emit(): the next sequence number on the GFX ring. */
  nextSeqno(): number {
    return ++this.seqno;
  }
}

/** enum ttm_caching_state's sibling, enum ttm_tt state @5.4: tt_bound, tt_unbound, tt_unpopulated. */
export type TtState = "tt_unpopulated" | "tt_unbound" | "tt_bound";

/** struct radeon_ttm_tt @5.4 (a ttm_dma_tt), reduced to the userptr fields. */
export class RadeonTtmTt {
  /** ttm->state: written under the reservation, read without it by the invalidate callbacks. */
  readonly state: LocklessField<TtState>;
  /** gtt->userptr, gtt->usermm, gtt->userflags (radeon_ttm_tt_set_userptr). */
  userptr = 0;
  usermm: MmStruct | null = null;
  userflags = 0;
  /** ttm->pages: filled by get_user_pages in pin_userptr. */
  pages: (Page | null)[];
  /**
   * ttm->sg: allocated by populate; its table (sgl) by pin_userptr. null = not populated;
   * `sgl` null = no table (never pinned, or freed by unpin: the "don't free twice" check).
   */
  sg: { sgl: GupPage[] | null } | null = null;

  constructor(
    kernel: Kernel,
    readonly bo: RadeonBo,
    readonly numPages: number,
  ) {
    this.state = new LocklessField<TtState>(
      kernel.ex,
      `${bo.name}->tbo.ttm->state`,
      "tt_unpopulated",
      bo.resv,
    );
    this.pages = new Array<Page | null>(numPages).fill(null);
  }
}

/** struct radeon_bo @5.4/5.5 (embedding its ttm_buffer_object), reduced. */
export class RadeonBo implements HasLifetime {
  /** bo->tbo.base.resv: the ww_mutex reservation, taken by CS, validate and the notifier. */
  readonly resv: Mutex;
  /** The fences in bo->tbo.base.resv (shared and exclusive, as one list). */
  fences: DmaFence[] = [];
  /** bo->tbo.mem.mem_type as a domain: CPU (TTM_PL_SYSTEM) or GTT (TTM_PL_TT). */
  domain: RadeonDomain = "CPU";
  /** bo->tbo.ttm */
  ttm: RadeonTtmTt | null;
  /** kfree(bo) in radeon_ttm_bo_destroy (5.5: with the notifier embedded in it). */
  readonly lifetime: Lifetime;

  constructor(
    readonly rdev: RadeonDevice,
    readonly name: string,
    readonly size: number,
    numPages: number,
  ) {
    const k = rdev.kernel;
    this.resv = new Mutex(k.ex, `${name}->tbo.base.resv`, "reservation_ww_class_mutex");
    this.lifetime = new Lifetime(`struct radeon_bo ${name}`);
    this.ttm = new RadeonTtmTt(k, this, numPages);
  }

  /** A dereference of the BO: a use-after-free once radeon_ttm_bo_destroy has run. */
  use(access: string): RadeonBo {
    touch(this.rdev.kernel, this, access);
    return this;
  }
}
