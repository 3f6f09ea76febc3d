// The driver package's scenarios (the ported selftests and the conformance suite) as mnlab
// report runs them: each verdict against its expectation, and under `npm test` each record
// against the committed reports/data/results.json row.
import { scenarioSuite } from "@mnlab/core/testing";
import { driverPackage } from "../src/index.ts";

scenarioSuite("dmirror", driverPackage.variants, driverPackage.scenarios, { committed: "dmirror" });
