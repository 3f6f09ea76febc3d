/**
 * The interval tree behind `mmn_mm->itree`: an `rb_root_cached` of `struct interval_tree_node`
 * in the kernel, `@flatten-js/interval-tree` 2.0.3 behind this wrapper in the model.
 *
 * Ranges. Callers speak half-open [start, end), like `struct mmu_notifier_range`; the tree
 * stores the closed interval [start, last = end - 1], like `interval_tree_node.last` (the
 * kernel's "last" is inclusive so that a range may end at ULONG_MAX). Addresses are plain
 * `number`s: the model's address space is [0, ULONG_MAX) with `ULONG_MAX` below, so the
 * kernel's last address ULONG_MAX itself is not representable and the whole-address-space
 * range (release, `mn_itree_release`) is [0, ULONG_MAX). A caller modelling the -EOVERFLOW
 * check of `__mmu_interval_notifier_insert` tests `length === 0 || start + length > ULONG_MAX`
 * before it touches the tree; the tree itself throws on such ranges, because reaching it
 * with one is a bug in the caller, not a kernel error.
 *
 * Order. The kernel orders nodes by `start` only and sends equal starts to the right, so an
 * in-order walk is "ascending start, then insertion order". The wrapper reproduces exactly
 * that: every key carries an insertion ticket and compares by (start, ticket), so each item
 * has its own tree node and the library's in-order search yields the kernel's order. (With the
 * library's default keys the order would be (start, last), then insertion order within a
 * bucket of equal keys.) Re-inserting a removed item gives it a new ticket, as re-linking a
 * node in the kernel puts it right of the equal starts already there.
 *
 * Identity. Items are kept by identity (a `Map`): two notifiers with the same range are two
 * entries, and `remove(item)` removes that one.
 *
 * What the library does, checked against 2.0.3 (test/interval-tree.test.ts pins it down):
 * - `iterate(interval)` does not filter: it starts at the first key not entirely before
 *   `interval` and then yields every later item to the end of the tree, overlapping or not.
 *   Only `search(interval)` filters (a pruned in-order walk over the augmented max).
 * - Equal keys share one node with a bucket of values. `size` sums the buckets, so it does
 *   count duplicates (even the same value inserted twice), but it walks the whole tree on
 *   every read, `remove(key)` without a value drops the whole bucket, and `remove(key, value)`
 *   matches a value by its own `equal_to()` method when it has one rather than by identity.
 *   The wrapper never creates buckets (unique tickets), stores its own entry records as
 *   values, and keeps its own O(1) `size`.
 * - Tuple keys are silently reordered when low > high, and NaN makes a keyless node that
 *   fails later with "Node key is undefined"; the wrapper validates ranges itself.
 * - Deletion copies the successor's key and values into the deleted node (CLRS), so a `Node`
 *   returned by `insert()` does not stay attached to its item; nodes are found again by key.
 *
 * Walks. In the kernel only the first overlapping node is found under `mmn_mm->lock`;
 * `mn_itree_inv_next` walks on without it, which is safe because the tree cannot change
 * while the mm seq is odd. The iterators here check that rule: an iterator throws if the tree
 * was changed after it was created, instead of silently walking a stale snapshot. To change
 * the tree while going through it, copy first (`[...tree.items()]`).
 */
import FlattenIntervalTree, { IntervalBase, Node } from "@flatten-js/interval-tree";

/** include/linux/kernel.h: ULONG_MAX @5.5 — the model's end of the address space. */
export const ULONG_MAX: number = Number.MAX_SAFE_INTEGER;

/**
 * The one key type the library sees: the closed interval [low = start, high = last], ordered
 * by (start, insertion ticket) and equal only to itself (same start, same ticket). Searches
 * use it too, with a ticket no stored key has.
 */
class ItreeKey extends IntervalBase {
  declare low: number;
  declare high: number;
  readonly ticket: number;

  constructor(start: number, last: number, ticket: number) {
    super(start, last);
    this.ticket = ticket;
  }

  override clone(): ItreeKey {
    return new ItreeKey(this.low, this.high, this.ticket);
  }

  override less_than(other: IntervalBase): boolean {
    const o = other as ItreeKey;
    return this.low < o.low || (this.low === o.low && this.ticket < o.ticket);
  }

  override equal_to(other: IntervalBase): boolean {
    return this.low === other.low && this.ticket === (other as ItreeKey).ticket;
  }
}

const SEARCH_TICKET = -1;

interface Entry<T> {
  readonly item: T;
  readonly key: ItreeKey;
}

function checkRange(what: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new Error(`${what}: start ${start} is not a non-negative safe integer`);
  }
  if (!Number.isSafeInteger(end) || end < 0) {
    throw new Error(`${what}: end ${end} is not a non-negative safe integer (at most ULONG_MAX)`);
  }
  if (start >= end) {
    throw new Error(`${what}: empty or inverted range [${start}, ${end}) (end is exclusive)`);
  }
}

/** include/linux/interval_tree.h: struct rb_root_cached of struct interval_tree_node @5.5 */
export class IntervalTree<T> {
  readonly #tree = new FlattenIntervalTree<Entry<T>>();
  readonly #entries = new Map<T, Entry<T>>();
  #nextTicket = 0;
  /** Bumped by every change; iterators compare it to detect a change under their feet. */
  #generation = 0;

  /** No kernel counterpart (rb_root_cached keeps no count): model bookkeeping, O(1). */
  get size(): number {
    return this.#entries.size;
  }

  /** include/linux/rbtree.h: !RB_EMPTY_NODE(&node->rb) @5.5 — is the item linked in the tree. */
  has(item: T): boolean {
    return this.#entries.has(item);
  }

  /** lib/interval_tree.c: interval_tree_insert() @5.5 — stores [start, end - 1]. */
  insert(item: T, start: number, end: number): void {
    checkRange("IntervalTree.insert", start, end);
    if (this.#entries.has(item)) {
      throw new Error(`IntervalTree.insert: item is already in the tree (range [${start}, ${end}))`);
    }
    const entry: Entry<T> = { item, key: new ItreeKey(start, end - 1, this.#nextTicket++) };
    this.#tree.insert(entry.key, entry);
    this.#entries.set(item, entry);
    this.#generation++;
  }

  /** lib/interval_tree.c: interval_tree_remove() @5.5 — by identity; false if absent. */
  remove(item: T): boolean {
    const entry = this.#entries.get(item);
    if (entry === undefined) return false;
    if (this.#tree.remove(entry.key, entry) === undefined) {
      throw new Error("IntervalTree.remove: entry missing from the library tree (wrapper bug)");
    }
    this.#entries.delete(item);
    this.#generation++;
    return true;
  }

  /**
   * lib/interval_tree.c: interval_tree_iter_first() @5.5 — the first item overlapping
   * [start, end), as mn_itree_inv_start_range() looks it up under the lock.
   */
  firstOverlapping(start: number, end: number): T | undefined {
    checkRange("IntervalTree.firstOverlapping", start, end);
    return this.#search(start, end - 1)[0]?.item;
  }

  /**
   * lib/interval_tree.c: interval_tree_iter_next() @5.5 — the item after `item` (in tree order)
   * overlapping [start, end), as mn_itree_inv_next() steps; `item` must be in the tree.
   */
  nextOverlapping(item: T, start: number, end: number): T | undefined {
    checkRange("IntervalTree.nextOverlapping", start, end);
    const entry = this.#entries.get(item);
    if (entry === undefined) throw new Error("IntervalTree.nextOverlapping: item is not in the tree");
    const last = end - 1;
    // Found again by key: deletions move keys between library nodes (see the header).
    let node = this.#tree.tree_search(this.#tree.root, new Node<Entry<T>>(entry.key));
    if (node === undefined) throw new Error("IntervalTree.nextOverlapping: entry missing (wrapper bug)");
    for (;;) {
      const next = this.#tree.tree_successor(node);
      if (next === null || next === this.#tree.nil_node) return undefined;
      node = next;
      const key = node.item.key as ItreeKey;
      if (key.low > last) return undefined;
      if (key.high >= start) return node.item.values[0]?.item;
    }
  }

  /**
   * lib/interval_tree.c: interval_tree_iter_first()/interval_tree_iter_next() loop @5.5 —
   * every item overlapping [start, end), ascending start then insertion order.
   */
  iterOverlapping(start: number, end: number): IterableIterator<T> {
    checkRange("IntervalTree.iterOverlapping", start, end);
    return this.#walk("iterOverlapping", this.#search(start, end - 1), this.#generation);
  }

  /** include/linux/rbtree.h: rb_first_cached()/rb_next() in-order walk @5.5 — every item. */
  items(): IterableIterator<T> {
    return this.#walk("items", this.#inOrder(), this.#generation);
  }

  /**
   * Every item in order, as an array of its own that no later change touches (a change makes
   * the next call build a new one): for the oracles, which look at the whole tree at every
   * step and need no walk that checks for changes.
   */
  inOrderItems(): readonly T[] {
    this.#inOrder();
    return this.#inOrderCache!.items;
  }

  /** The library tree's in-order values, built once per generation (the oracles walk every step). */
  #inOrderCache: { generation: number; entries: readonly Entry<T>[]; items: readonly T[] } | null = null;
  #inOrder(): readonly Entry<T>[] {
    const c = this.#inOrderCache;
    if (c !== null && c.generation === this.#generation) return c.entries;
    const entries = this.#tree.values;
    this.#inOrderCache = { generation: this.#generation, entries, items: entries.map((e) => e.item) };
    return entries;
  }

  #search(start: number, last: number): Entry<T>[] {
    // search(), not iterate(): iterate() does not stop at the end of the range.
    return this.#tree.search(new ItreeKey(start, last, SEARCH_TICKET));
  }

  // `generation` is read by the caller: a generator body only starts at the first next().
  *#walk(what: string, entries: readonly Entry<T>[], generation: number): IterableIterator<T> {
    for (const entry of entries) {
      this.#checkUnchanged(what, generation);
      yield entry.item;
    }
    this.#checkUnchanged(what, generation);
  }

  #checkUnchanged(what: string, generation: number): void {
    if (this.#generation !== generation) {
      throw new Error(
        `IntervalTree.${what}: the tree changed during the walk (in the kernel the tree may not ` +
          "change while an invalidation walks it: the mm seq is odd and changes are deferred)",
      );
    }
  }
}
