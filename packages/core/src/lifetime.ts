/**
 * Object lifetimes: every kernel or driver struct the C code frees — kfree() of a struct
 * embedding an mmu_interval_notifier, an hmm_range on a stack frame that returned, the
 * classic mmu_notifier freed by ->free_notifier after an SRCU grace period, the per-mm
 * mmu_notifier_mm freed with the mm_struct at the last mmdrop(), a driver's umem, node,
 * grant map, BO or svmm — carries a Lifetime. Freeing marks it freed (by what, in which
 * thread, at which step); every later access by the core or a driver is a `use-after-free`
 * that names the object, the access and the free, as KASAN would report it.
 *
 * Usage, for a driver's own struct:
 *   class Umem implements HasLifetime { readonly lifetime = new Lifetime("umem(mr1)"); ... }
 *   kfree(k, umem);                           // where the kernel driver frees it
 *   touch(k, umem, "mlx5_ib_invalidate_range"); // at each access the C code makes
 *   const svmm = deref(p, "nouveau_svmm_invalidate: svmm", k); // NULL -> oops, freed -> UAF
 * A struct embedded in another (the mmu_interval_notifier inside a driver struct) shares its
 * container's Lifetime: a driver class that extends MmuIntervalNotifier is its container, so
 * kfree() of it frees the notifier too; a driver that holds a notifier as a field passes its
 * own Lifetime to the notifier (`sub.lifetime = this.lifetime`).
 * A stack object (hmm_range in a fault function) is freed by frameReturned() when the
 * function that declared it returns, on every path.
 *
 * What the model's accesses mean: a check is made where the C code dereferences the object
 * (a tree or list walk reaching it, a callback on it, a field read or write). Oracles and
 * end-of-run checks read freed objects freely (peek-style): they are not kernel code.
 *
 * Heap objects are tracked, as kmemleak tracks every kmalloc(): a Lifetime is recorded on
 * the Kernel of the execution that created it (Kernel.allocations), and the end-of-run check
 * reports one never freed once everything is closed. A Lifetime made with `{ heap: false }`
 * is not tracked: a stack object (hmm_range on a fault function's frame), the default
 * lifetime of a struct meant to be embedded (mmu_interval_notifier, mmu_notifier,
 * hmm_mirror: the container's lifetime replaces it), or one the core frees with its owner
 * (mmu_notifier_mm, with the mm_struct, which the mm_count check covers). heapAllocated()
 * tracks one of those after all, where the C code kmalloc()s it (amdgpu's gtt->range).
 */
import type { Kernel } from "./kernel.ts";

/** How an object was freed: the free that a use-after-free report names. */
export interface FreeRecord {
  /** `kfree`, `return from nouveau_range_fault`, `free_notifier after SRCU`, ... */
  how: string;
  step: number;
  thread: string;
}

/**
 * Where new heap Lifetimes are recorded: the allocations of the Kernel constructed last.
 * Executions run one at a time (explore awaits each; worker processes take one item at a
 * time), and every execution builds its Kernel before any object, so this is that
 * execution's list.
 */
let allocations: Lifetime[] | null = null;

/** Record new heap Lifetimes on `list` (the Kernel constructor calls it). */
export function trackAllocations(list: Lifetime[]): void {
  allocations = list;
}

/** The lifetime of one allocated (or stack) object. */
export class Lifetime {
  /** Set once the object is freed. */
  freed: FreeRecord | null = null;
  /** Recorded on the execution's allocation list (kmemleak's object list). */
  tracked = false;

  /**
   * @param name how reports name the object, e.g. `struct ib_umem_odp umem(mr1)`
   * @param opts `heap: false` for an object kmemleak would not track (see the file comment)
   */
  constructor(
    readonly name: string,
    opts: { heap?: boolean } = {},
  ) {
    if (opts.heap !== false) heapAllocated(this);
  }

  get isFreed(): boolean {
    return this.freed !== null;
  }

  /** "freed by kfree in thread T at step N": for messages. */
  describeFree(): string {
    const f = this.freed;
    return f === null ? "live" : `freed by ${f.how} in ${f.thread} at step ${f.step}`;
  }
}

/** A modelled struct that has a lifetime (its own, or its container's). */
export interface HasLifetime {
  readonly lifetime: Lifetime;
}

function lifetimeOf(obj: HasLifetime | Lifetime): Lifetime {
  return obj instanceof Lifetime ? obj : obj.lifetime;
}

/**
 * Free an object: kfree(), a kref's release, the last reference dropped. A second free is
 * reported as KASAN reports it (double-free, a `use-after-free` kind). Not a scheduling
 * point: the free happens inside whatever step the caller is in.
 */
export function kfree(k: Kernel, obj: HasLifetime | Lifetime, how = "kfree"): void {
  const lt = lifetimeOf(obj);
  if (lt.freed !== null) {
    k.ex.fail(
      "use-after-free",
      `BUG: KASAN: double-free in ${how}: ${lt.name} already ${lt.describeFree()}`,
      { object: lt.name, access: how, freedBy: lt.freed },
    );
  }
  lt.freed = { how, step: k.ex.step, thread: k.ex.self().name };
  k.ex.trace("note", how, lt.name, "freed");
}

/**
 * The object is a heap allocation after all (kmalloc of a struct whose type the model keeps
 * on the stack by default, such as amdgpu's gtt->range): track it. Idempotent.
 */
export function heapAllocated(obj: HasLifetime | Lifetime): void {
  const lt = lifetimeOf(obj);
  if (lt.tracked || allocations === null) return;
  lt.tracked = true;
  allocations.push(lt);
}

/** A stack object's frame returned: the object is gone, as if freed by the return. */
export function frameReturned(k: Kernel, obj: HasLifetime | Lifetime, fn: string): void {
  kfree(k, obj, `return from ${fn}`);
}

/**
 * An access by modelled code (core or driver) to `obj`: a `use-after-free` failure naming
 * the object, the access and the free when it was freed; nothing otherwise.
 */
export function touch(k: Kernel, obj: HasLifetime | Lifetime, access: string): void {
  const lt = lifetimeOf(obj);
  if (lt.freed === null) return;
  k.ex.fail("use-after-free", `BUG: KASAN: use-after-free in ${access}: ${lt.name} ${lt.describeFree()}`, {
    object: lt.name,
    access,
    freedBy: lt.freed,
  });
}

/**
 * Dereference a pointer in modelled kernel code: NULL is an oops (`kernel-bug`, thrown as
 * NullDereference so it unwinds whatever called it), a freed object a `use-after-free`
 * (when `k` is given and the object has a lifetime). Returns the pointer, non-null.
 */
export function deref<T>(p: T | null | undefined, access: string, k?: Kernel): T {
  if (p === null || p === undefined) throw new NullDereference(access);
  if (k !== undefined && typeof p === "object" && "lifetime" in p) {
    const lt = (p as { lifetime: unknown }).lifetime;
    if (lt instanceof Lifetime) touch(k, lt, access);
  }
  return p;
}

/** A kernel NULL-pointer dereference: the runtime reports it as a `kernel-bug`. */
export class NullDereference extends Error {
  readonly failureKind = "kernel-bug";
  constructor(message: string) {
    super(`BUG: kernel NULL pointer dereference: ${message}`);
    this.name = "NullDereference";
  }
}
