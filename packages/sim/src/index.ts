/**
 * @mnlab/sim — a deterministic concurrency runtime. It knows nothing of the kernel: threads
 * are async functions, shared state is touched through kernel-style primitives whose every
 * operation is a scheduling point, and strategies choose the interleaving.
 */
export { checkDeterminism, type DeterminismReport } from "./determinism.ts";
export {
  type CheckOptions,
  type ChoicePoint,
  type Chooser,
  Execution,
  type ExecutionOutcome,
  type InvariantCheck,
} from "./execution.ts";
export { type ExploreOptions, type ExploreResult, explore, type StepStats } from "./explore.ts";
export {
  ExecutionAborted,
  type Failure,
  type FailureKind,
  RUNTIME_FAILURE_KINDS,
  type RuntimeFailureKind,
  type ThreadSnapshot,
  type WaitForEdge,
} from "./failure.ts";
export { ANY_OBJECT, checkObject, conflicts, type FootprintLog } from "./footprint.ts";
export { type DependencySite, Lockdep, type LockOrderInversion } from "./lockdep.ts";
export { Atomic, Refcount } from "./primitives/atomic.ts";
export { SharedCell } from "./primitives/cell.ts";
export { Completion } from "./primitives/completion.ts";
export { LockdepMap } from "./primitives/lockdep-map.ts";
export { LocklessField } from "./primitives/lockless.ts";
export { Mutex } from "./primitives/mutex.ts";
export { RwSemaphore } from "./primitives/rwsem.ts";
export { SpinLock } from "./primitives/spinlock.ts";
export { Srcu } from "./primitives/srcu.ts";
export { type WaitCondition, WaitQueue } from "./primitives/waitqueue.ts";
export { deriveSeed, makeRng, type Rng } from "./rng.ts";
export { DEFAULT_MAX_STEPS, type Program, recorded, replay, runExecution, runRecorded } from "./run.ts";
export { type ShrinkResult, shrinkFailure } from "./shrink.ts";
export { type BporOrder, BporStrategy } from "./strategy/bpor.ts";
export { type ExhaustiveOrder, ExhaustiveStrategy } from "./strategy/exhaustive.ts";
export {
  makeStrategy,
  REDUCTIONS,
  type Reduction,
  STRATEGY_NAMES,
  type StrategyConfig,
} from "./strategy/make.ts";
export { type PctOptions, PctStrategy } from "./strategy/pct.ts";
export { type PortfolioOptions, PortfolioStrategy } from "./strategy/portfolio.ts";
export { RandomStrategy } from "./strategy/random.ts";
export { ReplayStrategy } from "./strategy/replay.ts";
export { nonPreemptive, type Strategy, type StrategyReport } from "./strategy/strategy.ts";
export { type Holdable, SimThread, type ThreadHandle, type ThreadState } from "./thread.ts";
export { decodeToken, encodeToken, type RecordedExecution, type ReplayToken } from "./token.ts";
export { formatEvent, formatTrace, type TraceEvent, type TraceEventKind } from "./trace.ts";
export type { Waitable } from "./waitable.ts";
export { NumericWatchKey } from "./watch-key.ts";
