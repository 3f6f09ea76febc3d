/**
 * What the model's user space passes to the driver: the NOUVEAU_SVM_INIT arguments and the
 * channel that joins the SVM VMM. Shared by both variants, so they run the same workload.
 */

/**
 * struct drm_nouveau_svm_init: the unmanaged window is GPU VA the client manages itself
 * (ordinary GEM mappings). It is placed far above the scenarios' process VMA (BASE), so the
 * fault windows are never clipped by it, while whole-mm invalidations are split around it.
 */
export const SVM_INIT_ARGS = { unmanagedAddr: 0x4000_0000, unmanagedSize: 0x10_0000 } as const;

/** The instance pointer of the one channel created on the SVM VMM. */
export const CHANNEL_INST = 0x1000;

/** The instance pointer of a second channel a scenario allocates (and frees) on the same VMM. */
export const SECOND_CHANNEL_INST = 0x2000;
