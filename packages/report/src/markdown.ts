/**
 * Markdown building blocks shared by the pages. Tables go through markdown-table, whose
 * cells are plain strings: a `|` inside a cell must be escaped or GitHub splits the column,
 * and so must a newline. Numbers are formatted here once, so every page prints them alike
 * and the bytes do not depend on the locale.
 */
import { markdownTable } from "markdown-table";

/** A cell's text: pipes escaped, line breaks folded, so it stays one table cell. */
export function cell(s: string): string {
  return s.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
}

/** `code` span that survives any backticks inside it. */
export function code(s: string): string {
  const fence = s.includes("`") ? "``" : "`";
  const pad = s.startsWith("`") || s.endsWith("`") ? " " : "";
  return `${fence}${pad}${s}${pad}${fence}`;
}

export type Align = "l" | "r" | "c";

/** A GFM table; every cell is escaped here, so callers pass raw text (or Markdown without pipes). */
export function table(header: string[], rows: string[][], align?: Align[]): string {
  const esc = (r: string[]) => r.map(cell);
  return markdownTable([esc(header), ...rows.map(esc)], {
    ...(align === undefined ? {} : { align }),
    stringLength: (s) => [...s].length,
  });
}

/** A GitHub heading anchor for `text` (lower case, spaces to dashes, punctuation dropped). */
export function anchor(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** A count with thousands separators, locale-independent: 12345 -> "12,345". */
export function int(n: number): string {
  const s = String(Math.round(n));
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A metric: at most three decimals, trailing zeros dropped. */
export function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n * 1000) / 1000;
  return Object.is(r, -0) ? "0" : String(r);
}

/** Three significant digits, for wall-clock figures. */
export function sig3(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return int(n);
  const digits = Math.max(0, 2 - Math.floor(Math.log10(a)));
  return String(Number(n.toFixed(digits)));
}

/** Lines joined with a single trailing newline: the shape of every generated file. */
export function page(blocks: string[]): string {
  return `${blocks
    .map((b) => b.replace(/\s+$/, ""))
    .filter((b) => b !== "")
    .join("\n\n")}\n`;
}
