/**
 * The bounce buffer READ and WRITE copy through: the device copies page contents into it
 * under dmirror->mutex, and it is copied to (READ, only on success) or from (WRITE, first)
 * the user buffer. One word per page, like the model's pages.
 */
import { PAGE_SIZE } from "@mnlab/core";

/** lib/test_hmm.c: struct dmirror_bounce @5.8 */
export interface DmirrorBounce {
  /** bounce->addr: the user address the buffer mirrors. */
  readonly addr: number;
  readonly npages: number;
  /** bounce->ptr: one word per page. */
  readonly data: number[];
  /** bounce->cpages: pages copied so far. */
  cpages: number;
}

// lib/test_hmm.c: dmirror_bounce_init() @5.8 (the vmalloc cannot fail in the model)
export function dmirrorBounceInit(addr: number, npages: number): DmirrorBounce {
  return { addr, npages, data: new Array<number>(npages).fill(0), cpages: 0 };
}

/** lib/test_hmm.c: dmirror_do_read()/dmirror_do_write()'s bounce index @5.8 — (addr - bounce->addr) >> PAGE_SHIFT. */
export function bounceIndex(bounce: DmirrorBounce, addr: number): number {
  return (addr - bounce.addr) / PAGE_SIZE;
}
