/**
 * The 5.5 variant as a DriverModel (reference gpu-drivers.md 2.3):
 *   open        NOUVEAU_SVM_INIT (nouveau_svmm_init), then a channel joins (nouveau_svmm_join)
 *   register    an SVM window: SVM mirrors the whole address space, so there is no kernel
 *               object behind it — bookkeeping of the model only (the interval notifiers
 *               belong to single faults, not to windows)
 *   populate    the GPU faults on each page of [start, end) (READ, or WRITE); the fault
 *               buffer's worker, nouveau_svm_fault, resolves them; 0 when all were replayed
 *   access      a GPU access through the VMM; a miss is a replayable fault, returned as such
 *   unregister  forget the window: PFNCLR it under svmm->mutex (skipped once vmm is NULL)
 *   close       the channel parts, nouveau_svmm_fini, then the VMM goes (nvif_vmm_fini)
 */
import {
  type DeviceContext,
  type DriverModel,
  type Kernel,
  type MmStruct,
  PAGE_SIZE,
  ULONG_MAX,
} from "@mnlab/core";
import { setNouveauChannels } from "../channels.ts";
import { CHANNEL_INST, SVM_INIT_ARGS } from "../uapi.ts";
import { FAULT_ACCESS_READ, FAULT_ACCESS_WRITE, type NouveauSvmFault, nouveauSvmFault } from "./fault.ts";
import {
  NouveauCli,
  NouveauSvm,
  nouveauSvmmFini,
  nouveauSvmmInit,
  nouveauSvmmInvalidate,
  nouveauSvmmJoin,
  nouveauSvmmPart,
  svmmUse,
} from "./svmm.ts";

export const interval: DriverModel = {
  info: {
    driver: "nouveau",
    id: "interval",
    kernel: "5.5",
    files: ["drivers/gpu/drm/nouveau/nouveau_svm.c"],
    commits: ["c625c274ee00", "20fef4ef84bf"],
    source: new URL(".", import.meta.url).href,
    summary:
      "SVM on a plain mmu_notifier (PFNCLR) plus a temporary interval notifier per fault window (collision retry), mmget in the fault worker",
  },
  async open(k: Kernel, mm: MmStruct): Promise<DeviceContext | number> {
    const svm = new NouveauSvm(k);
    const cli = new NouveauCli(k, { svm }, "cli");
    const ret = await nouveauSvmmInit(cli, mm, SVM_INIT_ARGS);
    if (ret !== 0) return ret;
    const svmm = cli.svm.svmm!;
    const vmm = cli.svm.vmm!;
    await nouveauSvmmJoin(svm, svmm, CHANNEL_INST);
    setNouveauChannels(k, {
      join: (inst) => nouveauSvmmJoin(svm, svmm, inst),
      part: (inst) => nouveauSvmmPart(svm, inst),
    });
    let working = false;
    return {
      mmus: [vmm],
      register: async (start, len) => ({ start, end: start + len }),
      async populate(_buf, start, end, write) {
        // One fault buffer, one work item: the kernel never runs two workers at once.
        if (working)
          throw new Error("nouveau: populate() while the fault worker runs; fault from one thread");
        working = true;
        const faults: NouveauSvmFault[] = [];
        for (let a = start; a < end; a += PAGE_SIZE) {
          faults.push({
            inst: CHANNEL_INST,
            addr: a,
            access: write ? FAULT_ACCESS_WRITE : FAULT_ACCESS_READ,
            svmm: null,
          });
        }
        const ret = await nouveauSvmFault(svm, faults);
        working = false;
        return ret;
      },
      access: (_buf, addr, write) => vmm.access(addr, write),
      async unregister(buf) {
        await svmmUse(svmm, "unregister: svmm->mutex").mutex.lock();
        if (svmm.vmm !== null) await nouveauSvmmInvalidate(svmm, buf.start, buf.end);
        await svmm.mutex.unlock();
      },
      async close() {
        await nouveauSvmmPart(svm, CHANNEL_INST);
        await nouveauSvmmFini(cli);
        await vmm.unmap(0, ULONG_MAX); // nvif_vmm_fini(): the VMM and its page tables go
        cli.svm.vmm = null;
      },
    };
  },
};
