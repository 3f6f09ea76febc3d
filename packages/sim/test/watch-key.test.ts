// NumericWatchKey (watch-key.ts): a watch key that is one string reference while the numbers
// repeat, and a new one whenever any of them, or how many there are, changes.
import { describe, expect, it } from "vitest";
import { NumericWatchKey } from "../src/index.ts";

function sample(w: NumericWatchKey, ...ns: number[]): string {
  w.begin();
  for (const n of ns) w.push(n);
  return w.end();
}

describe("NumericWatchKey", () => {
  it("gives back the same key while the numbers repeat", () => {
    const w = new NumericWatchKey();
    const a = sample(w, 1, 2, 3);
    expect(sample(w, 1, 2, 3)).toBe(a);
    expect(sample(w, 1, 2, 3)).toBe(a);
  });

  it("moves when one number, or the count, changes", () => {
    const w = new NumericWatchKey();
    const keys = [
      sample(w, 1, 2, 3),
      sample(w, 1, 2, 4),
      sample(w, 1, 2),
      sample(w, 1, 2, 4, 0),
      sample(w),
      sample(w, 7),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("never gives an earlier key again, even when the numbers return to earlier ones", () => {
    // Equal keys at two points must mean nothing changed between them (checks.ts watch).
    const w = new NumericWatchKey();
    const first = sample(w, 5, 5);
    sample(w, 5, 6);
    const again = sample(w, 5, 5);
    expect(again).not.toBe(first);
    expect(sample(w, 5, 5)).toBe(again);
  });
});
