/**
 * The interval notifiers dmirror inserts, each with a way back to its dmirror: the
 * whole-VA notifier embedded in struct dmirror (reached with container_of) and the
 * temporary per-chunk notifier of SNAPSHOT (struct dmirror_interval). The model has no
 * container_of, so both carry the back-pointer.
 */
import { MmuIntervalNotifier } from "@mnlab/core";
import type { Dmirror } from "./dmirror.ts";

/** lib/test_hmm.c: struct dmirror_interval @5.8 (also the notifier embedded in struct dmirror). */
export class DmirrorInterval extends MmuIntervalNotifier {
  constructor(
    name: string,
    readonly dmirror: Dmirror,
  ) {
    super(name);
  }
}

/** lib/test_hmm.c: container_of(mni, struct dmirror, notifier) @5.8 (or struct dmirror_interval's) */
export function dmirrorOf(mni: MmuIntervalNotifier): Dmirror {
  if (!(mni instanceof DmirrorInterval)) {
    throw new Error(`dmirror: ${mni.name} is not a dmirror notifier (ops installed on a foreign notifier)`);
  }
  return mni.dmirror;
}
