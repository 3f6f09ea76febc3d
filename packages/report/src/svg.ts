/**
 * The little SVG the plots need, written as text so it needs no browser and its bytes
 * depend only on the data: coordinates rounded to one decimal, a fixed palette, a generic
 * font family.
 */

export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#e15759",
  "#76b7b2",
  "#edc948",
  "#b07aa1",
  "#9c755f",
];

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A coordinate: one decimal, no trailing zeros. */
export function c(x: number): string {
  const r = Math.round(x * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}

export function text(
  x: number,
  y: number,
  s: string,
  opts: { anchor?: "start" | "middle" | "end"; size?: number; weight?: "bold"; fill?: string } = {},
): string {
  const attrs = [
    `x="${c(x)}"`,
    `y="${c(y)}"`,
    `font-size="${opts.size ?? 11}"`,
    ...(opts.anchor === undefined || opts.anchor === "start" ? [] : [`text-anchor="${opts.anchor}"`]),
    ...(opts.weight === undefined ? [] : [`font-weight="${opts.weight}"`]),
    ...(opts.fill === undefined ? [] : [`fill="${opts.fill}"`]),
  ];
  return `<text ${attrs.join(" ")}>${esc(s)}</text>`;
}

export function rect(x: number, y: number, w: number, h: number, fill: string): string {
  return `<rect x="${c(x)}" y="${c(y)}" width="${c(w)}" height="${c(h)}" fill="${fill}"/>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke = "#999", dash = false): string {
  const d = dash ? ` stroke-dasharray="3 3"` : "";
  return `<line x1="${c(x1)}" y1="${c(y1)}" x2="${c(x2)}" y2="${c(y2)}" stroke="${stroke}"${d}/>`;
}

export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${c(width)}" height="${c(height)}" viewBox="0 0 ${c(width)} ${c(height)}" font-family="sans-serif">`,
    `<title>${esc(title)}</title>`,
    rect(0, 0, width, height, "#ffffff"),
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** A "nice" axis maximum and tick step for values up to max: 1, 2 or 5 times a power of ten. */
export function niceScale(max: number, ticks = 4): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 0.25 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  return { max: step * Math.ceil(max / step - 1e-9), step };
}

/** Tick label: integers plainly, fractions to three significant digits. */
export function tick(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}
