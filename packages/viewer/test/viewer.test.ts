/**
 * The viewer in a real browser: Debian's Chromium (/usr/bin/chromium, or MNLAB_CHROMIUM;
 * `.ci/run` installs it when missing) driven by playwright-core, the page opened from disk (file://) as a reader
 * opens reports/viewer/index.html. The fixture is a real results document: `mnlab test --json`
 * of the CLI's reference package (packages/cli/test/fixtures/reference-package.ts), with the
 * 5.5 run of the same schedule that `mnlab report` computed for it.
 *
 * The race slice and the link fragment come from @mnlab/report, as `mnlab report` hands them
 * in. This package does not depend on @mnlab/report (see src/data.ts), so the test reaches
 * its source by path rather than by package name.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ResultRecord } from "@mnlab/core";
import type { TraceEvent } from "@mnlab/sim";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raceSlice, viewerFragment } from "../../report/src/index.ts";
import { type SameScheduleLike, stateAt, viewerData, viewerFiles } from "../src/index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(join(here, "fixtures", "reference-results.json"), "utf8")) as {
  results: ResultRecord[];
  sameSchedule: SameScheduleLike[];
};
const deps = { raceSlice, viewerFragment };
const record = fixture.results.find((r) => r.variant === "legacy" && r.verdict === "stale-access")!;
const trace = record.trace as TraceEvent[];
const id = viewerFragment({ ...record, kind: "stale-access" });
const LOCK_OPS = /^(spin_lock|spin_trylock|mutex_lock|mutex_trylock|down_read|down_write)/;
/** The locks the trace shows being taken: what the panel can know of `holds`. */
const tracedLocks = new Set(
  trace.filter((e) => e.kind === "op" && LOCK_OPS.test(e.op)).map((e) => e.object!),
);

describe("viewer data", () => {
  it("is the same bytes every time, and stores each trace once", () => {
    const a = viewerFiles(fixture, deps);
    const b = viewerFiles(fixture, deps);
    expect([...a.keys()]).toEqual(["viewer/data.js", "viewer/index.html"]);
    expect(a).toEqual(b);
    const d = viewerData(fixture, deps);
    expect(new Set(d.traces.map((t) => JSON.stringify(t))).size).toBe(d.traces.length);
    expect(d.runs.map((r) => r.id)).toContain(id);
    expect(a.get("viewer/index.html")).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/); // no timestamp
  });

  it("derives the state at the violation that the runtime recorded for each thread", () => {
    const s = stateAt(trace, trace.length - 1);
    for (const t of record.threads!) {
      const mine = s.threads.find((x) => x.id === t.id)!;
      expect(mine.holds).toEqual(t.holds.filter((l) => tracedLocks.has(l)));
      expect(mine.status === "blocked").toBe(t.state === "blocked");
      if (t.blockedOn !== undefined) expect(mine.blockedOn).toBe(t.blockedOn);
    }
    // The message names the device read of a page the device still maps: the panel shows it.
    const [, addr, pfn] = /read (0x[0-9a-f]+) -> pfn (0x[0-9a-f]+)/.exec(record.message!)!;
    expect(s.devices.flatMap((d) => d.pages)).toContainEqual(expect.objectContaining({ addr, pfn }));
    expect(s.ptes.find((p) => p.addr === addr)?.state).toMatch(/^cleared and flushed \(migration entry\)/);
  });
});

describe("viewer in Chromium", () => {
  const out = join(here, "output", "viewer-test");
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const errors: string[] = [];

  beforeAll(async () => {
    rmSync(out, { recursive: true, force: true });
    for (const [path, text] of viewerFiles(fixture, deps)) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      writeFileSync(join(out, path), text);
    }
    profile = mkdtempSync(join(tmpdir(), "mnlab-viewer-chromium-"));
    // A fresh profile (playwright passes it as --user-data-dir), removed afterwards.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.MNLAB_CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1500, height: 1000 },
    });
    page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${pathToFileURL(join(out, "viewer", "index.html")).href}#${id}`);
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  const position = async () => (await page.locator("#position").textContent())!;
  const currentIndex = async () =>
    Number(await page.locator("tr.current").first().getAttribute("data-index"));

  it("opens the counterexample the fragment names, from disk, and steps through it", async () => {
    expect(await page.locator("#run").inputValue()).toBe(id);
    const run = viewerData(fixture, deps).runs.find((r) => r.id === id)!;
    await page.locator("#pair").uncheck(); // one pane first
    const n = run.slice.length;
    expect(await position()).toBe(`1 / ${n}`);
    for (let k = 0; k < n; k++) {
      expect(await currentIndex()).toBe(run.slice[k]);
      if (k < n - 1) await page.keyboard.press("ArrowDown");
    }
    expect(await position()).toBe(`${n} / ${n}`);
    await expect.poll(() => page.locator("tr.current").getAttribute("class")).toContain("fail");
    await page.locator("#prev").click();
    expect(await currentIndex()).toBe(run.slice[n - 2]);
    await page.locator("#next").click();
    expect(await page.locator("[data-replay]").first().textContent()).toBe(
      `npm run mnlab -- replay ${record.replay}`,
    );
  });

  it("shows, at the violation, the locks and blocked threads the runtime recorded", async () => {
    for (const t of record.threads!) {
      const li = page.locator(`aside.state li[data-thread="${t.name}"]`);
      const holds = (await li.getAttribute("data-holds"))!;
      expect(holds === "" ? [] : holds.split("\n")).toEqual(t.holds.filter((l) => tracedLocks.has(l)));
      expect((await li.getAttribute("data-status")) === "blocked").toBe(t.state === "blocked");
    }
    const [, addr, pfn] = /read (0x[0-9a-f]+) -> pfn (0x[0-9a-f]+)/.exec(record.message!)!;
    expect(await page.locator("aside.state li[data-device]").first().getAttribute("data-pages")).toContain(
      `${addr}->${pfn}`,
    );
    // The mm's seq is odd: the invalidation that raced the device is still open.
    const seq = page.locator(`aside.state li[data-seq$="mmu_notifier_mm->invalidate_seq"]`);
    expect(Number(await seq.getAttribute("data-value")) % 2).toBe(1);
  });

  it("highlights every step that touches a clicked object", async () => {
    await page.locator('input[name="filter"][value="all"]').check();
    const lock = "ref.buf0->lock";
    await page.locator(`tr .obj[data-obj="${lock}"]`).first().click();
    const touching = trace.flatMap((e, i) => (e.object === lock ? [String(i)] : []));
    const lit = await page
      .locator("tr.hl")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-index")));
    expect(lit).toEqual(touching);
    expect(await page.locator("#highlighted").textContent()).toContain(`(${touching.length} steps)`);
    await page.screenshot({ path: join(out, "whole-trace-highlight.png") });
  });

  it("steps the 5.4 counterexample and the 5.5 run of its schedule together", async () => {
    await page.locator("#pair").check();
    await page.locator('input[name="filter"][value="slice"]').check();
    expect(await page.locator(".pane").count()).toBe(2);
    const stepOf = async (k: number) =>
      Number(await page.locator(`.pane[data-pane="${k}"] tr.current`).getAttribute("data-step"));
    let last = -1;
    for (let k = 0; k < 12; k++) {
      await page.keyboard.press("ArrowDown");
      const steps = [];
      for (const p of [0, 1])
        if ((await page.locator(`.pane[data-pane="${p}"] tr.current`).count()) > 0)
          steps.push(await stepOf(p));
      // Neither pane runs ahead of the schedule position of the other.
      const now = Math.max(...steps);
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
    expect(await page.locator("[data-replay]").count()).toBe(2);
    await page.screenshot({ path: join(out, "old-next-to-new.png") });
    expect(errors).toEqual([]);
  });
});
