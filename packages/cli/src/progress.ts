/**
 * Progress on stderr while a run takes more than a second: scenario runs done, executions
 * explored and their rate, failures found so far. On a terminal one line is rewritten in
 * place every second; into a pipe or a CI log a line every ten seconds. stdout never sees it.
 */
import { int } from "@mnlab/report";

export class Progress {
  private readonly started = Date.now();
  private lastPrint = 0;
  private done = 0;
  private executionsDone = 0;
  private failuresDone = 0;
  private readonly inFlight = new Map<number, { executions: number; failures: number }>();
  private lastLine = "";
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly enabled = true,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  /** A run in progress reported its counts so far. */
  update(index: number, executions: number, failures: number): void {
    this.inFlight.set(index, { executions, failures });
    this.maybePrint();
  }

  /** A run finished. */
  finish(index: number, executions: number, failed: boolean): void {
    this.inFlight.delete(index);
    this.done++;
    this.executionsDone += executions;
    if (failed) this.failuresDone++;
    this.maybePrint();
  }

  private line(): string {
    let executions = this.executionsDone;
    let failures = this.failuresDone;
    for (const f of this.inFlight.values()) {
      executions += f.executions;
      if (f.failures > 0) failures++;
    }
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? Math.round(executions / secs) : 0;
    return (
      `${this.done}/${this.total} runs, ${int(executions)} executions (${int(rate)}/s), ` +
      `${failures} with a violation, ${Math.round(secs)} s`
    );
  }

  private maybePrint(): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < 1000) return;
    if (now - this.lastPrint < (this.tty ? 1000 : 10_000)) return;
    this.lastPrint = now;
    this.lastLine = this.line();
    this.out.write(this.tty ? `\r\x1b[K${this.lastLine}` : `${this.lastLine}\n`);
  }

  /** The closing line, when the run was long enough to have shown progress. */
  end(): void {
    if (!this.enabled || Date.now() - this.started < 1000) return;
    const line = this.line();
    if (this.tty) this.out.write(`\r\x1b[K${line}\n`);
    else if (line !== this.lastLine) this.out.write(`${line}\n`);
  }
}
