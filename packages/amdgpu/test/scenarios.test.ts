// The amdgpu scenario table under each scenario's stated exploration: every expected verdict
// is reached (a documented bug is found, with a replay token; a pass exhausts its bounded space).
import { scenarioSuite } from "@mnlab/core/testing";
import { scenarios, variants } from "../src/index.ts";

scenarioSuite("amdgpu", variants, scenarios, { committed: "amdgpu" });
