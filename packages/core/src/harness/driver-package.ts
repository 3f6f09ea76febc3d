/**
 * How a driver package presents itself to the CLI and the reports: its variants, its
 * scenarios (reference rows and the conformance suite with its expectations), the old and new
 * designs in a few lines each, and the kernel patches' diffstat to set next to the model's
 * line counts. Each driver package exports one of these as `driverPackage`.
 */
import type { DriverModel } from "./driver-model.ts";
import type { Scenario } from "./scenario.ts";

export interface KernelPatch {
  commit: string;
  title: string;
  /** Lines added and removed in the driver's files by this patch (reference figures). */
  insertions: number;
  deletions: number;
}

export interface DriverPackage {
  /** Package and CLI name: "nouveau", "rdma-odp". */
  name: string;
  /** One line: what the driver is and its main kernel files. */
  title: string;
  /** A few Markdown lines each: how it followed the mm in 5.4, and in 5.5. */
  design: { legacy: string; interval: string };
  /** The 5.5 conversion patches for this driver, with their diffstat. */
  patches: KernelPatch[];
  variants: DriverModel[];
  scenarios: Scenario[];
}
