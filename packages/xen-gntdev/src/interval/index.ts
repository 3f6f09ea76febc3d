// The 5.5 variants (d3eeb1d77c5d): drivers/xen/gntdev.c @5.5 on a PV and on an HVM/PVH guest.
import { gntdevVariant } from "../driver.ts";
import { gntdev55 } from "./gntdev.ts";

export const interval = gntdevVariant("interval", "pv", gntdev55);
export const intervalHvm = gntdevVariant("interval", "hvm", gntdev55);
