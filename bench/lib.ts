/**
 * Shared pieces of the benchmark programs. A program measures one implementation per
 * process (shared inline caches would favour whichever ran first) and prints one JSON
 * object on stdout; run.ts collects them into reports/data/bench.json.
 *
 * Model code needs a running simulated thread, so a benchmark hosts its mitata loop inside
 * one long-lived, single-thread Execution (no other thread, so no interleaving to explore;
 * foreign-await detection off because mitata awaits its own timers there; the oracles a
 * model registers off, because the figures are the modelled kernel path's, not the checks').
 */
import { Execution, Lockdep } from "@mnlab/sim";
import { measure } from "mitata";

export interface Stats {
  /** Nanoseconds per iteration. */
  p50: number;
  p75: number;
  p99: number;
  avg: number;
  min: number;
  max: number;
  samples: number;
}

export interface Args {
  impl: string;
  smoke: boolean;
  sizes: number[];
}

/** --impl NAME, --smoke, --sizes 1,10,100. A bad value is a one-line error and exit 2. */
export function parseArgs(argv: string[], impls: readonly string[], defaultSizes: number[]): Args {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const impl = get("--impl") ?? impls[0]!;
  if (!impls.includes(impl)) die(`--impl must be one of ${impls.join(", ")}, got "${impl}"`);
  const smoke = argv.includes("--smoke");
  const raw = get("--sizes");
  const sizes =
    raw === undefined ? (smoke ? defaultSizes.slice(0, 2) : defaultSizes) : raw.split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    die(`--sizes must be positive integers, got "${raw}"`);
  return { impl, smoke, sizes };
}

export function die(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** Run `main` as the only thread of an execution and return its result. */
export async function inSim<T>(main: (ex: Execution) => Promise<T>): Promise<T> {
  let result: T | undefined;
  const ex = new Execution({
    chooser: { pickThread: (e) => e[0]!, pickData: () => 0 },
    lockdep: new Lockdep(false),
    maxSteps: Number.MAX_SAFE_INTEGER,
    record: false,
    seed: 0,
    detectForeignAwait: false,
    checks: false,
  });
  const out = await ex.run(async (x) => {
    result = await main(x);
  });
  if (out.failure !== null)
    throw new Error(`benchmark program failed: ${out.failure.kind}: ${out.failure.message}`);
  return result as T;
}

const registered: { name: string; fn: () => Promise<unknown> }[] = [];

/** Register a benchmark (with mitata, unless this is a smoke run). */
export function benchmark(name: string, fn: () => Promise<unknown>): void {
  registered.push({ name, fn });
}

/**
 * Run the registered benchmarks and return each one's stats by name: with mitata's measure(),
 * serialising its stats ourselves (p50 ratios are computed from them; mitata's printed ratio
 * uses the mean) — or, for a smoke run, each function once.
 */
export async function collect(smoke: boolean): Promise<Record<string, Stats>> {
  const out: Record<string, Stats> = {};
  if (smoke) {
    for (const { name, fn } of registered.splice(0)) {
      const t0 = performance.now();
      await fn();
      const ns = (performance.now() - t0) * 1e6;
      out[name] = { p50: ns, p75: ns, p99: ns, avg: ns, min: ns, max: ns, samples: 1 };
    }
    return out;
  }
  // mitata's measure(): the same sampling as run(), without its printer and global registry.
  for (const { name, fn } of registered.splice(0)) {
    const st = await measure(fn);
    out[name] = {
      p50: st.p50,
      p75: st.p75,
      p99: st.p99,
      avg: st.avg,
      min: st.min,
      max: st.max,
      samples: st.samples.length,
    };
  }
  return out;
}

/**
 * Run the registered benchmarks in `rounds` interleaved rounds: each round measures every one
 * in turn (a short mitata measure each), so that a slower stretch of a shared machine falls on
 * all of them alike, and a ratio of two is taken per round (rounds[i][name] is that round's
 * p50). The stats returned per name are over the rounds' p50s. A smoke run measures once.
 */
export async function collectRounds(
  smoke: boolean,
  rounds: number,
): Promise<{ stats: Record<string, Stats>; rounds: Record<string, number>[] }> {
  if (smoke) {
    const stats = await collect(true);
    return { stats, rounds: [Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.p50]))] };
  }
  const list = registered.splice(0);
  const per: Record<string, number>[] = [];
  for (let r = 0; r < rounds; r++) {
    const round: Record<string, number> = {};
    for (const { name, fn } of list) {
      const st = await measure(fn, { min_cpu_time: 250 * 1e6, min_samples: 4 });
      round[name] = st.p50;
    }
    per.push(round);
  }
  const stats: Record<string, Stats> = {};
  for (const { name } of list) {
    const xs = per.map((r) => r[name]!).sort((a, b) => a - b);
    const q = (f: number): number => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))]!;
    stats[name] = {
      p50: median(xs),
      p75: q(0.75),
      p99: xs[xs.length - 1]!,
      avg: xs.reduce((a, b) => a + b, 0) / xs.length,
      min: xs[0]!,
      max: xs[xs.length - 1]!,
      samples: xs.length,
    };
  }
  return { stats, rounds: per };
}

/** The median of numbers (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function emit(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}
