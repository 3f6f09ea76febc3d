// The scenario table: every (scenario, variant) reaches its expected verdict under the
// scenario's own exploration (exhaustive runs must exhaust their bound).
import { scenarioSuite } from "@mnlab/core/testing";
import { scenarios, variants } from "../src/index.ts";

scenarioSuite("rdma-odp", variants, scenarios, { committed: "rdma-odp" });
