// Faults lose nothing: a worker killed by SIGKILL (what the OOM killer does), killed twice on
// one item, a Ctrl-C during `report`, a run resumed from the journal, a report folder that
// cannot be written, a model that throws. Each runs the real command as a process and
// disturbs it from outside, as the fault would.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, mnlab } from "./support.ts";

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const SLOW = { MNLAB_DRIVERS: fixture("slow-package.ts") };
const isRoot = process.getuid?.() === 0;

interface Live {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Live {
  const child = spawn(process.execPath, ["--import", tsx, main, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const live: Live = { child, stdout: "", stderr: "", exited: Promise.resolve(null) };
  child.stdout!.on("data", (d) => {
    live.stdout += d;
  });
  child.stderr!.on("data", (d) => {
    live.stderr += d;
  });
  live.exited = new Promise((r) => child.on("close", (code) => r(code)));
  return live;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The worker processes of a command: its children that run worker.ts (from /proc). */
function workers(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (ppid === pid && cmd.includes("worker.ts")) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const journalled = (cache: string) =>
  existsSync(join(cache, "journal"))
    ? readdirSync(join(cache, "journal")).filter((f) => f.endsWith(".json"))
    : [];

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `mnlab-${name}-`));

// One undisturbed run to compare with.
let baseline = "";
beforeAll(() => {
  const r = mnlab(["test", "--json", "--jobs", "2"], { ...SLOW, MNLAB_CACHE: tmp("base") });
  expect(r.status, r.stderr).toBe(0);
  baseline = r.stdout;
  expect(JSON.parse(baseline).results).toHaveLength(6);
}, 300_000);

describe("a worker that dies", () => {
  it("is said in one line and its item rerun on a fresh worker; the output is the undisturbed run's", async () => {
    const cache = tmp("kill1");
    const run = start(["test", "--json", "--jobs", "2"], { ...SLOW, MNLAB_CACHE: cache });
    // Once one run has completed, both workers hold an item (four are still queued).
    await until("a completed run", () => journalled(cache).length >= 1);
    const [victim] = workers(run.child.pid!);
    expect(victim).toBeDefined();
    process.kill(victim!, "SIGKILL");
    expect(await run.exited, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(
        `^mnlab: worker \\d+ \\(pid ${victim}\\) was killed by SIGKILL while running slow/interval/slow-\\d: rerunning it on worker \\d+ \\(pid \\d+\\)$`,
        "m",
      ),
    );
    expect(run.stdout).toBe(baseline);
  }, 300_000);

  it("twice on one item ends the run with status 3 and prints every record that completed; --resume then finishes it byte for byte", async () => {
    const cache = tmp("kill2");
    const run = start(["test", "--json", "--jobs", "2"], { ...SLOW, MNLAB_CACHE: cache });
    await until("a completed run", () => journalled(cache).length >= 1);
    process.kill(workers(run.child.pid!)[0]!, "SIGKILL");
    let second = 0;
    await until("the rerun's worker", () => {
      const m = /rerunning it on worker \d+ \(pid (\d+)\)/.exec(run.stderr);
      second = m === null ? 0 : Number(m[1]);
      return second > 0;
    });
    process.kill(second, "SIGKILL");
    expect(await run.exited, run.stderr).toBe(3);
    const item = /while running (slow\/interval\/slow-\d): rerunning/.exec(run.stderr)![1]!;
    expect(run.stderr).toMatch(
      new RegExp(
        `^mnlab: ${item} killed its worker twice: giving up; \\d of 6 runs completed; \`--resume\` goes on from there$`,
        "m",
      ),
    );
    const doc = JSON.parse(run.stdout);
    const done = JSON.parse(baseline).results.filter(
      (r: { scenario: string }) => !doc.incomplete.missing.includes(`slow/interval/${r.scenario}`),
    );
    expect(doc.incomplete.missing).toContain(item);
    expect(doc.results.length).toBeGreaterThanOrEqual(1);
    expect(doc.results).toEqual(done);

    const resumed = mnlab(["test", "--json", "--jobs", "2", "--resume"], { ...SLOW, MNLAB_CACHE: cache });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`mnlab: resuming: ${doc.results.length} of 6 runs are in the journal`);
    expect(resumed.stdout).toBe(baseline);
  }, 300_000);
});

describe("Ctrl-C", () => {
  it("during report: exit 130, the old reports untouched, no worker left behind", async () => {
    const out = join(tmp("sigint"), "reports");
    mkdirSync(out);
    writeFileSync(join(out, "README.md"), "the previous report\n");
    const cache = tmp("sigint-cache");
    const run = start(["report", "--out", out, "--jobs", "2"], { ...SLOW, MNLAB_CACHE: cache });
    await until("a completed run", () => journalled(cache).length >= 1);
    const pids = workers(run.child.pid!);
    expect(pids.length).toBeGreaterThan(0);
    run.child.kill("SIGINT");
    expect(await run.exited, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/^mnlab: interrupted: no new runs/m);
    expect(run.stderr).toMatch(/^mnlab: interrupted; \d of 6 runs completed; .*is unchanged$/m);
    expect(readdirSync(out)).toEqual(["README.md"]);
    expect(readFileSync(join(out, "README.md"), "utf8")).toBe("the previous report\n");
    await until("the workers to be gone", () => !pids.some(alive), 10_000);
  }, 300_000);
});

describe("the report folder cannot be written", () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) mnlabUmount(m);
  });

  it("read-only: one line naming the path and the errno, exit 3, nothing changed", () => {
    const out = join(tmp("ro"), "reports");
    mkdirSync(out);
    writeFileSync(join(out, "README.md"), "the previous report\n");
    if (isRoot) {
      // root writes through permission bits: a read-only file system is what stops it.
      mount(out, "ro");
      mounts.push(out);
    } else chmodSync(out, 0o555);
    const r = mnlab(["report", "--out", out, "--jobs", "1"], {
      ...SLOW,
      MNLAB_CACHE: tmp("ro-cache"),
      MNLAB_SLOW_EXECUTIONS: "20",
    });
    expect(r.status, r.stderr).toBe(3);
    const lines = r.stderr
      .trimEnd()
      .split("\n")
      .filter((l) => l.startsWith("mnlab: "));
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^mnlab: cannot write ${out}: (EROFS \\(read-only file system\\)|EACCES \\(permission denied\\))$`,
        ),
      ),
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it.runIf(isRoot)(
    "full: ENOSPC named, and the previous files stay whole",
    () => {
      const out = join(tmp("full"), "reports");
      mkdirSync(out);
      mount(out, "rw,size=64k");
      mounts.push(out);
      writeFileSync(join(out, "README.md"), "the previous report\n");
      // Fill the file system to the last block.
      try {
        writeFileSync(join(out, "filler"), Buffer.alloc(1 << 20));
      } catch {
        // ENOSPC, as meant: what fitted stays.
      }
      const r = mnlab(["report", "--out", out, "--jobs", "1"], {
        ...SLOW,
        MNLAB_CACHE: tmp("full-cache"),
        MNLAB_SLOW_EXECUTIONS: "20",
      });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(
        new RegExp(`^mnlab: cannot write ${out}(/\\S+)?: ENOSPC \\(no space left on device\\)$`, "m"),
      );
      expect(readFileSync(join(out, "README.md"), "utf8")).toBe("the previous report\n");
      expect(readdirSync(out).sort()).toEqual(["README.md", "filler"]);
    },
    120_000,
  );
});

describe("a model that throws", () => {
  it("inside a worker is a result (exception, with its replay token), not a dead worker", () => {
    const r = mnlab([
      "test",
      "--variant",
      fixture("throws-in-model.ts"),
      "--scenario",
      "populate-then-access",
      "--jobs",
      "2",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(/worker \d+ \(pid/);
    const rec = JSON.parse(r.stdout).results.find(
      (x: { variant: string }) => x.variant === "throws-in-model",
    );
    expect(rec.verdict).toBe("exception");
    expect(rec.message).toContain("Cannot read properties of undefined (reading 'pfn')");
    expect(rec.replay).toMatch(/^reference:throws-in-model:populate-then-access:v1\./);
  }, 120_000);
});

function mount(dir: string, opts: string): void {
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", dir], { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`mount -t tmpfs -o ${opts} ${dir} failed (${r.status})`);
}

function mnlabUmount(dir: string): void {
  spawnSync("umount", [dir], { stdio: "ignore" });
}
