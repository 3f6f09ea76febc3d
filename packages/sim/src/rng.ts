/** Seeded randomness: pure-rand's xoroshiro128+, and a mixer that derives per-execution seeds. */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

export interface Rng {
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
}

export function makeRng(seed: number): Rng {
  const g = xoroshiro128plus(seed | 0);
  return { int: (lo, hi) => uniformInt(g, lo, hi) };
}

/** A 32-bit unsigned seed derived from a base seed and an index (murmur3 finaliser). */
export function deriveSeed(base: number, index: number): number {
  let h = (base ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
