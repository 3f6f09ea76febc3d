/**
 * The harness of tools/testing/selftests/vm/hmm-tests.c (fee9f6d1b8df, 5.8) on the model:
 * the `hmm` and `hmm2` fixtures (one or two open /dev/hmm_dmirrorN files), struct
 * hmm_buffer, hmm_dmirror_cmd(), and the user-space calls the tests make (mmap, munmap,
 * mprotect, fork, plain loads and stores). Each test body runs as one simulated program
 * with the core invariants, the device oracles and the end-of-run checks installed.
 *
 * Differences from the C harness, kept small on purpose:
 *  - Buffers are a few pages (HMM_BUFFER_PAGES) instead of HMM_BUFFER_SIZE (1024 pages), so
 *    that exploring interleavings stays cheap; no test depends on the size.
 *  - A page holds one data word. Where the C test writes int j = j over the buffer, page i
 *    holds pageValue(i) = i + 1, so page 0 stays distinguishable from the zero page.
 *  - mmap takes a fixed address (MAP_FIXED_NOREPLACE) so that a test can map the same VA
 *    again after munmap, as the kernel usually does.
 */
import {
  cpuAccess,
  EINTR,
  installCoreInvariants,
  installDeviceOracles,
  installEndChecks,
  Kernel,
  type MmStruct,
  PAGE_SIZE,
} from "@mnlab/core";
import {
  type Execution,
  ExhaustiveStrategy,
  type ExploreOptions,
  type ExploreResult,
  explore,
  formatTrace,
  type Program,
} from "@mnlab/sim";
import { expect } from "vitest";
import {
  type Dmirror,
  type DmirrorOpenOptions,
  dmirrorFopsOpen,
  dmirrorFopsRelease,
  dmirrorFopsUnlockedIoctl,
  type HmmDmirrorCommand,
} from "../src/index.ts";

/** HMM_BUFFER_SIZE in pages, reduced from 1024 (see above). */
export const HMM_BUFFER_PAGES = 8;
/** NTIMES in hmm-tests.c. */
export const NTIMES = 10;
/** Where test buffers are mapped. */
export const BUFFER_BASE = 0x100000;

/** The data word of page i when the test fills the buffer with "i" (offset c, as in i + c). */
export function pageValue(i: number, c = 0): number {
  return i + c + 1;
}

export function pageAddr(buffer: HmmBuffer, i: number): number {
  return buffer.ptr + i * PAGE_SIZE;
}

/** struct hmm_buffer in hmm-tests.c */
export interface HmmBuffer {
  ptr: number;
  size: number;
  /** The device's view, as a user buffer: one word (or one SNAPSHOT byte) per page. */
  mirror: number[];
  cpages: number;
  faults: number;
}

export function hmmBuffer(ptr: number, npages: number): HmmBuffer {
  return { ptr, size: npages * PAGE_SIZE, mirror: new Array<number>(npages).fill(0), cpages: 0, faults: 0 };
}

export function npagesOf(buffer: HmmBuffer): number {
  return buffer.size / PAGE_SIZE;
}

/** What every test body gets: the machine and the test process's mm. */
export interface TestProcess {
  ex: Execution;
  k: Kernel;
  mm: MmStruct;
}

/** hmm_open(): open /dev/hmm_dmirrorN in the process owning mm. */
export async function hmmOpen(mm: MmStruct, name: string, opts: DmirrorOpenOptions = {}): Promise<Dmirror> {
  const r = await dmirrorFopsOpen(mm, name, opts);
  expect(r.ret, `open(${name})`).toBe(0);
  return r.dmirror!;
}

/** close(fd) */
export async function hmmClose(dmirror: Dmirror): Promise<void> {
  expect(await dmirrorFopsRelease(dmirror)).toBe(0);
}

/** hmm_dmirror_cmd(): the ioctl, retried on EINTR; 0 or -errno; cpages/faults on success. */
export async function hmmDmirrorCmd(
  dmirror: Dmirror,
  request: HmmDmirrorCommand,
  buffer: HmmBuffer,
  npages: number,
): Promise<number> {
  const cmd = { addr: buffer.ptr, ptr: buffer.mirror, npages, cpages: 0, faults: 0 };
  for (;;) {
    const ret = await dmirrorFopsUnlockedIoctl(dmirror, request, cmd);
    if (ret === 0) break;
    if (ret === EINTR) continue;
    return ret;
  }
  buffer.cpages = cmd.cpages;
  buffer.faults = cmd.faults;
  return 0;
}

/**
 * mmap(addr, npages pages, prot, MAP_ANONYMOUS | MAP_PRIVATE or MAP_SHARED |
 * MAP_FIXED_NOREPLACE): mm/util.c vm_mmap_pgoff() @5.5 — a new VMA under mmap_sem for
 * write. No PTE exists there yet, so there is nothing to invalidate.
 */
export async function mmapAnon(
  mm: MmStruct,
  addr: number,
  npages: number,
  prot: { read: boolean; write: boolean },
  shared = false,
): Promise<HmmBuffer> {
  const end = addr + npages * PAGE_SIZE;
  await mm.mmapSem.downWrite();
  if (mm.findVmaIntersection(addr, end) !== undefined) {
    await mm.mmapSem.upWrite();
    throw new Error(`mmap: [${addr.toString(16)}, ${end.toString(16)}) is already mapped`);
  }
  mm.addVma(addr, end, { read: prot.read, write: prot.write, shared });
  await mm.mmapSem.upWrite();
  return hmmBuffer(addr, npages);
}

export const PROT_NONE = { read: false, write: false };
export const PROT_READ = { read: true, write: false };
export const PROT_RW = { read: true, write: true };

/** A CPU load from user space: the word of the page at addr. */
export async function cpuRead(mm: MmStruct, addr: number): Promise<number> {
  const v = await cpuAccess(mm, addr, false);
  if (v === "sigsegv") throw new Error(`SIGSEGV reading 0x${addr.toString(16)} in ${mm.name}`);
  return v;
}

/** A CPU store from user space. */
export async function cpuWrite(mm: MmStruct, addr: number, value: number): Promise<void> {
  const v = await cpuAccess(mm, addr, true, value);
  if (v === "sigsegv") throw new Error(`SIGSEGV writing 0x${addr.toString(16)} in ${mm.name}`);
}

/** Fill pages [from, npages) with pageValue(i, c), as the tests' `ptr[i] = i + c` loops. */
export async function fillBuffer(mm: MmStruct, buffer: HmmBuffer, c = 0, from = 0): Promise<void> {
  for (let i = from; i < npagesOf(buffer); i++) await cpuWrite(mm, pageAddr(buffer, i), pageValue(i, c));
}

/** Read back every page of the buffer from the CPU side. */
export async function readBuffer(mm: MmStruct, buffer: HmmBuffer): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < npagesOf(buffer); i++) out.push(await cpuRead(mm, pageAddr(buffer, i)));
  return out;
}

/**
 * One test body as a program: a fresh machine with the core invariants (reference 6.1), the
 * device oracles (6.3) and the end-of-run checks (no WARN, no leaked page reference, every
 * notifier removed, no device mapping left in a closed dmirror).
 */
export function hmmProgram(body: (t: TestProcess) => Promise<void>): Program {
  return async (ex) => {
    const k = new Kernel(ex);
    installCoreInvariants(k);
    installDeviceOracles(k);
    installEndChecks(k, () => k.devices.filter((d) => d.closed));
    const mm = k.createMm("hmm-tests");
    await body({ ex, k, mm });
  };
}

/** Fail the vitest test with the runtime's report when an execution failed. */
export function expectNoFailure(r: ExploreResult): void {
  const f = r.failure;
  if (f === null) return;
  throw new Error(
    `${f.kind}: ${f.message}\nafter ${r.executions} executions (first failure at ${r.firstFailureAt})` +
      `\nreplay: ${r.replay}\n${formatTrace(f.trace ?? [])}`,
  );
}

/**
 * A deterministic test: one thread of control (children run while the parent waits), so
 * the bounded search with preemption bound 0 has exactly one schedule. Asserted: that one
 * execution ran, the space is exhausted, and no check or oracle fired.
 */
export async function runSingle(body: (t: TestProcess) => Promise<void>): Promise<ExploreResult> {
  const r = await explore(hmmProgram(body), { strategy: new ExhaustiveStrategy(0), executions: 2 });
  expectNoFailure(r);
  expect(r.executions).toBe(1);
  expect(r.exhausted).toBe(true);
  return r;
}

/** Explore a racing test body; every execution must pass. */
export async function runExplored(
  body: (t: TestProcess) => Promise<void>,
  opts: ExploreOptions,
): Promise<ExploreResult> {
  const r = await explore(hmmProgram(body), opts);
  expectNoFailure(r);
  return r;
}
