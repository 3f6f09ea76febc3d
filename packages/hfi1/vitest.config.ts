import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "hfi1", include: ["test/**/*.test.ts"], testTimeout: 300_000 },
});
