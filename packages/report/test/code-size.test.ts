import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { codeLines, modelLines, relativeSource } from "../src/index.ts";

describe("lines of model code", () => {
  it("count neither blank lines nor comments", () => {
    const src = [
      "/**",
      " * A block comment",
      " */",
      "import { x } from './x.ts';",
      "",
      "// a line comment",
      "export const y = x; // trailing comments do not matter",
      "/* one-line block */ const z = 1;",
      "/* one-line block only */",
    ].join("\n");
    expect(codeLines(src)).toBe(3);
  });

  it("walk a directory given as a file URL, .ts files only", () => {
    const dir = mkdtempSync(join(tmpdir(), "mnlab-lines-"));
    writeFileSync(join(dir, "a.ts"), "const a = 1;\nconst b = 2;\n");
    writeFileSync(join(dir, "notes.md"), "not code\n");
    expect(modelLines(pathToFileURL(dir).href)).toBe(2);
    expect(modelLines(join(dir, "a.ts"))).toBe(2);
    expect(modelLines(join(dir, "missing"))).toBe(0);
    expect(relativeSource(pathToFileURL(dir).href, join(dir, ".."))).toMatch(/^mnlab-lines-\w+\/$/);
  });
});
