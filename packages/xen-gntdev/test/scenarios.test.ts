// The scenario table: every (scenario, variant) reaches its expected verdict under the
// scenario's own exploration (exhaustive runs must exhaust their bound) — PV and HVM.
import { scenarioSuite } from "@mnlab/core/testing";
import { scenarios, variants } from "../src/index.ts";

scenarioSuite("xen-gntdev", variants, scenarios, { committed: "xen-gntdev" });
