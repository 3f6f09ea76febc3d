/**
 * References as links that resolve: a kernel commit id links to the public kernel tree; a
 * reference row (`V1`, `O1(a)`), a reference section (`2.2`, `reference 1.4`) or a core
 * section (`core.md 6.4`) links to the page under docs/ that states those kernel facts in the
 * project's words — but only when that page defines the anchor, so a page never prints a link
 * that goes nowhere. Text that names nothing linkable stays text.
 *
 * Anchors in docs/ pages are explicit (`<a id="v1"></a>`): a driver page defines `v1`, `o1a`
 * for its reference rows and `s1-4` for its reference sections; docs/core.md defines
 * `core-1-4`.
 */
import type { DocsIndex } from "./model.ts";

const KERNEL_TREE = "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=";

/** A commit id of the form the reference uses: 12 hex digits, at least one a digit. */
const COMMIT = /\b(?=[0-9a-f]*\d)[0-9a-f]{12}\b/g;

export function commitLink(id: string): string {
  return `[${id}](${KERNEL_TREE}${id})`;
}

/** The anchors a docs/ page defines: explicit `<a id>` and `name` ones, and its headings'. */
export function docsAnchors(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/<a (?:id|name)="([^"]+)"/g)) out.push(m[1]!);
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    out.push(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return out;
}

interface Target {
  file: string;
  anchor: string;
}

function resolves(docs: DocsIndex | undefined, t: Target): boolean {
  return docs?.[t.file]?.includes(t.anchor) === true;
}

function link(text: string, t: Target, docs: DocsIndex | undefined): string {
  return resolves(docs, t) ? `[${text}](../${t.file}#${t.anchor})` : text;
}

/**
 * Commit ids, `core.md N.M`, and a driver reference file's `gpu-drivers.md N.M` /
 * `rdma-xen-drivers.md N.M` (the notes the project was built from, whose driver sections
 * docs/<driver>.md restates under the same numbers) in free text, linked.
 */
export function linkText(text: string, docs: DocsIndex | undefined, driver?: string): string {
  return text
    .replace(COMMIT, (id) => commitLink(id))
    .replace(/\bcore\.md (?:§\s*)?(\d+)\.(\d+)\b/g, (m, a: string, b: string) =>
      link(m, { file: "docs/core.md", anchor: `core-${a}-${b}` }, docs),
    )
    .replace(/\b(?:gpu-drivers|rdma-xen-drivers)\.md (?:§\s*)?(\d+)\.(\d+)\b/g, (m, a: string, b: string) =>
      driver === undefined ? m : link(m, { file: `docs/${driver}.md`, anchor: `s${a}-${b}` }, docs),
    );
}

/**
 * An expectation's reference (`V1 (O1); 04ec32fbc2b2 commit message`, `core.md 1.6`,
 * `reference 1.4 item 2, row O4`, `2.2 (sync callback)`), every part that names something
 * linked: commits to the kernel tree, rows and sections to docs/<driver>.md, core sections
 * to docs/core.md.
 */
export function linkRef(ref: string, driver: string, docs: DocsIndex | undefined): string {
  const page = `docs/${driver}.md`;
  const parts = ref.split(/(;\s*|,\s*|\s\+\s)/);
  return parts
    .map((part, i) => {
      if (i % 2 === 1) return part;
      let p = linkText(part, docs, driver);
      if (p !== part) return p;
      // "reference 1.4 item 2", "reference 1.1 (release)", a bare "2.2 (sync callback)"
      p = part.replace(/^(\s*(?:reference\s+)?)(\d+)\.(\d+)\b/, (m, _pre: string, a: string, b: string) =>
        link(m, { file: page, anchor: `s${a}-${b}` }, docs),
      );
      if (p !== part) return p;
      // rows: V1, O1(a), "row O4", "reference row O1(a)"
      return part.replace(/\b([A-Z])(\d+)(?:\(([a-z])\))?/g, (m, l: string, n: string, sub?: string) =>
        link(m, { file: page, anchor: `${l.toLowerCase()}${n}${sub ?? ""}` }, docs),
      );
    })
    .join("");
}
