/**
 * nouveau SVM as of Linux 5.4 (drivers/gpu/drm/nouveau/nouveau_svm.c on the hmm_mirror API):
 * the client's SVM state and its mirror of the process's address space (reference
 * gpu-drivers.md 2.1, 2.2).
 *
 * Lifetime, as 5.4 has it:
 *  - NOUVEAU_SVM_INIT takes an mm_users reference (get_task_mm) only long enough to register
 *    the mirror under mmap_sem (write), then drops it: from there on only hmm's mmgrab keeps
 *    the mm_struct, and nothing keeps the address space, alive for the fault worker (O2).
 *  - The svmm is kfree()d by nouveau_svmm_fini right after hmm_mirror_unregister, which
 *    waits for running sync callbacks (mirrors_sem write) but not for a fault worker that
 *    looked the svmm up earlier (O7). Its lifetime (core lifetime.ts, shared by the embedded
 *    mirror) models the kfree: any later use through svmmUse() is a use-after-free.
 *  - The mirror's release op is empty (O8): at exit_mmap nothing clears the GPU PTEs.
 *
 * Invalidation: sync_cpu_device_pagetables sees every invalidation of the mm (hmm has no
 * interval filter), refuses every non-blockable one (O5), and otherwise PFNCLRs [start, end)
 * around the unmanaged window under svmm->mutex.
 */
import {
  DeviceMmu,
  EAGAIN,
  EBUSY,
  type HasLifetime,
  HmmMirror,
  hex,
  hmmMirrorRegister,
  hmmMirrorUnregister,
  type Kernel,
  kfree,
  Lifetime,
  type MmStruct,
  type MmuNotifierRange,
  mmget,
  mmput,
  rangeBlockable,
  touch,
} from "@mnlab/core";
import { Mutex } from "@mnlab/sim";

/**
 * struct nouveau_ivmm @5.4: one channel's entry on svm->inst, kmalloc()ed by nouveau_svmm_join
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

/** struct nouveau_svm @5.4 (one per device), reduced to the instance list and its mutex. */
export class NouveauSvm {
  /** svm->mutex: protects `inst`. */
  readonly mutex: Mutex;
  /** svm->inst: the list of nouveau_ivmm (channel instance -> svmm), newest first (list_add). */
  readonly inst: NouveauIvmm[] = [];

  constructor(readonly kernel: Kernel) {
    this.mutex = new Mutex(kernel.ex, "svm->mutex");
  }
}

/** struct nouveau_cli @5.4, reduced: cli->mutex and cli->svm (a struct nouveau_vmm). */
export class NouveauCli {
  readonly mutex: Mutex;
  /** cli->svm: the SVM VMM; `vmm` is its nvif_vmm, whose page table is what the GPU walks. */
  readonly svm: { cli: NouveauCli | null; vmm: DeviceMmu | null; svmm: NouveauSvmm | null } = {
    cli: null,
    vmm: null,
    svmm: null,
  };

  constructor(
    readonly kernel: Kernel,
    readonly drm: { svm: NouveauSvm },
    readonly name: string,
  ) {
    this.mutex = new Mutex(kernel.ex, `${name}->mutex`, "cli->mutex");
  }
}

/** The hmm_mirror embedded in the svmm: container_of() gives the svmm back. */
class SvmmMirror extends HmmMirror {
  constructor(readonly svmm: NouveauSvmm) {
    super(`svmm(${svmm.name})->mirror`, {
      release: nouveauSvmmRelease,
      syncCpuDevicePagetables: nouveauSvmmSyncCpuDevicePagetables,
    });
  }
}

/** struct nouveau_svmm @5.4 */
export class NouveauSvmm implements HasLifetime {
  /** svmm->vmm = &cli->svm */
  readonly vmm: NouveauCli["svm"];
  readonly unmanaged: { start: number; limit: number };
  /** svmm->mutex: the driver lock of the sync callback and of PFNMAP. */
  readonly mutex: Mutex;
  /** svmm->mm: a raw pointer; hmm's mmgrab keeps the struct, nothing keeps its users. */
  mm: MmStruct | null = null;
  readonly mirror: HmmMirror;
  /** kfree()d by nouveau_svmm_fini (or by an init that failed); the mirror is embedded. */
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
    this.mirror = new SvmmMirror(this);
    this.mirror.lifetime = this.lifetime;
  }

  get freed(): boolean {
    return this.lifetime.isFreed;
  }
}

/** Any dereference of the svmm: after nouveau_svmm_fini's kfree it is a use-after-free. */
export function svmmUse(svmm: NouveauSvmm, what: string): NouveauSvmm {
  touch(svmm.kernel, svmm, what);
  return svmm;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_invalidate() @5.4 — NVIF_VMM_V0_PFNCLR
export async function nouveauSvmmInvalidate(svmm: NouveauSvmm, start: number, limit: number): Promise<void> {
  if (limit > start) {
    // client->super = true around the method: a driver-internal permission, not modelled.
    await svmm.vmm.vmm!.unmap(start, limit);
  }
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_sync_cpu_device_pagetables() @5.4
async function nouveauSvmmSyncCpuDevicePagetables(
  mirror: HmmMirror,
  update: MmuNotifierRange,
): Promise<number> {
  const svmm = (mirror as SvmmMirror).svmm;
  let start = update.start;
  const limit = update.end;
  // O5: every non-blockable invalidation is refused, so the OOM reaper never reaps an SVM mm.
  if (!rangeBlockable(update)) return EAGAIN;
  svmmUse(svmm, "sync_cpu_device_pagetables");
  svmm.kernel.ex.count("nouveau.sync_cpu_device_pagetables");
  await svmm.mutex.lock();
  if (limit > svmm.unmanaged.start && start < svmm.unmanaged.limit) {
    // As 5.4 has it (reference 2.2, corrected): the first clear runs from start to
    // svmm->unmanaged.LIMIT, not .start, so it also PFNCLRs the unmanaged window itself (and,
    // for a range ending inside the window, past the range's end up to unmanaged.limit).
    // What the over-reach reaches is nothing SVM mapped: PFNMAP is refused in the window (the
    // NVKM-managed area, fault.ts nvkmVmmPfnMap) and nvkm_vmm_pfn_unmap only removes PFN
    // mappings, not the BOs' (inference from nvkm: the reference does not cover it).
    if (start < svmm.unmanaged.start) await nouveauSvmmInvalidate(svmm, start, svmm.unmanaged.limit);
    start = svmm.unmanaged.limit;
  }
  await nouveauSvmmInvalidate(svmm, start, limit);
  await svmm.mutex.unlock();
  return 0;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_release() @5.4 — empty (O8)
async function nouveauSvmmRelease(_mirror: HmmMirror): Promise<void> {}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_init() @5.4 (NOUVEAU_SVM_INIT), in current's context
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
    // Unclear in the record: 5.4 unwinds through nouveau_svmm_fini(&svmm) on this path; with
    // a mirror never registered the model just frees it (not reachable from the contract).
    kfree(k, svmm, "nouveau_svmm_init: kfree(svmm)");
    await cli.mutex.unlock();
    return EBUSY;
  }
  // nvif_vmm_init(): a new VMM with replayable faults; its page table is the oracles' DeviceMmu.
  cli.svm.vmm = new DeviceMmu(k, `${cli.name}->svm.vmm`, mm);
  await mmget(mm); // svmm->mm = get_task_mm(current)
  svmm.mm = mm;
  await mm.mmapSem.downWrite();
  const ret = await hmmMirrorRegister(svmm.mirror, mm);
  if (ret === 0) {
    cli.svm.svmm = svmm;
    cli.svm.cli = cli;
  }
  await mm.mmapSem.upWrite();
  await mmput(mm); // at once: from here only hmm's mmgrab holds the mm
  if (ret !== 0) kfree(k, svmm, "nouveau_svmm_init: kfree(svmm)");
  await cli.mutex.unlock();
  return ret;
}

/** The footprint object of the svm->inst list (its walks and list_add/list_del). */
const SVM_INST = "svm->inst";

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_join() @5.4 — a channel starts using the svmm
export async function nouveauSvmmJoin(svm: NouveauSvm, svmm: NouveauSvmm, inst: number): Promise<number> {
  svm.kernel.gfpKernelAlloc(); // kmalloc(sizeof(*ivmm), GFP_KERNEL), no lock held
  const ivmm = new NouveauIvmm(svmm, inst);
  await svm.mutex.lock();
  svm.kernel.ex.touch(SVM_INST);
  svm.inst.unshift(ivmm); // list_add(&ivmm->head, &svm->inst)
  await svm.mutex.unlock();
  return 0;
}

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_part() @5.4 — the channel is gone
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
 * drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_ivmm_find() @5.4 — caller holds svm->mutex.
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

// drivers/gpu/drm/nouveau/nouveau_svm.c: nouveau_svmm_fini() @5.4
export async function nouveauSvmmFini(cli: NouveauCli): Promise<void> {
  const svmm = cli.svm.svmm;
  if (svmm === null) return;
  cli.kernel.ex.trace("call", "nouveau_svmm_fini", svmm.name);
  await hmmMirrorUnregister(svmm.mirror); // mirrors_sem (write): waits for running sync callbacks
  // kfree(*psvmm): no reference counts, no grace period
  kfree(cli.kernel, svmm, "nouveau_svmm_fini: kfree(*psvmm)");
  cli.svm.svmm = null;
}
