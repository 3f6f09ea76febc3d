/**
 * Fitting text into a fixed-width column without losing any of it: a line too long for its
 * column goes on continuation lines, broken between words. A word is never cut where it can
 * be avoided — an address, a range bound or a kernel name reads wrong when split — and only
 * a single word wider than the whole column is broken, after punctuation if it has any.
 */

/** GitHub shows about this many characters of a code block before it scrolls. */
export const LINE_WIDTH = 110;

/** What a continuation line adds to the indentation of the line it continues. */
export const CONTINUATION = "    ";

export function length(s: string): number {
  return [...s].length;
}

export function padEnd(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - length(s)));
}

/** A word split after its punctuation (and a name after its underscores): where a word too wide for a line may break. */
function atoms(word: string): string[] {
  return word.split(/(?<=[,;=>)\]/+|_])/).filter((a) => a !== "");
}

/** An atom wider than `width` still has to go somewhere: cut it at `width` (a last resort). */
function cut(atom: string, width: number): string[] {
  const chars = [...atom];
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += width) out.push(chars.slice(i, i + width).join(""));
  return out;
}

/**
 * `text` as lines of at most `width` characters: the first starts with `indent`, the others
 * with `indent` and the continuation mark. Words are kept whole; a word wider than a whole
 * line breaks after punctuation (see above).
 */
export function wrap(text: string, width: number, indent = ""): string[] {
  const nextIndent = indent + CONTINUATION;
  const nextRoom = Math.max(1, width - length(nextIndent));
  const lines: string[] = [];
  let cur = "";
  let room = Math.max(1, width - length(indent));
  const flush = () => {
    lines.push((lines.length === 0 ? indent : nextIndent) + cur);
    cur = "";
    room = nextRoom;
  };
  for (const word of text.split(/ +/).filter((w) => w !== "")) {
    if (cur !== "" && length(cur) + 1 + length(word) <= room) {
      cur = `${cur} ${word}`;
      continue;
    }
    if (cur !== "") flush();
    if (length(word) <= room) {
      cur = word;
      continue;
    }
    for (const atom of atoms(word).flatMap((a) => (length(a) > nextRoom ? cut(a, nextRoom) : [a]))) {
      if (length(cur) + length(atom) > room) flush();
      cur += atom;
    }
  }
  if (cur !== "" || lines.length === 0) lines.push((lines.length === 0 ? indent : nextIndent) + cur);
  return lines;
}

/**
 * Column widths that fit `total` characters with `gap` between columns: a column keeps its
 * natural width when the columns fit; otherwise narrow columns keep theirs and the room left
 * is shared evenly by the wide ones (never below `min`).
 */
export function fitWidths(natural: number[], total: number, gap: number, min = 16): number[] {
  const room = total - gap * Math.max(0, natural.length - 1);
  if (natural.reduce((a, b) => a + b, 0) <= room) return natural;
  // Many columns: the floor gives way before the total does (six threads fit in 110 too).
  min = Math.min(min, Math.floor(room / Math.max(1, natural.length)));
  const widths = natural.map(() => 0);
  let left = room;
  let open = natural.map((_, i) => i);
  for (;;) {
    const share = Math.floor(left / Math.max(1, open.length));
    const narrow = open.filter((i) => natural[i]! <= share);
    if (narrow.length === 0) {
      for (const [k, i] of open.entries()) {
        // the first columns take the remainder, one character each
        widths[i] = Math.max(min, share + (k < left - share * open.length ? 1 : 0));
      }
      return widths;
    }
    for (const i of narrow) {
      widths[i] = natural[i]!;
      left -= natural[i]!;
    }
    open = open.filter((i) => !narrow.includes(i));
    if (open.length === 0) return widths;
  }
}
