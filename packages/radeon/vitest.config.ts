import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "radeon", include: ["test/**/*.test.ts"], testTimeout: 300_000 },
});
