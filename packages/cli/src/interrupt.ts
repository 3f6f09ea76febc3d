/**
 * Ctrl-C during a run. The first SIGINT stops handing out work: the runs in progress may
 * finish for a short grace, then they are abandoned; the command prints what is done and
 * exits 130. A second SIGINT kills every worker and exits 130 at once. Workers ignore SIGINT
 * themselves (a terminal sends it to the whole process group): the parent decides.
 */
import type { ChildProcess } from "node:child_process";
import { EXIT } from "./errors.ts";

/** How long the runs in progress may go on after the first Ctrl-C. */
export const GRACE_MS = 5_000;

export class Interrupt {
  stopping = false;
  /** Resolves GRACE_MS after the first SIGINT: the runs still going are abandoned then. */
  readonly abandoned: Promise<void>;
  private abandon!: () => void;
  private timer: NodeJS.Timeout | undefined;
  private readonly children = new Set<ChildProcess>();
  private readonly listeners: (() => void)[] = [];
  private readonly onSigint = () => this.signal();

  constructor() {
    this.abandoned = new Promise((r) => {
      this.abandon = r;
    });
  }

  /** Called on the first SIGINT (a pool stops feeding its workers). */
  onStop(f: () => void): void {
    this.listeners.push(f);
  }

  /** A worker that a second SIGINT must kill. */
  track(c: ChildProcess): void {
    this.children.add(c);
    c.once("exit", () => this.children.delete(c));
  }

  install(): void {
    process.on("SIGINT", this.onSigint);
  }

  uninstall(): void {
    process.off("SIGINT", this.onSigint);
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** Kill every worker still alive (SIGKILL: a worker owns nothing worth a clean exit). */
  killAll(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }

  private signal(): void {
    if (this.stopping) {
      process.stderr.write("\nmnlab: interrupted again: stopping now\n");
      this.killAll();
      process.exit(EXIT.interrupted);
    }
    this.stopping = true;
    process.stderr.write(
      `\nmnlab: interrupted: no new runs; the runs in progress get ${GRACE_MS / 1000} s to finish (Ctrl-C again to stop now)\n`,
    );
    for (const f of this.listeners) f();
    this.timer = setTimeout(() => this.abandon(), GRACE_MS);
  }
}
