// The 5.4 variants: drivers/xen/gntdev.c @5.4 on a PV and on an HVM/PVH guest.
import { gntdevVariant } from "../driver.ts";
import { gntdev54 } from "./gntdev.ts";

export const legacy = gntdevVariant("legacy", "pv", gntdev54);
export const legacyHvm = gntdevVariant("legacy", "hvm", gntdev54);
