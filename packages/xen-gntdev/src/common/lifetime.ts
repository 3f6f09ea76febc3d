/**
 * Object lifetimes for the driver's own structs (gntdev_grant_map, gntdev_priv), with the
 * names and meaning of core's lifetime API (issue 12): kfree() marks the struct freed, and
 * touch() at each dereference the C code makes reports a use-after-free naming the access
 * and the free. Kept local until core exports its Lifetime from a committed index.
 */
import type { Kernel } from "@mnlab/core";

export class Lifetime {
  freed: { how: string; step: number; thread: string } | null = null;
  constructor(readonly name: string) {}
  describeFree(): string {
    const f = this.freed;
    return f === null ? "live" : `freed by ${f.how} in ${f.thread} at step ${f.step}`;
  }
}

export interface HasLifetime {
  readonly lifetime: Lifetime;
}

/** kfree(): a second free is a double-free (KASAN), a use-after-free kind. */
export function kfree(k: Kernel, obj: HasLifetime, how = "kfree"): void {
  const lt = obj.lifetime;
  if (lt.freed !== null) {
    k.ex.fail("use-after-free", `BUG: KASAN: double-free in ${how}: ${lt.name} already ${lt.describeFree()}`);
  }
  lt.freed = { how, step: k.ex.step, thread: k.ex.self().name };
  k.ex.trace("note", how, lt.name, "freed");
}

/** A dereference the C code makes: on a freed struct it is a use-after-free. */
export function touch(k: Kernel, obj: HasLifetime, access: string): void {
  const lt = obj.lifetime;
  if (lt.freed !== null) {
    k.ex.fail("use-after-free", `BUG: KASAN: use-after-free in ${access}: ${lt.name} ${lt.describeFree()}`);
  }
}
