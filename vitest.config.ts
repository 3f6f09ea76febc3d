import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "bench"],
    // Vitest's default for a run is one worker fewer than the CPUs: one worker on these 2-core
    // machines, which runs every file in turn. Two keep both cores busy.
    maxWorkers: 2,
  },
});
