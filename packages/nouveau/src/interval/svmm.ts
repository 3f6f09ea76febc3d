/**
 * nouveau SVM as converted for Linux 5.5 (drivers/gpu/drm/nouveau/nouveau_svm.c after
 * c625c274ee00 "nouveau: use mmu_notifier directly for invalidate_range_start"; reference
 * gpu-drivers.md 2.3):
 *  - the svmm embeds a plain struct mmu_notifier, registered with __mmu_notifier_register under
 *    mmap_sem (write); the notifier owns the svmm and holds the mm with mmgrab (notifier.mm);
 *  - ops: invalidate_range_start, the 5.4 sync body that now skips the hardware once
 *    svmm->vmm is NULL, and free_notifier, the kfree, run after SRCU by mmu_notifier_put;
 *  - fini: svmm->vmm = NULL under svmm->mutex, then mmu_notifier_put.
 * The hlist callback still sees every invalidation of the mm and still refuses every
 * non-blockable one (O5: the patch does not touch that early return). There is no release op,
 * so exit_mmap's unmap of the pages reaches no nouveau callback either (O8 is kept).
 * The per-fault interval notifiers are in fault.ts.
 */
import {
  __mmuNotifierRegister,
  DeviceMmu,
  EAGAIN,
  EBUSY,
  type HasLifetime,
  hex,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  MmuNotifier,
  type MmuNotifierRange,
  mmuNotifierPut,
  rangeBlockable,
  touch,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";

/**
 * struct nouveau_ivmm @5.5: one channel's entry on svm->inst, kmalloc()ed by nouveau_svmm_join
 * and kfree()d by nouveau_svmm_part.
 */
export class NouveauIvmm implements HasLifetime {
  readonly lifetime: Lifetime;

  constructor(
    readonly svmm: NouveauSvmm,
    readonly inst: number,
  ) {
    this.lifetime = new Lifetime(`struct nouveau_ivmm ivmm(inst ${hex(inst)})`);
  }
}

/** struct nouveau_svm @5.5 (one per device), reduced to the instance list and its mutex. */
export class NouveauSvm {
  /** svm->mutex: protects `inst`. */
  readonly mutex: Mutex;
  /** svm->inst: the list of nouveau_ivmm (channel instance -> svmm), newest first (list_add). */
  readonly inst: NouveauIvmm[] = [];

  constructor(readonly kernel: Kernel) {
    this.mutex = new Mutex(kernel.ex, "svm->mutex");
  }
}

/** struct nouveau_vmm @5.5: cli->svm; `vmm` stands for its nvif_vmm and the GPU page table. */
export interface NouveauVmm {
  cli: NouveauCli | null;
  vmm: DeviceMmu | null;
  svmm: NouveauSvmm | null;
}

/** struct nouveau_cli @5.5, reduced: cli->mutex and cli->svm. */
export class NouveauCli {
  readonly mutex: Mutex;
  readonly svm: NouveauVmm = { cli: null, vmm: null, svmm: null };

  constructor(
    readonly kernel: Kernel,
    readonly drm: { svm: NouveauSvm },
    readonly name: string,
  ) {
    this.mutex = new Mutex(kernel.ex, `${name}->mutex`, "cli->mutex");
  }
}

/** The struct mmu_notifier embedded in the svmm: container_of() gives the svmm back. */
class SvmmNotifier extends MmuNotifier {
  constructor(readonly svmm: NouveauSvmm) {
    super(`svmm(${svmm.name})->notifier`, nouveauMnOps);
  }
}

/** struct nouveau_svmm @5.5 */
export class NouveauSvmm implements HasLifetime {
  /** svmm->vmm = &cli->svm; NULL once nouveau_svmm_fini has run. */
  vmm: NouveauVmm | null;
  readonly unmanaged: { start: number; limit: number };
  /** svmm->mutex: the hlist callback's lock, the itree callback's user lock, PFNMAP's lock. */
  readonly mutex: Mutex;
  readonly notifier: MmuNotifier;
  /** kfree()d by free_notifier, after the SRCU grace period of mmu_notifier_put; the notifier is embedded. */
  readonly lifetime: Lifetime;

  constructor(
    readonly kernel: Kernel,
    cli: NouveauCli,
    unmanaged: { addr: number; size: number },
    readonly name: string,
  ) {
    this.vmm = cli.svm;
    this.unmanaged = { start: unmanaged.addr, limit: unmanaged.addr + unmanaged.size };
    this.mutex = new Mutex(kernel.ex, `svmm(${name})->mutex`, "svmm->mutex");
    this.lifetime = new Lifetime(`struct nouveau_svmm svmm(${name})`);
    this.notifier = new SvmmNotifier(this);
    this.notifier.lifetime = this.lifetime;
  }

  get freed(): boolean {
    return this.lifetime.isFreed;
  }
}

/** Any dereference of the svmm: once free_notifier has run it is a use-after-free. */
export function svmmUse(svmm: NouveauSvmm, what: string): NouveauSvmm {
  touch(svmm.kernel, svmm, what);
  return svmm;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_invalidate() @5.5 — NVIF_VMM_V0_PFNCLR; caller checked svmm->vmm
export async function nouveauSvmmInvalidate(svmm: NouveauSvmm, start: number, limit: number): Promise<void> {
  // client->super = true around the method: a driver-internal permission, not modelled.
  if (limit > start) await svmm.vmm!.vmm!.unmap(start, limit);
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_invalidate_range_start() @5.5
async function nouveauSvmmInvalidateRangeStart(mn: MmuNotifier, update: MmuNotifierRange): Promise<number> {
  const svmm = (mn as SvmmNotifier).svmm;
  let start = update.start;
  const limit = update.end;
  if (!rangeBlockable(update)) return EAGAIN;
  svmmUse(svmm, "invalidate_range_start"); // O5, kept by c625c274ee00
  svmm.kernel.ex.count("nouveau.svmm_invalidate_range_start");
  await svmm.mutex.lock();
  if (svmm.vmm !== null) {
    if (limit > svmm.unmanaged.start && start < svmm.unmanaged.limit) {
      // Unchanged from 5.4 by c625c274ee00 (reference 2.2, corrected): the first clear runs to
      // svmm->unmanaged.LIMIT, so it PFNCLRs the unmanaged window too.
      // What the over-reach reaches is nothing SVM mapped: PFNMAP is refused in the window (the
      // NVKM-managed area, fault.ts nvkmVmmPfnMap) and nvkm_vmm_pfn_unmap only removes PFN
      // mappings, not the BOs' (inference from nvkm: the reference does not cover it).
      if (start < svmm.unmanaged.start) await nouveauSvmmInvalidate(svmm, start, svmm.unmanaged.limit);
      start = svmm.unmanaged.limit;
    }
    await nouveauSvmmInvalidate(svmm, start, limit);
  }
  await svmm.mutex.unlock();
  return 0;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_free_notifier() @5.5 — kfree the svmm
function nouveauSvmmFreeNotifier(mn: MmuNotifier): void {
  const svmm = (mn as SvmmNotifier).svmm;
  kfree(svmm.kernel, svmm, "nouveau_svmm_free_notifier: kfree(svmm)");
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_mn_ops @5.5
const nouveauMnOps = {
  invalidateRangeStart: nouveauSvmmInvalidateRangeStart,
  freeNotifier: nouveauSvmmFreeNotifier,
};

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_init() @5.5 (NOUVEAU_SVM_INIT), in current's context
export async function nouveauSvmmInit(
  cli: NouveauCli,
  mm: MmStruct,
  args: { unmanagedAddr: number; unmanagedSize: number },
): Promise<number> {
  const k = cli.kernel;
  k.ex.trace(
    "call",
    "nouveau_svmm_init",
    cli.name,
    `unmanaged ${hex(args.unmanagedAddr)}+${hex(args.unmanagedSize)}`,
  );
  k.gfpKernelAlloc(); // kzalloc(sizeof(*svmm), GFP_KERNEL), no lock held
  const svmm = new NouveauSvmm(k, cli, { addr: args.unmanagedAddr, size: args.unmanagedSize }, cli.name);
  await cli.mutex.lock();
  if (cli.svm.cli !== null) {
    kfree(k, svmm, "nouveau_svmm_init: kfree(svmm)");
    await cli.mutex.unlock();
    return EBUSY;
  }
  // nvif_vmm_init(): a new VMM with replayable faults; its page table is the oracles' DeviceMmu.
  cli.svm.vmm = new DeviceMmu(k, `${cli.name}->svm.vmm`, mm);
  // No get_task_mm any more: current->mm, under its mmap_sem; the notifier mmgrabs it.
  await mm.mmapSem.downWrite();
  const ret = await __mmuNotifierRegister(svmm.notifier, mm);
  if (ret === 0) {
    // Ownership of the svmm passes to the notifier.
    cli.svm.svmm = svmm;
    cli.svm.cli = cli;
  } else {
    kfree(k, svmm, "nouveau_svmm_init: kfree(svmm)");
  }
  await mm.mmapSem.upWrite();
  await cli.mutex.unlock();
  return ret;
}

/** The footprint object of the svm->inst list (its walks and list_add/list_del). */
const SVM_INST = "svm->inst";

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_join() @5.5 — a channel starts using the svmm
export async function nouveauSvmmJoin(svm: NouveauSvm, svmm: NouveauSvmm, inst: number): Promise<number> {
  svm.kernel.gfpKernelAlloc(); // kmalloc(sizeof(*ivmm), GFP_KERNEL), no lock held
  const ivmm = new NouveauIvmm(svmm, inst);
  await svm.mutex.lock();
  svm.kernel.ex.touch(SVM_INST);
  svm.inst.unshift(ivmm); // list_add(&ivmm->head, &svm->inst)
  await svm.mutex.unlock();
  return 0;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_part() @5.5 — the channel is gone
export async function nouveauSvmmPart(svm: NouveauSvm, inst: number): Promise<void> {
  await svm.mutex.lock();
  const ivmm = await nouveauIvmmFind(svm, inst);
  if (ivmm !== null) {
    // list_del(&ivmm->head); kfree(ivmm): one step, so a walker that has not yet loaded
    // ivmm's address never sees it, and one that has finds freed memory.
    svm.kernel.ex.touch(SVM_INST);
    svm.inst.splice(svm.inst.indexOf(ivmm), 1);
    kfree(svm.kernel, ivmm, "nouveau_svmm_part: kfree(ivmm)");
  }
  await svm.mutex.unlock();
}

/**
 * drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_ivmm_find() @5.5 — caller holds svm->mutex.
 * list_for_each_entry: each step loads the next entry's address (a scheduling point on the
 * list), then reads ivmm->inst through it (an access of the ivmm). svm->mutex is what keeps
 * nouveau_svmm_part's list_del + kfree out of that window.
 */
export async function nouveauIvmmFind(svm: NouveauSvm, inst: number): Promise<NouveauIvmm | null> {
  const k = svm.kernel;
  let i = 0;
  for (;;) {
    const ivmm = svm.inst[i]; // head->next, then ivmm->head.next
    await k.ex.point("nouveau_ivmm_find", SVM_INST, ivmm === undefined ? "end" : hex(ivmm.inst));
    if (ivmm === undefined) return null;
    touch(k, ivmm, "nouveau_ivmm_find: ivmm->inst");
    if (ivmm.inst === inst) return ivmm;
    i = svm.inst.indexOf(ivmm) + 1;
  }
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_fini() @5.5
export async function nouveauSvmmFini(cli: NouveauCli): Promise<void> {
  const svmm = cli.svm.svmm;
  if (svmm === null) return;
  cli.kernel.ex.trace("call", "nouveau_svmm_fini", svmm.name);
  await svmm.mutex.lock();
  svmm.vmm = null; // callbacks still in flight (SRCU) skip the hardware from here on
  await svmm.mutex.unlock();
  await mmuNotifierPut(svmm.notifier); // the kfree comes from free_notifier, after SRCU
  cli.svm.svmm = null;
}
