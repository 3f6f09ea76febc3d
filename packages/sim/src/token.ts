/**
 * Replay tokens: one string that names an execution completely.
 *
 *   v1.<seed>.<decisions>[~<seed>.<decisions>]...
 *   v1n.<seed>.<decisions>...          (the same, run with lockdep off)
 *
 * seed is base-36; decisions are base-36 values joined by "-", a run of one value written
 * `<value>_<count>`. Several executions joined by "~" run in order under one lockdep
 * instance: a lock-order inversion is only a failure given the earlier execution that
 * established the other order, so its token carries that execution too. The failure is
 * the last execution's. Only [0-9a-z._~-] appear: safe in a shell and in Markdown.
 */

export interface RecordedExecution {
  seed: number;
  decisions: number[];
}

export interface ReplayToken {
  /** Lock-order validation on (the default) or off. */
  lockdep: boolean;
  /** Executions to run in order; the failure is the last one's. */
  executions: RecordedExecution[];
}

export function encodeToken(token: ReplayToken): string {
  if (token.executions.length === 0) throw new Error("a replay token names at least one execution");
  return `${token.lockdep ? "v1" : "v1n"}.${token.executions.map(encodeOne).join("~")}`;
}

function encodeOne(e: RecordedExecution): string {
  const parts: string[] = [];
  for (let i = 0; i < e.decisions.length; ) {
    const v = e.decisions[i]!;
    let j = i + 1;
    while (j < e.decisions.length && e.decisions[j] === v) j++;
    const n = j - i;
    parts.push(n >= 3 ? `${v.toString(36)}_${n.toString(36)}` : Array(n).fill(v.toString(36)).join("-"));
    i = j;
  }
  return `${e.seed.toString(36)}.${parts.join("-")}`;
}

/** Parse a token; throws an Error with a one-line reason when it is malformed. */
export function decodeToken(token: string): ReplayToken {
  const t = token.trim();
  const head = /^(v1n?)\./.exec(t);
  if (head === null) throw new Error(`replay token must start with "v1.": ${abbreviate(t)}`);
  const executions = t
    .slice(head[0].length)
    .split("~")
    .map((part, k) => {
      const m = /^([0-9a-z]+)\.([0-9a-z_-]*)$/.exec(part);
      if (m === null) throw new Error(`replay token part ${k + 1} is malformed: ${abbreviate(part)}`);
      const seed = parseBase36(m[1]!, "seed");
      const decisions: number[] = [];
      for (const item of m[2]!.split("-")) {
        if (item === "") continue;
        const run = /^([0-9a-z]+)_([0-9a-z]+)$/.exec(item);
        if (run !== null) {
          const v = parseBase36(run[1]!, "decision");
          const n = parseBase36(run[2]!, "run length");
          for (let i = 0; i < n; i++) decisions.push(v);
        } else {
          decisions.push(parseBase36(item, "decision"));
        }
      }
      return { seed, decisions };
    });
  return { lockdep: head[1] === "v1", executions };
}

function parseBase36(s: string, what: string): number {
  if (!/^[0-9a-z]+$/.test(s)) throw new Error(`replay token: bad ${what} "${s}"`);
  const v = Number.parseInt(s, 36);
  if (!Number.isSafeInteger(v)) throw new Error(`replay token: ${what} "${s}" out of range`);
  return v;
}

function abbreviate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
