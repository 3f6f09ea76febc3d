/**
 * Where a variant's model lives, read from the variant itself (`info.source`: a directory or
 * a file, as a path or a file URL), so that `new-variant` and `mutate` work for any
 * registered driver without knowing its layout:
 *   - its .ts files, the directory they are relative to, and the package that holds them;
 *   - the module and export that *is* the variant object (found by identity: the registry
 *     imported that module already, so importing it again gives the same object);
 *   - the relative imports of a copied file, rewritten (located with the TypeScript compiler
 *     API, replaced in the text, so comments and formatting stay) so that a copy elsewhere
 *     still reaches the same modules outside the variant's directory.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { DriverModel } from "@mnlab/core";
import ts from "typescript";
import { UsageError } from "./errors.ts";

export interface VariantSource {
  /** Directory the files are relative to (the source directory, or a single file's directory). */
  base: string;
  /** Absolute paths of the model's .ts files, sorted. */
  files: string[];
  /** Was info.source a directory (true) or one file? */
  isDirectory: boolean;
  /** The package directory (nearest package.json above the source). */
  packageRoot: string;
}

export function sourcePath(source: string): string {
  return source.startsWith("file:") ? fileURLToPath(source) : source;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .filter((e) => e !== "node_modules" && !e.startsWith("."))
    .flatMap((e) => {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) return tsFiles(p);
      return p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
    });
}

export function variantSource(v: DriverModel): VariantSource {
  const path = resolve(sourcePath(v.info.source).replace(/[/\\]$/, ""));
  if (!existsSync(path)) {
    throw new UsageError(`${v.info.driver}/${v.info.id}: info.source ${path} does not exist`);
  }
  const isDirectory = statSync(path).isDirectory();
  const files = isDirectory ? tsFiles(path) : [path];
  if (files.length === 0) throw new UsageError(`${v.info.driver}/${v.info.id}: no .ts file under ${path}`);
  let root = isDirectory ? path : dirname(path);
  while (!existsSync(join(root, "package.json")) && dirname(root) !== root) root = dirname(root);
  return { base: isDirectory ? path : dirname(path), files, isDirectory, packageRoot: root };
}

export interface VariantEntry {
  file: string;
  /** The export whose value is the variant object: "default", "variant", "interval", ... */
  exportName: string;
}

/** The module under the source that exports this very variant object. */
export async function findEntry(v: DriverModel, src: VariantSource): Promise<VariantEntry> {
  const byLikelihood = [...src.files].sort(
    (a, b) => Number(!/[/\\](index|driver)\.ts$/.test(a)) - Number(!/[/\\](index|driver)\.ts$/.test(b)),
  );
  // The module that declares it, not one that re-exports it (an index.ts): that is where its
  // info.id is written, and the copy's other modules reach the copied declaration.
  const found: VariantEntry[] = [];
  for (const file of byLikelihood) {
    const mod: Record<string, unknown> = await import(pathToFileURL(file).href);
    const names = Object.keys(mod).filter((k) => mod[k] === v);
    const name = names.find((k) => k === "default") ?? names.find((k) => k === "variant") ?? names[0];
    if (name === undefined) continue;
    const entry = { file, exportName: name };
    if (declares(file, name)) return entry;
    found.push(entry);
  }
  if (found[0] !== undefined) return found[0];
  throw new UsageError(
    `${v.info.driver}/${v.info.id}: no module under ${src.base} exports the variant object itself ` +
      "(is it built by a factory elsewhere?); copy it by hand",
  );
}

/** Does `file` declare `name` itself (const, function, class, or the default export)? */
function declares(file: string, name: string): boolean {
  const sf = parse(file, readFileSync(file, "utf8"));
  let yes = false;
  ts.forEachChild(sf, (n) => {
    if (name === "default" && ts.isExportAssignment(n)) yes = true;
    if (ts.isVariableStatement(n)) {
      for (const d of n.declarationList.declarations)
        if (ts.isIdentifier(d.name) && d.name.text === name) yes = true;
    }
    if ((ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n)) && n.name?.text === name) yes = true;
  });
  return yes;
}

/** A text replacement at [start, end) of the original text. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

export function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return out;
}

export function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function relativeSpecifier(fromFile: string, target: string): string {
  let r = relative(dirname(fromFile), target).split(sep).join("/");
  if (!r.startsWith(".")) r = `./${r}`;
  return r;
}

/**
 * Edits that keep the relative module specifiers of `file` (import/export declarations,
 * `import()` calls and types, `new URL(x, import.meta.url)`) pointing at the same modules when
 * the file is written to `target` instead, except those that point inside `keepInside`
 * (copied along, at the same relative place).
 */
export function importEdits(sf: ts.SourceFile, file: string, target: string, keepInside: string[]): Edit[] {
  const edits: Edit[] = [];
  const inside = (p: string) => keepInside.some((k) => p === k || p.startsWith(k + sep));
  const consider = (lit: ts.Node | undefined) => {
    if (lit === undefined || !ts.isStringLiteralLike(lit)) return;
    const spec = lit.text;
    if (!spec.startsWith("./") && !spec.startsWith("../") && spec !== "." && spec !== "..") return;
    const resolved = resolve(dirname(file), spec);
    if (inside(resolved)) return;
    const q = lit.getText(sf)[0] ?? '"';
    const rewritten = relativeSpecifier(target, resolved) + (spec.endsWith("/") ? "/" : "");
    edits.push({ start: lit.getStart(sf), end: lit.getEnd(), text: `${q}${rewritten}${q}` });
  };
  const visit = (n: ts.Node) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier !== undefined) {
      consider(n.moduleSpecifier);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      consider(n.arguments[0]);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) {
      consider(n.argument.literal);
    } else if (
      ts.isNewExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === "URL" &&
      n.arguments?.length === 2 &&
      n.arguments[1]!.getText(sf) === "import.meta.url"
    ) {
      // new URL(".", import.meta.url) means "where this file is": the copy's own place.
      const a = n.arguments[0]!;
      if (!(ts.isStringLiteralLike(a) && (a.text === "." || a.text === "./"))) consider(a);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return edits;
}
