/** Named counters of one execution (callbacks invoked, retries, ticks blocked...), reported with its outcome. */
export class Counters {
  private readonly map = new Map<string, number>();

  add(name: string, by: number): void {
    this.map.set(name, (this.map.get(name) ?? 0) + by);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.map);
  }
}
