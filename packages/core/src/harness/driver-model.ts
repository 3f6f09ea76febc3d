/**
 * The DriverModel contract every driver variant implements: the life of a device context on
 * a process's memory, in the steps every one of the eight drivers has under its own names —
 *   open       NOUVEAU_SVM_INIT, ib_alloc_ucontext, open("/dev/hfi1_0"), gntdev open, DRM open
 *   register   a userptr BO, an ODP MR, a TID set, a grant map, an SVM window
 *   populate   the fault/validate path that makes the device map the pages
 *   access     the device uses the mapping (a GPU job, NIC DMA) — through the oracles
 *   unregister, close.
 * Conformance scenarios are written against this contract, so they run on every driver and
 * on user-written variants (a migration patch under evaluation).
 *
 * Errors are kernel errors: negative errno values, not exceptions.
 */
import type { AccessResult, DeviceMmu } from "../device/device-mmu.ts";
import type { Kernel } from "../kernel.ts";
import type { MmStruct } from "../mm/mm.ts";

/** What a variant is and where it comes from. */
export interface DriverVariantInfo {
  /** Driver package name: "nouveau", "rdma-odp", ... */
  driver: string;
  /** "legacy" (5.4), "interval" (5.5), or a user-chosen id. */
  id: string;
  /** Kernel version the variant follows. */
  kernel: string;
  /** Kernel files it models. */
  files: string[];
  /** Commits it follows (the 5.5 conversion patches, for instance). */
  commits: string[];
  /** Absolute path (or file URL) of the directory or file holding its model source, for line counts. */
  source: string;
  /** One line. */
  summary: string;
}

/** A registered user buffer; drivers extend it with their own state. */
export interface BufferHandle {
  readonly start: number;
  readonly end: number;
}

export interface DeviceContext {
  /** The shadow page tables this context programs (for oracles, metrics, leak checks). */
  readonly mmus: readonly DeviceMmu[];
  /** Register [start, start+len) for device use; a handle or a negative errno. */
  register(start: number, len: number, opts: { write: boolean }): Promise<BufferHandle | number>;
  /** Make the device map [start, end) of the buffer (fault, prefetch, validate); 0 or -errno. */
  populate(buf: BufferHandle, start: number, end: number, write: boolean): Promise<number>;
  /**
   * The device reads or writes one word at addr through whatever the driver set up (running
   * a GPU job and waiting its fence, a NIC DMA). A device fault is a result, not a failure;
   * a negative errno means the driver refused (e.g. the BO is invalid).
   */
  access(buf: BufferHandle, addr: number, write: boolean): Promise<AccessResult | number>;
  unregister(buf: BufferHandle): Promise<void>;
  close(): Promise<void>;
}

export interface DriverModel {
  readonly info: DriverVariantInfo;
  /** Open a device context on mm, from the process's context (mm_users held by the caller). */
  open(k: Kernel, mm: MmStruct): Promise<DeviceContext | number>;
}

/** Checks a loaded module's export against the contract; the reasons it fails, one line each. */
export function contractProblems(x: unknown): string[] {
  const problems: string[] = [];
  if (typeof x !== "object" || x === null) return ["the export is not an object"];
  const m = x as Partial<DriverModel>;
  if (typeof m.open !== "function") problems.push("open(k, mm) is missing");
  const info = m.info as Partial<DriverVariantInfo> | undefined;
  if (typeof info !== "object" || info === null) {
    problems.push("info is missing");
    return problems;
  }
  for (const f of ["driver", "id", "kernel", "source", "summary"] as const) {
    if (typeof info[f] !== "string" || info[f] === "") problems.push(`info.${f} must be a non-empty string`);
  }
  for (const f of ["files", "commits"] as const) {
    if (!Array.isArray(info[f])) problems.push(`info.${f} must be an array of strings`);
  }
  if (typeof info.id === "string" && !/^[a-z0-9][a-z0-9-]*$/.test(info.id)) {
    problems.push(`info.id "${info.id}" must be lower-case letters, digits and dashes`);
  }
  return problems;
}

/** Narrow a register() result. */
export function isBuffer(x: BufferHandle | number): x is BufferHandle {
  return typeof x !== "number";
}
