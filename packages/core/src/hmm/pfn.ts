/**
 * What hmm_range_fault reports per page (the 5.4/5.5 `range->pfns[]` with its flag/value
 * tables, reduced to their meaning) and what the caller asks for per page.
 */
import type { Page } from "../mm/page.ts";

export interface HmmPfn {
  readonly addr: number;
  /** HMM_PFN_VALID, HMM_PFN_NONE (pte_none / no access), HMM_PFN_ERROR. */
  state: "valid" | "none" | "error";
  /** HMM_PFN_WRITE */
  write: boolean;
  page: Page | null;
  /** Mapped to the shared zero page (HMM_PFN_ZERO-like; the selftests' ZERO). */
  zero: boolean;
  /** Generation of the CPU PTE read: the stale-mapping oracle compares against it. */
  gen: number;
}

/** Per-page request: fault the page in (HMM_PFN_VALID in the input) and want it writable. */
export interface HmmRequest {
  fault: boolean;
  write: boolean;
}

export function nonePfn(addr: number): HmmPfn {
  return { addr, state: "none", write: false, page: null, zero: false, gen: 0 };
}
