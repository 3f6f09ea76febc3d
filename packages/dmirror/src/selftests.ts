/**
 * The hmm selftests that exercise the notifier with one device
 * (tools/testing/selftests/vm/hmm-tests.c @5.8, fee9f6d1b8df: open_close, anon_read,
 * anon_read_multiple, anon_read_prot, anon_write, anon_write_prot) as harness scenarios, so
 * that `mnlab test dmirror` runs them — with the core invariants, the device oracles and the
 * end-of-run checks installed — and the reports show them. The vitest suites in test/ run the
 * same bodies with their own harness; here an ASSERT that fails throws, and the run's verdict
 * is `exception` with the assertion in its message.
 *
 * Differences from the C tests, as in test/hmm-tests.ts: buffers are a few pages, a page holds
 * one data word (page i holds i + 1 where the C test writes i, so page 0 differs from the zero
 * page), and mmap takes a fixed address away from the harness's own VMA.
 */
import {
  cpuAccess,
  EFAULT,
  EINTR,
  EPERM,
  type Expectation,
  type MmStruct,
  mprotect,
  munmap,
  PAGE_SIZE,
  type Scenario,
  type ScenarioContext,
} from "@mnlab/core";
import { type Dmirror, dmirrorFopsOpen, dmirrorFopsRelease } from "./dmirror.ts";
import { dmirrorFopsUnlockedIoctl } from "./ioctl.ts";
import type { HmmDmirrorCommand } from "./uapi.ts";

/** HMM_BUFFER_SIZE in pages, reduced from 1024. */
const NPAGES = 6;
/** NTIMES in hmm-tests.c, reduced from 10 (each pass is the same single schedule). */
const NTIMES = 3;
/** Where the tests map their buffers: clear of the harness's VMA at BASE. */
const BUFFER_BASE = 0x800000;

const PROT_NONE = { read: false, write: false };
const PROT_READ = { read: true, write: false };
const PROT_RW = { read: true, write: true };

interface Buffer {
  ptr: number;
  size: number;
  mirror: number[];
  cpages: number;
  faults: number;
}

const value = (i: number, c = 0) => i + c + 1;
const values = (c = 0) => Array.from({ length: NPAGES }, (_, i) => value(i, c));
const addrOf = (b: Buffer, i: number) => b.ptr + i * PAGE_SIZE;

/** tools/testing/selftests/kselftest_harness.h: ASSERT_EQ() @5.8 — a failed assertion ends the test. */
function assertEq(what: string, actual: unknown, expected: unknown): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`hmm-tests: ASSERT_EQ(${what}) failed: ${a}, expected ${e}`);
}

// tools/testing/selftests/vm/hmm-tests.c: hmm_open() @5.8
async function hmmOpen(mm: MmStruct): Promise<Dmirror> {
  const r = await dmirrorFopsOpen(mm, "hmm_dmirror0");
  assertEq("open(/dev/hmm_dmirror0)", r.ret, 0);
  return r.dmirror!;
}

// mm/mmap.c: do_mmap() @5.5, as hmm-tests.c calls mmap(MAP_PRIVATE | MAP_ANONYMOUS): a new VMA, no PTE yet.
async function mmapAnon(
  mm: MmStruct,
  npages: number,
  prot: { read: boolean; write: boolean },
): Promise<Buffer> {
  const end = BUFFER_BASE + npages * PAGE_SIZE;
  await mm.mmapSem.downWrite();
  const busy = mm.findVmaIntersection(BUFFER_BASE, end) !== undefined;
  if (!busy) mm.addVma(BUFFER_BASE, end, { read: prot.read, write: prot.write, shared: false });
  await mm.mmapSem.upWrite();
  assertEq("mmap(MAP_FIXED_NOREPLACE) != MAP_FAILED", busy, false);
  return {
    ptr: BUFFER_BASE,
    size: npages * PAGE_SIZE,
    mirror: new Array(npages).fill(0),
    cpages: 0,
    faults: 0,
  };
}

/** tools/testing/selftests/vm/hmm-tests.c: hmm_dmirror_cmd() @5.8 — the ioctl, retried on EINTR. */
async function dmirrorCmd(
  d: Dmirror,
  request: HmmDmirrorCommand,
  b: Buffer,
  npages: number,
): Promise<number> {
  const cmd = { addr: b.ptr, ptr: b.mirror, npages, cpages: 0, faults: 0 };
  for (;;) {
    const ret = await dmirrorFopsUnlockedIoctl(d, request, cmd);
    if (ret === EINTR) continue;
    if (ret !== 0) return ret;
    b.cpages = cmd.cpages;
    b.faults = cmd.faults;
    return 0;
  }
}

// hmm-tests.c @5.8: a plain load or store of ptr[i] (a user-space access: the CPU fault path)
async function cpu(mm: MmStruct, addr: number, write: boolean, v?: number): Promise<number> {
  const r = await cpuAccess(mm, addr, write, v);
  if (r === "sigsegv") throw new Error(`hmm-tests: SIGSEGV at 0x${addr.toString(16)}`);
  return r;
}

// hmm-tests.c @5.8: the `for (i = 0; i < size / sizeof(*ptr); ++i) ptr[i] = i;` fill loops
async function fill(mm: MmStruct, b: Buffer, c = 0, from = 0): Promise<void> {
  for (let i = from; i < NPAGES; i++) await cpu(mm, addrOf(b, i), true, value(i, c));
}

// hmm-tests.c @5.8: the `ASSERT_EQ(ptr[i], i)` read-back loops
async function readBack(mm: MmStruct, b: Buffer): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < NPAGES; i++) out.push(await cpu(mm, addrOf(b, i), false));
  return out;
}

const TESTS: { name: string; description: string; body: (s: ScenarioContext) => Promise<void> }[] = [
  {
    name: "hmm.open_close",
    description: "Open /dev/hmm_dmirror0 (a notifier over the whole address space) and close it.",
    async body({ mm }) {
      const d = await hmmOpen(mm);
      assertEq("close(fd)", await dmirrorFopsRelease(d), 0);
    },
  },
  {
    name: "hmm.anon_read",
    description:
      "The device reads a private anonymous buffer, read-only, whose first two pages are none and the zero page; then munmap empties the device page table.",
    async body({ mm }) {
      const d = await hmmOpen(mm);
      const b = await mmapAnon(mm, NPAGES, PROT_RW);
      await fill(mm, b, 0, 2);
      assertEq("mprotect(PROT_READ)", await mprotect(mm, b.ptr, b.size, PROT_READ), 0);
      assertEq("ptr[1] (zero page)", await cpu(mm, addrOf(b, 1), false), 0);
      assertEq("HMM_DMIRROR_READ", await dmirrorCmd(d, "HMM_DMIRROR_READ", b, NPAGES), 0);
      assertEq("cpages", b.cpages, NPAGES);
      assertEq("faults", b.faults, 1);
      assertEq("mirror", b.mirror, [0, 0, ...values().slice(2)]);
      assertEq("munmap", await munmap(mm, b.ptr, b.size), 0);
      assertEq("device page table after munmap", d.pt.size, 0);
      await dmirrorFopsRelease(d);
    },
  },
  {
    name: "hmm.anon_read_multiple",
    description:
      "NTIMES passes of map, fill, device read, munmap at the same address: each pass needs a fresh fault.",
    async body({ mm }) {
      const d = await hmmOpen(mm);
      for (let c = 0; c < NTIMES; c++) {
        const b = await mmapAnon(mm, NPAGES, PROT_RW);
        await fill(mm, b, c);
        assertEq("HMM_DMIRROR_READ", await dmirrorCmd(d, "HMM_DMIRROR_READ", b, NPAGES), 0);
        assertEq("cpages", b.cpages, NPAGES);
        assertEq("faults", b.faults, 1);
        assertEq("mirror", b.mirror, values(c));
        assertEq("munmap", await munmap(mm, b.ptr, b.size), 0);
      }
      await dmirrorFopsRelease(d);
    },
  },
  {
    name: "hmm.anon_read_prot",
    description: "A device read of a PROT_NONE buffer fails with -EFAULT and maps nothing.",
    async body({ mm }) {
      const d = await hmmOpen(mm);
      const b = await mmapAnon(mm, NPAGES, PROT_RW);
      await fill(mm, b);
      for (let i = 0; i < NPAGES; i++) b.mirror[i] = -value(i);
      assertEq("mprotect(PROT_NONE)", await mprotect(mm, b.ptr, b.size, PROT_NONE), 0);
      assertEq("HMM_DMIRROR_READ", await dmirrorCmd(d, "HMM_DMIRROR_READ", b, NPAGES), EFAULT);
      assertEq("device page table", d.pt.size, 0);
      assertEq("mprotect(PROT_READ)", await mprotect(mm, b.ptr, b.size, PROT_READ), 0);
      assertEq("ptr[]", await readBack(mm, b), values());
      assertEq(
        "mirror untouched",
        b.mirror,
        values().map((v) => -v),
      );
      assertEq("munmap", await munmap(mm, b.ptr, b.size), 0);
      await dmirrorFopsRelease(d);
    },
  },
  {
    name: "hmm.anon_write",
    description: "The device writes a private anonymous buffer; the CPU reads the data back.",
    async body({ mm }) {
      const d = await hmmOpen(mm);
      const b = await mmapAnon(mm, NPAGES, PROT_RW);
      for (let i = 0; i < NPAGES; i++) b.mirror[i] = value(i);
      assertEq("HMM_DMIRROR_WRITE", await dmirrorCmd(d, "HMM_DMIRROR_WRITE", b, NPAGES), 0);
      assertEq("cpages", b.cpages, NPAGES);
      assertEq("faults", b.faults, 1);
      assertEq("ptr[]", await readBack(mm, b), values());
      assertEq("munmap", await munmap(mm, b.ptr, b.size), 0);
      await dmirrorFopsRelease(d);
    },
  },
  {
    name: "hmm.anon_write_prot",
    description:
      "A device write to a read-only buffer fails with -EPERM and writes nothing; after mprotect(PROT_RW) it succeeds and replaces the zero page.",
    async body({ mm }) {
      const d = await hmmOpen(mm);
      const b = await mmapAnon(mm, NPAGES, PROT_READ);
      assertEq("HMM_DMIRROR_READ (one page)", await dmirrorCmd(d, "HMM_DMIRROR_READ", b, 1), 0);
      assertEq("cpages", b.cpages, 1);
      assertEq("faults", b.faults, 1);
      for (let i = 0; i < NPAGES; i++) b.mirror[i] = value(i);
      assertEq("HMM_DMIRROR_WRITE to PROT_READ", await dmirrorCmd(d, "HMM_DMIRROR_WRITE", b, NPAGES), EPERM);
      assertEq("ptr[] still zero", await readBack(mm, b), new Array(NPAGES).fill(0));
      assertEq("mprotect(PROT_RW)", await mprotect(mm, b.ptr, b.size, PROT_RW), 0);
      assertEq("HMM_DMIRROR_WRITE", await dmirrorCmd(d, "HMM_DMIRROR_WRITE", b, NPAGES), 0);
      assertEq("cpages", b.cpages, NPAGES);
      assertEq("faults", b.faults, 1);
      assertEq("ptr[]", await readBack(mm, b), values());
      assertEq("munmap", await munmap(mm, b.ptr, b.size), 0);
      await dmirrorFopsRelease(d);
    },
  },
];

const PASS: Record<string, Expectation> = {
  interval: {
    verdict: "pass",
    ref: "fee9f6d1b8df",
    note: "The kernel's own selftest: every ASSERT holds on the 5.8 driver.",
  },
};

/** The selftests as scenarios: one schedule each (a single thread of control). */
export const selftestScenarios: Scenario[] = TESTS.map((t) => ({
  name: t.name,
  description: `hmm-tests.c ${t.name.slice(4)}: ${t.description}`,
  run: t.body,
  expected: PASS,
  exploration: { strategy: "exhaustive", preemptionBound: 0, executions: 2 },
}));
