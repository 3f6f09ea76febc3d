/**
 * The visibility condition of the partial-order reduction (footprint.ts): while footprints
 * are recorded, each watched check's watch is sampled wherever checks run, and a step during
 * which a check's sample changed touches that check's object, so the reduction orders it
 * against every other step that changed what the check reads.
 */
import type { InvariantChecks } from "./checks.ts";
import { checkObject, type FootprintRecorder } from "./footprint.ts";
import type { SimThread } from "./thread.ts";

export class CheckVisibility {
  /** Each check's watch key at the last sample (InvariantChecks.run skips a check whose key a passing run saw). */
  readonly watched: (string | undefined)[] = [];

  constructor(
    private readonly checks: InvariantChecks,
    private readonly footprints: FootprintRecorder,
  ) {}

  /** Checks are about to run at a point of `t`'s step: sample every watch. */
  sample(t: SimThread): void {
    const c = this.checks;
    // A check with no watch makes every step ANY_OBJECT already (scheduler.ts).
    if (!c.any || c.opaque) return;
    const w = this.watched;
    for (let i = 0; i < c.count; i++) {
      const key = c.watchKey(i);
      if (key !== w[i]) {
        w[i] = key;
        this.footprints.touch(t, checkObject(i));
      }
    }
  }
}
