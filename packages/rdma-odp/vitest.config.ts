import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "rdma-odp", include: ["test/**/*.test.ts"], testTimeout: 300_000 },
});
