/**
 * Channels other than the one a device context opens with: DRM_NOUVEAU_CHANNEL_ALLOC and
 * DRM_NOUVEAU_CHANNEL_FREE of the same client, reduced to what they do to SVM
 * (drivers/gpu/drm/nouveau/nouveau_abi16.c @5.4/@5.5: nouveau_abi16_ioctl_channel_alloc() ends
 * in nouveau_svmm_join(cli->svm.svmm, inst); nouveau_abi16_chan_fini() idles the channel, then
 * nouveau_svmm_part(svmm, inst)). A channel that parts may still have faults in the fault
 * buffer, which the fault worker handles meanwhile.
 *
 * The harness hands scenarios its own wrapper of the context (contract methods only), so each
 * variant's open() registers its own join/part here, keyed by the execution's Kernel: a
 * mutant's copy of a variant registers the mutant's.
 */
import type { Kernel } from "@mnlab/core";

export interface NouveauChannels {
  /** A new channel on the client's SVM VMM: nouveau_svmm_join(svmm, inst). */
  join(inst: number): Promise<number>;
  /** The channel is freed: nouveau_svmm_part(svmm, inst). */
  part(inst: number): Promise<void>;
}

const opened = new WeakMap<Kernel, NouveauChannels>();

/** Called by a variant's open(): the channel operations of the context opened on `k`. */
export function setNouveauChannels(k: Kernel, channels: NouveauChannels): void {
  opened.set(k, channels);
}

/** The channel operations of the nouveau context opened in this execution, for scenario bodies. */
export function nouveauChannels(k: Kernel): NouveauChannels {
  const c = opened.get(k);
  if (c === undefined) throw new Error("nouveau: no nouveau context was opened in this execution");
  return c;
}
