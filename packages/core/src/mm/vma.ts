/** struct vm_area_struct, reduced: a page-aligned [start, end) with protection and sharing. */

export interface VmaFlags {
  read: boolean;
  write: boolean;
  /** MAP_SHARED: no COW at fork, writes are seen by every mapper. */
  shared: boolean;
}

export class Vma {
  constructor(
    public start: number,
    public end: number,
    public flags: VmaFlags,
  ) {}

  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  /** VM_WRITE without VM_SHARED: writes break COW. */
  get isCow(): boolean {
    return this.flags.write && !this.flags.shared;
  }
}
