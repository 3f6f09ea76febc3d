/**
 * struct vm_area_struct, reduced: a page-aligned [start, end) with protection and sharing,
 * and what a driver's mmap hangs on it (vm_ops, vm_private_data, vm_file, vm_pgoff). The
 * object is the VMA's identity: a driver may keep a pointer to it (gntdev's map->vma), so a
 * split keeps the original object for one part and creates a new one for the other
 * (mm/split-vma.ts), as __split_vma does.
 */

export interface VmaFlags {
  read: boolean;
  write: boolean;
  /** MAP_SHARED: no COW at fork, writes are seen by every mapper. */
  shared: boolean;
  /** VM_DONTCOPY: dup_mmap() does not copy the VMA into a forked child. */
  dontcopy?: boolean;
  /**
   * VM_MAYWRITE; absent means set. Anonymous memory and MAP_PRIVATE mappings always have it
   * (PROT_READ or not); only a MAP_SHARED mapping of a file opened read-only lacks it.
   */
  mayWrite?: boolean;
}

/** struct vm_operations_struct @5.5, the two callbacks the mm core makes around a VMA's life. */
export interface VmOperations {
  /** ->open: a new VMA now refers to the same object (__split_vma, dup_mmap). Cannot sleep. */
  open?(vma: Vma): void;
  /** ->close: the VMA is going away (remove_vma), after its PTEs were zapped; may sleep. */
  close?(vma: Vma): Promise<void>;
}

export class Vma {
  /** vma->vm_ops: null for anonymous memory (vma_is_anonymous). */
  vmOps: VmOperations | null = null;
  /** vma->vm_private_data: the driver's object. */
  vmPrivateData: unknown = null;
  /** vma->vm_file: the driver's open file (opaque to the mm). */
  vmFile: unknown = null;
  /** vma->vm_pgoff: offset of vm_start in the file, in pages. */
  vmPgoff = 0;
  /**
   * vma->anon_vma != NULL: set by anon_vma_prepare() when a private VMA gets its first
   * anonymous page (a write fault, a COW break; a read fault maps the zero page and sets
   * nothing); kept by __split_vma (vm_area_dup) and given to a fork's copy (anon_vma_fork).
   * copy_page_range() skips a VMA without one. Shared (shmem-backed) memory never has one.
   */
  anonVma = false;

  constructor(
    public start: number,
    public end: number,
    public flags: VmaFlags,
  ) {}

  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  /**
   * mm/internal.h: is_cow_mapping() @5.5 — `(flags & (VM_SHARED | VM_MAYWRITE)) ==
   * VM_MAYWRITE`: any private mapping that may ever be written, read-only now or not.
   */
  get isCow(): boolean {
    return !this.flags.shared && this.flags.mayWrite !== false;
  }

  /**
   * include/linux/mm.h: vma_is_anonymous() @5.5 — no vm_ops. Shared anonymous memory is not:
   * mmap(MAP_SHARED | MAP_ANONYMOUS) goes through shmem_zero_setup(), which gives the VMA
   * shmem_vm_ops; the model has no shmem object, so a shared VMA without driver vm_ops stands
   * for that one.
   */
  get isAnonymous(): boolean {
    return this.vmOps === null && !this.flags.shared;
  }
}
