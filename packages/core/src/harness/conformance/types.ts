import type { Scenario } from "../scenario.ts";

/** A conformance scenario: a Scenario whose expectations each driver attaches (conformance()). */
export type ConformanceScenario = Omit<Scenario, "expected">;
