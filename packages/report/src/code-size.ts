/**
 * Lines of model code per variant, set next to the kernel patch's diffstat: the .ts files
 * under the variant's `info.source` (a file URL or path, of a directory or a single file),
 * counting lines that are neither blank nor comments. A rough measure, the same one for
 * every variant, which is all a comparison needs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { DriverPackage } from "@mnlab/core";
import type { DriverSummary } from "./model.ts";

/** Non-blank lines that are not `//` comments or inside a block comment. */
export function codeLines(text: string): number {
  let n = 0;
  let inBlock = false;
  for (const raw of text.split("\n")) {
    let line = raw.trim();
    if (inBlock) {
      const end = line.indexOf("*/");
      if (end < 0) continue;
      inBlock = false;
      line = line.slice(end + 2).trim();
    }
    while (line.startsWith("/*")) {
      const end = line.indexOf("*/", 2);
      if (end < 0) {
        inBlock = true;
        line = "";
        break;
      }
      line = line.slice(end + 2).trim();
    }
    if (line === "" || line.startsWith("//")) continue;
    n++;
  }
  return n;
}

export function sourcePath(source: string): string {
  return source.startsWith("file:") ? fileURLToPath(source) : source;
}

function tsFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return path.endsWith(".ts") ? [path] : [];
  return readdirSync(path)
    .sort()
    .filter((e) => e !== "node_modules")
    .flatMap((e) => tsFiles(join(path, e)));
}

/** Model lines under `source`; 0 when it does not exist (a variant built in memory). */
export function modelLines(source: string): number {
  const path = sourcePath(source);
  try {
    return tsFiles(path).reduce((n, f) => n + codeLines(readFileSync(f, "utf8")), 0);
  } catch {
    return 0;
  }
}

/** `source` relative to the repository root, with "/" separators; directories end with "/". */
export function relativeSource(source: string, root: string): string {
  const path = sourcePath(source);
  let rel = relative(root, path).split(sep).join("/");
  if (rel.startsWith("..")) rel = path.split(sep).join("/");
  try {
    if (statSync(path).isDirectory() && !rel.endsWith("/")) rel += "/";
  } catch {
    // not on disk: keep it as given
  }
  return rel;
}

/** A driver package as plain data for the renderers. */
export function summarizeDriver(pkg: DriverPackage, root: string): DriverSummary {
  return {
    name: pkg.name,
    title: pkg.title,
    design: pkg.design,
    patches: pkg.patches,
    variants: pkg.variants.map((v) => ({
      id: v.info.id,
      kernel: v.info.kernel,
      files: v.info.files,
      commits: v.info.commits,
      summary: v.info.summary,
      source: relativeSource(v.info.source, root),
      modelLines: modelLines(v.info.source),
    })),
    scenarios: pkg.scenarios.map((s) => ({
      name: s.name,
      description: s.description,
      exploration: s.exploration,
      ...(s.explorationByVariant === undefined ? {} : { explorationByVariant: s.explorationByVariant }),
      expected: s.expected,
    })),
  };
}
