/**
 * @mnlab/core — the kernel side every driver model runs on: the mm (VMAs, CPU page table,
 * pages, mmap_sem, CPU-side operations in the kernel's order), the classic mmu_notifier, the
 * 5.5 mmu_interval_notifier, hmm as of 5.4 (mirrors) and 5.5 (notifier-driven), GUP.
 */
export { exitMmap, exitTask } from "./cpu/exit.ts";
export { cpuAccess, handleMmFault, type VmFault } from "./cpu/fault.ts";
export { fork } from "./cpu/fork.ts";
export { madviseDontneed } from "./cpu/madvise.ts";
export { migratePage, reclaimPage } from "./cpu/migrate.ts";
export { type MmapFile, type MmapOptions, mmap } from "./cpu/mmap.ts";
export { mprotect } from "./cpu/mprotect.ts";
export { type MunmapOptions, munmap } from "./cpu/munmap.ts";
export { oomReapTaskMm } from "./cpu/oom.ts";
export { detachVmas, tlbFinishMmu, zapPteRange } from "./cpu/zap.ts";
export {
  type AccessResult,
  type CollisionSection,
  type DeviceEntry,
  DeviceMmu,
  type DeviceOracleOptions,
  installDeviceOracles,
  type MappablePage,
  SWITCHABLE_ORACLES,
  type SwitchableOracle,
} from "./device/device-mmu.ts";
export { type DeviceAccess, DmaFence, submitJob } from "./device/job.ts";
export { isVerdict, type Verdict, VIOLATION_KINDS, type ViolationKind } from "./device/violations.ts";
export * from "./errno.ts";
export { all, both, mustRegister, populateMustMap } from "./harness/conformance/helpers.ts";
export { CONFORMANCE, type ConformanceScenario, conformance } from "./harness/conformance.ts";
export {
  type BufferHandle,
  contractProblems,
  type DeviceContext,
  type DriverModel,
  type DriverVariantInfo,
  isBuffer,
} from "./harness/driver-model.ts";
export type { DriverPackage, KernelPatch } from "./harness/driver-package.ts";
export { installEndChecks } from "./harness/end-checks.ts";
export {
  harnessToken,
  type Metrics,
  oraclesOff,
  POPULATE_RETRY,
  parseHarnessToken,
  type ResultRecord,
  type RunOverrides,
  replayScenario,
  runScenario,
  scenarioProgram,
  type ViolationRecord,
} from "./harness/run.ts";
export {
  describeExploration,
  type Expectation,
  type ExplorationSpec,
  expectationFor,
  explorationFor,
  type Finding,
  type Scenario,
  type ScenarioContext,
} from "./harness/scenario.ts";
export { BASE, pageAddr, setupProcess } from "./harness/setup.ts";
export {
  HMM_RANGE_DEFAULT_TIMEOUT,
  Hmm,
  type HmmFaultFlags54,
  HmmMirror,
  type HmmMirrorOps,
  HmmRange,
  type HmmStartVariant,
  hmmMirrorRegister,
  hmmMirrorUnregister,
  hmmRangeFault54,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
} from "./hmm/mirror.ts";
export { type HmmPfn, type HmmRequest, nonePfn } from "./hmm/pfn.ts";
export { type HmmFaultFlags55, HmmRange55, hmmRangeFault } from "./hmm/range-fault.ts";
export { hmmWalk, uniformRequest } from "./hmm/walk.ts";
export { IntervalTree, ULONG_MAX } from "./interval-tree.ts";
export { Kernel, type KernelWarning } from "./kernel.ts";
export {
  deref,
  type FreeRecord,
  frameReturned,
  type HasLifetime,
  heapAllocated,
  kfree,
  Lifetime,
  touch,
} from "./lifetime.ts";
export { type GupPage, type GupResult, getUserPages, releaseUserPages } from "./mm/gup.ts";
export { copyMmCloneVm, MmStruct, mmdrop, mmget, mmgetNotZero, mmgrab, mmput } from "./mm/mm.ts";
export { hex, PAGE_SHIFT, PAGE_SIZE, Page, PageAllocator } from "./mm/page.ts";
export { PageTable, type Pte } from "./mm/page-table.ts";
export { removeVma, splitVma } from "./mm/split-vma.ts";
export { Vma, type VmaFlags, type VmOperations } from "./mm/vma.ts";
export {
  type CoreFunctionName,
  type CoreFunctions,
  type CoreVariant,
  coreFunctionNames,
  coreFunctions,
  coreSymbol,
  coreVariantProblems,
  installCoreVariant,
  installedCoreVariant,
  MERGED_CORE,
  withCoreVariant,
} from "./notifier/core-seam.ts";
export {
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  mmuIntervalCheckRetry,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierInsertLocked,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  NullDereference,
} from "./notifier/interval-notifier.ts";
export { installCoreInvariants } from "./notifier/invariants.ts";
export {
  __mmuNotifierRegister,
  MmuNotifier,
  type MmuNotifierOps,
  mmuNotifierGetLocked,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierPut,
  mmuNotifierRegister,
  mmuNotifierRelease,
  mmuNotifierUnregister,
} from "./notifier/mmu-notifier.ts";
export { MmuNotifierMm } from "./notifier/notifier-mm.ts";
export {
  describeRange,
  type MmuNotifierEvent,
  type MmuNotifierRange,
  overlaps,
  rangeBlockable,
  rangeInit,
} from "./notifier/range.ts";
