import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "xen-gntdev", include: ["test/**/*.test.ts"], testTimeout: 300_000 },
});
