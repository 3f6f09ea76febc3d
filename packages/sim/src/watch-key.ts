/**
 * A check's watch key (checks.ts, CheckOptions.watch) from the numbers the check reads. A watch
 * is taken at every point of an execution a reduction records, and most points change nothing
 * a check reads; a key concatenated afresh each time allocated a string there, and every
 * compare of it (visibility.ts, checks.ts) walked two equal strings. This one compares the
 * numbers pushed with the previous sample's, in place, and the key is a version: the same
 * string (one reference, compared in one instruction) for as long as the numbers repeat, the
 * next version when one moved.
 *
 * That is the contract a watch has: equal keys at two points of an execution only if nothing
 * it covers changed between them (a state that returns to an earlier value gets a new
 * version, which only makes a check run once more). The numbers pushed must encode the state
 * without ambiguity: push a list's length before its elements, and a marker where the shape of
 * what follows depends on a condition.
 */
export class NumericWatchKey {
  /** The last sample's numbers, overwritten in place from the first one that differs. */
  private readonly values: number[] = [];
  private length = 0;
  private at = 0;
  private changed = true;
  private version = 0;
  private key = "";

  /** Start a new sample. */
  begin(): void {
    this.at = 0;
  }

  push(n: number): void {
    const i = this.at++;
    if (!this.changed && i < this.length && this.values[i] === n) return;
    this.changed = true;
    this.values[i] = n;
  }

  /** The key of the sample since begin(): the previous key itself when its numbers are the same. */
  end(): string {
    if (!this.changed && this.at === this.length) return this.key;
    this.length = this.at;
    this.changed = false;
    this.key = `v${++this.version}`;
    return this.key;
  }
}
