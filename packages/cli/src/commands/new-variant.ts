/**
 * `mnlab new-variant <driver> <id> [--from interval|legacy] [--out dir]`: start a migration
 * patch from a merged variant. Copies the variant's model files (from its info.source) to
 * `<driver package>/patches/<id>/`, keeping their layout, so that
 *   - imports inside the variant's directory reach the copies, and every other relative import
 *     (the driver's shared modules, its knobs, core) is rewritten to reach the same module as
 *     before — a knob a scenario sets is the one the patch reads;
 *   - the entry module gets `info.id` set to the new id and the export `mnlab` loads
 *     (`export default <the variant>`), so the copy runs as is;
 * then prints the command that evaluates it. Nothing is written when anything is wrong.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import ts from "typescript";
import { UsageError } from "../errors.ts";
import { repoRoot, userPath } from "../paths.ts";
import { driverNamed } from "../registry.ts";
import {
  applyEdits,
  type Edit,
  findEntry,
  importEdits,
  parse,
  type VariantEntry,
  variantSource,
} from "../variant-source.ts";

const ID = /^[a-z0-9][a-z0-9-]*$/;

/** Where the user stands (npm run keeps it in INIT_CWD): paths are printed relative to it. */
function shown(p: string): string {
  const r = relative(process.env.INIT_CWD ?? process.cwd(), p)
    .split(sep)
    .join("/");
  return r === "" ? "." : r;
}

/** The `id: "<from>"` string literal inside the variant's `info: {...}` in the entry module. */
function idLiteral(sf: ts.SourceFile, entry: VariantEntry, from: string): ts.StringLiteral | null {
  let root: ts.Node | undefined;
  ts.forEachChild(sf, (n) => {
    if (entry.exportName === "default" && ts.isExportAssignment(n)) root = n.expression;
    if (ts.isVariableStatement(n)) {
      for (const d of n.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.name.text === entry.exportName) root = d.initializer;
      }
    }
  });
  let found: ts.StringLiteral | null = null;
  const visit = (n: ts.Node) => {
    if (found !== null) return;
    if (
      ts.isPropertyAssignment(n) &&
      n.name.getText(sf) === "info" &&
      ts.isObjectLiteralExpression(n.initializer)
    ) {
      for (const p of n.initializer.properties) {
        if (
          ts.isPropertyAssignment(p) &&
          p.name.getText(sf) === "id" &&
          ts.isStringLiteral(p.initializer) &&
          p.initializer.text === from
        ) {
          found = p.initializer;
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  if (root !== undefined) visit(root);
  return found;
}

/** The entry module's own edits: the new id, the export mnlab loads, a note of where it came from. */
function entryEdits(sf: ts.SourceFile, text: string, entry: VariantEntry, from: string, id: string): Edit[] {
  const edits: Edit[] = [];
  const lit = idLiteral(sf, entry, from);
  const exported = entry.exportName === "default" || entry.exportName === "variant";
  if (lit !== null) {
    edits.push({ start: lit.getStart(sf), end: lit.getEnd(), text: JSON.stringify(id) });
    if (!exported) {
      edits.push({
        start: text.length,
        end: text.length,
        text:
          `${text.endsWith("\n") ? "" : "\n"}\n` +
          "// The export `mnlab evaluate`, `mnlab test --variant` and `mnlab replay --variant` load.\n" +
          `export default ${entry.exportName};\n`,
      });
    }
    return edits;
  }
  if (entry.exportName === "default") {
    throw new UsageError(`cannot find the literal id "${from}" of the default export in ${sf.fileName}`);
  }
  // The id is computed: keep the object, give the export a new identity.
  edits.push({
    start: text.length,
    end: text.length,
    text:
      `${text.endsWith("\n") ? "" : "\n"}\n` +
      "// The export `mnlab evaluate` and `--variant` load: the variant under its new id.\n" +
      `export default { ...${entry.exportName}, info: { ...${entry.exportName}.info, id: ${JSON.stringify(id)} } };\n`,
  });
  return edits;
}

export async function newVariantCommand(
  driverName: string,
  id: string,
  o: { from: string; out?: string },
): Promise<number> {
  if (!ID.test(id)) throw new UsageError(`variant id "${id}" must be lower-case letters, digits and dashes`);
  const d = await driverNamed(driverName);
  const v = d.variants.find((x) => x.info.id === o.from);
  if (v === undefined) {
    throw new UsageError(
      `--from ${o.from}: not a ${d.name} variant (${d.variants.map((x) => x.info.id).join(", ")})`,
    );
  }
  if (d.variants.some((x) => x.info.id === id)) {
    throw new UsageError(`"${id}" is already a ${d.name} variant; choose another id`);
  }
  const src = variantSource(v);
  const entry = await findEntry(v, src);
  const outDir = o.out === undefined ? join(src.packageRoot, "patches", id) : userPath(o.out);
  if (existsSync(outDir)) throw new UsageError(`${shown(outDir)} exists already; choose another id or --out`);

  const keep = src.isDirectory ? [src.base] : [];
  const written: { path: string; text: string }[] = [];
  for (const file of src.files) {
    const target = join(outDir, relative(src.base, file));
    const text = readFileSync(file, "utf8");
    const sf = parse(file, text);
    const edits = importEdits(sf, file, target, keep);
    const isEntry = file === entry.file;
    if (isEntry) edits.push(...entryEdits(sf, text, entry, o.from, id));
    const head =
      `// ${isEntry ? "Migration patch" : "Part of migration patch"} ${d.name}/${id}, copied by ` +
      `\`mnlab new-variant\` from ${relative(repoRoot, file).split(sep).join("/")} (${d.name}/${o.from}).\n`;
    written.push({ path: target, text: head + applyEdits(text, edits) });
  }
  for (const w of written) {
    mkdirSync(dirname(w.path), { recursive: true });
    writeFileSync(w.path, w.text);
  }
  const entryPath = join(outDir, relative(src.base, entry.file));
  const lines = [
    `wrote ${shown(outDir)}/: ${written.length} file${written.length === 1 ? "" : "s"} copied from ${d.name}/${o.from} ` +
      `(${relative(repoRoot, src.base).split(sep).join("/")}/), info.id "${id}"`,
    `the patch module is ${shown(entryPath)}; change the model there, then judge it against the merged 5.5 variant:`,
    "",
    `  npm run mnlab -- evaluate ${shown(entryPath)}`,
    "",
  ];
  process.stdout.write(lines.join("\n"));
  return 0;
}
