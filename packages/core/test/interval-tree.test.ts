// The itree wrapper: the library behaviour it works around, kernel-order and boundary unit
// tests, and a model-based comparison with a brute-force list.
import FlattenIntervalTree from "@flatten-js/interval-tree";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IntervalTree, ULONG_MAX } from "../src/interval-tree.ts";

interface Sub {
  readonly name: string;
}
const sub = (name: string): Sub => ({ name });
const names = (items: Iterable<Sub>): string[] => [...items].map((s) => s.name);

describe("@flatten-js/interval-tree 2.0.3, as the wrapper's header describes it", () => {
  const a = sub("a");
  const b = sub("b");
  const c = sub("c");
  const d = sub("d");
  const lib = (): FlattenIntervalTree<Sub> => {
    const t = new FlattenIntervalTree<Sub>();
    t.insert([0, 5], d);
    t.insert([10, 19], a);
    t.insert([10, 19], b);
    t.insert([30, 39], c);
    return t;
  };

  it("iterate(interval) does not filter: it runs from the first candidate to the end of the tree", () => {
    expect(names(lib().iterate([12, 13]))).toEqual(["a", "b", "c"]);
    expect(names(lib().iterate([6, 7]))).toEqual(["a", "b", "c"]); // nothing overlaps [6, 7]
  });

  it("search(interval) filters, closed intervals, in key order", () => {
    expect(names(lib().search([12, 13]))).toEqual(["a", "b"]);
    expect(names(lib().search([6, 7]))).toEqual([]);
    expect(names(lib().search([19, 30]))).toEqual(["a", "b", "c"]);
  });

  it("equal keys share a bucket; size counts bucket values, even one value inserted twice", () => {
    const t = lib();
    t.insert([10, 19], a);
    expect(t.size).toBe(5);
    expect(t.keys).toEqual([
      [0, 5],
      [10, 19],
      [30, 39],
    ]);
    t.remove([10, 19], a);
    expect(t.size).toBe(4);
  });

  it("remove(key) without a value drops the whole bucket", () => {
    const t = lib();
    t.remove([10, 19]);
    expect(t.size).toBe(2);
    expect(names(t.values)).toEqual(["d", "c"]);
  });

  it("remove(key, value) matches a value with an equal_to() method by that method, not identity", () => {
    const greedy = { name: "greedy", equal_to: () => true };
    const t = new FlattenIntervalTree<Sub>();
    t.insert([1, 2], greedy);
    t.insert([1, 2], a);
    t.remove([1, 2], a);
    expect(names(t.values)).toEqual(["a"]);
  });

  it("an inverted tuple key is silently reordered", () => {
    const t = new FlattenIntervalTree<Sub>();
    t.insert([5, 1], a);
    expect(t.keys).toEqual([[1, 5]]);
  });
});

describe("IntervalTree", () => {
  it("keeps duplicate ranges as separate items, in insertion order", () => {
    const t = new IntervalTree<Sub>();
    const a = sub("a");
    const b = sub("b");
    t.insert(a, 0x1000, 0x2000);
    t.insert(b, 0x1000, 0x2000);
    expect(t.size).toBe(2);
    expect(names(t.iterOverlapping(0x1800, 0x1801))).toEqual(["a", "b"]);
    expect(names(t.items())).toEqual(["a", "b"]);
  });

  it("removes exactly the given item by identity", () => {
    const t = new IntervalTree<Sub>();
    const a = sub("same");
    const b = sub("same"); // equal by value, a different notifier
    t.insert(a, 0x1000, 0x2000);
    t.insert(b, 0x1000, 0x2000);
    expect(t.remove(b)).toBe(true);
    expect(t.has(a)).toBe(true);
    expect(t.has(b)).toBe(false);
    expect([...t.iterOverlapping(0, 0x3000)]).toEqual([a]);
    expect([...t.iterOverlapping(0, 0x3000)][0]).toBe(a);
    expect(t.remove(b)).toBe(false);
    expect(t.size).toBe(1);
    expect(t.remove(a)).toBe(true);
    expect(t.size).toBe(0);
    expect([...t.items()]).toEqual([]);
  });

  it("orders by ascending start, then insertion order, whatever the last address", () => {
    const t = new IntervalTree<Sub>();
    const long = sub("long");
    const short = sub("short");
    const low = sub("low");
    t.insert(long, 10, 30);
    t.insert(short, 10, 20); // the library's own keys would put [10, 19] before [10, 29]
    t.insert(low, 5, 11);
    expect(names(t.iterOverlapping(0, 100))).toEqual(["low", "long", "short"]);
    // Re-linking goes right of the equal starts already there, as in the kernel.
    t.remove(long);
    t.insert(long, 10, 30);
    expect(names(t.iterOverlapping(0, 100))).toEqual(["low", "short", "long"]);
    expect(names(t.items())).toEqual(["low", "short", "long"]);
  });

  it("treats end as exclusive: [0x1000, 0x2000) does not overlap [0x2000, 0x3000)", () => {
    const t = new IntervalTree<Sub>();
    const lo = sub("lo");
    const hi = sub("hi");
    t.insert(lo, 0x1000, 0x2000);
    t.insert(hi, 0x2000, 0x3000);
    expect(names(t.iterOverlapping(0x2000, 0x3000))).toEqual(["hi"]);
    expect(names(t.iterOverlapping(0x1000, 0x2000))).toEqual(["lo"]);
    expect(names(t.iterOverlapping(0x1fff, 0x2001))).toEqual(["lo", "hi"]);
    expect(names(t.iterOverlapping(0x3000, 0x4000))).toEqual([]);
    expect(names(t.iterOverlapping(0, 0x1000))).toEqual([]);
    expect(t.firstOverlapping(0x2000, 0x2001)).toBe(hi);
    expect(t.firstOverlapping(0x1fff, 0x2000)).toBe(lo);
    expect(t.firstOverlapping(0x3000, 0x3001)).toBeUndefined();
  });

  it("handles the whole address space [0, ULONG_MAX) and its last page", () => {
    expect(ULONG_MAX).toBe(Number.MAX_SAFE_INTEGER);
    const t = new IntervalTree<Sub>();
    const all = sub("all");
    const top = sub("top");
    const mid = sub("mid");
    t.insert(all, 0, ULONG_MAX);
    t.insert(top, ULONG_MAX - 0x1000, ULONG_MAX);
    t.insert(mid, 0x7000, 0x8000);
    expect(names(t.iterOverlapping(0, ULONG_MAX))).toEqual(["all", "mid", "top"]);
    expect(names(t.iterOverlapping(ULONG_MAX - 1, ULONG_MAX))).toEqual(["all", "top"]);
    expect(names(t.iterOverlapping(0, 1))).toEqual(["all"]);
    expect(names(t.iterOverlapping(ULONG_MAX - 0x1001, ULONG_MAX - 0x1000))).toEqual(["all"]);
  });

  it("steps with firstOverlapping/nextOverlapping like iter_first/iter_next", () => {
    const t = new IntervalTree<Sub>();
    const subs = [sub("a"), sub("b"), sub("c"), sub("d"), sub("e")];
    t.insert(subs[0]!, 0, 10);
    t.insert(subs[1]!, 2, 4); // ends before the query: skipped by next
    t.insert(subs[2]!, 5, 20);
    t.insert(subs[3]!, 5, 6);
    t.insert(subs[4]!, 15, 16); // starts after the query: ends the walk
    const walked: string[] = [];
    for (let s = t.firstOverlapping(5, 12); s !== undefined; s = t.nextOverlapping(s, 5, 12)) {
      walked.push(s.name);
    }
    expect(walked).toEqual(["a", "c", "d"]);
    expect(names(t.iterOverlapping(5, 12))).toEqual(walked);
    expect(t.nextOverlapping(subs[1]!, 5, 12)).toBe(subs[2]); // from a non-overlapping item
    expect(() => t.nextOverlapping(sub("x"), 5, 12)).toThrow(/not in the tree/);
  });

  it("throws when the tree changes under a walk, and not when the walk copied first or stopped", () => {
    const t = new IntervalTree<Sub>();
    const a = sub("a");
    const b = sub("b");
    t.insert(a, 0, 10);
    t.insert(b, 5, 15);
    expect(() => {
      for (const s of t.iterOverlapping(0, 20)) t.remove(s);
    }).toThrow(/changed during the walk/);
    expect(t.size).toBe(1);
    for (const s of [...t.items()]) t.remove(s);
    expect(t.size).toBe(0);
    t.insert(a, 0, 10);
    t.insert(b, 5, 15);
    for (const s of t.items()) {
      t.remove(s);
      break;
    }
    const it = t.iterOverlapping(0, 20);
    t.insert(a, 0, 10); // changed after creation, before the first next()
    expect(() => it.next()).toThrow(/changed during the walk/);
  });

  describe("API misuse throws", () => {
    const bad: Array<[string, number, number]> = [
      ["empty", 0x1000, 0x1000],
      ["inverted", 0x2000, 0x1000],
      ["negative start", -1, 10],
      ["negative end", 0, -1],
      ["fractional", 0.5, 10],
      ["NaN", Number.NaN, 10],
      ["infinite", 0, Number.POSITIVE_INFINITY],
      ["past ULONG_MAX", 0, ULONG_MAX + 1],
    ];
    it.each(bad)("%s range [%d, %d)", (_what, start, end) => {
      const t = new IntervalTree<Sub>();
      expect(() => t.insert(sub("x"), start, end)).toThrow(/IntervalTree.insert/);
      expect(t.size).toBe(0);
      expect(() => t.iterOverlapping(start, end)).toThrow(/IntervalTree.iterOverlapping/);
      expect(() => t.firstOverlapping(start, end)).toThrow(/IntervalTree.firstOverlapping/);
    });

    it("inserting an item already present, even with another range, leaves the tree as it was", () => {
      const t = new IntervalTree<Sub>();
      const a = sub("a");
      t.insert(a, 0x1000, 0x2000);
      expect(() => t.insert(a, 0x1000, 0x2000)).toThrow(/already in the tree/);
      expect(() => t.insert(a, 0x5000, 0x6000)).toThrow(/already in the tree/);
      expect(t.size).toBe(1);
      expect([...t.iterOverlapping(0x5000, 0x6000)]).toEqual([]);
      expect([...t.iterOverlapping(0x1000, 0x2000)]).toEqual([a]);
    });
  });
});

// Model-based: the wrapper against a list in insertion order, filtered and stably sorted by
// start — "ascending start, then insertion order" by construction.
describe("IntervalTree against a brute-force list", () => {
  interface Entry {
    readonly item: Sub;
    readonly start: number;
    readonly end: number;
  }
  type Model = { list: Entry[] };
  type Real = { tree: IntervalTree<Sub> };

  const POOL = Array.from({ length: 6 }, (_, i) => sub(`n${i}`));

  const expected = (m: Model, start: number, end: number): Sub[] =>
    m.list
      .filter((e) => e.start < end && start < e.end)
      .sort((x, y) => x.start - y.start)
      .map((e) => e.item);

  const assertSame = (m: Model, r: Real): void => {
    expect(r.tree.size).toBe(m.list.length);
    expect([...r.tree.items()]).toEqual(expected(m, 0, ULONG_MAX));
    for (const item of POOL) expect(r.tree.has(item)).toBe(m.list.some((e) => e.item === item));
  };

  class Insert implements fc.Command<Model, Real> {
    constructor(
      readonly item: Sub,
      readonly start: number,
      readonly end: number,
    ) {}
    check = () => true;
    run(m: Model, r: Real): void {
      if (m.list.some((e) => e.item === this.item)) {
        expect(() => r.tree.insert(this.item, this.start, this.end)).toThrow(/already in the tree/);
      } else {
        r.tree.insert(this.item, this.start, this.end);
        m.list.push({ item: this.item, start: this.start, end: this.end });
      }
      assertSame(m, r);
    }
    toString = () => `insert(${this.item.name}, ${this.start}, ${this.end})`;
  }

  class Remove implements fc.Command<Model, Real> {
    constructor(readonly item: Sub) {}
    check = () => true;
    run(m: Model, r: Real): void {
      const i = m.list.findIndex((e) => e.item === this.item);
      if (i >= 0) m.list.splice(i, 1);
      expect(r.tree.remove(this.item)).toBe(i >= 0);
      assertSame(m, r);
    }
    toString = () => `remove(${this.item.name})`;
  }

  class Query implements fc.Command<Model, Real> {
    constructor(
      readonly start: number,
      readonly end: number,
    ) {}
    check = () => true;
    run(m: Model, r: Real): void {
      const want = expected(m, this.start, this.end);
      const got = [...r.tree.iterOverlapping(this.start, this.end)];
      expect(got.length).toBe(want.length);
      for (const [i, item] of got.entries()) expect(item).toBe(want[i]);
      const stepped: Sub[] = [];
      for (
        let s = r.tree.firstOverlapping(this.start, this.end);
        s !== undefined;
        s = r.tree.nextOverlapping(s, this.start, this.end)
      ) {
        stepped.push(s);
      }
      expect(stepped).toEqual(want);
      expect(r.tree.firstOverlapping(this.start, this.end)).toBe(want[0]);
    }
    toString = () => `query(${this.start}, ${this.end})`;
  }

  // Small addresses so that ranges collide and repeat; a few fixed ranges at the extremes.
  const range = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(fc.nat(24), fc.integer({ min: 1, max: 8 })).map(([s, n]) => [s, s + n]),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        [0, ULONG_MAX],
        [ULONG_MAX - 1, ULONG_MAX],
        [ULONG_MAX - 8, ULONG_MAX],
        [0, 1],
      ),
    },
  );
  const item = fc.constantFrom(...POOL);
  const commands = fc.commands(
    [
      fc.tuple(item, range).map(([i, [s, e]]) => new Insert(i, s!, e!)),
      item.map((i) => new Remove(i)),
      range.map(([s, e]) => new Query(s!, e!)),
    ],
    { size: "+1" },
  );

  it("gives the same overlapping items, in the same order, and the same size", () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        fc.modelRun(() => ({ model: { list: [] }, real: { tree: new IntervalTree<Sub>() } }), cmds);
      }),
      { numRuns: 400 },
    );
  });
});
