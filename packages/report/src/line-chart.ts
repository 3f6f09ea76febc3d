/**
 * A log-log line chart: one line per series over a size parameter (registrations, pages),
 * for the scaling figures of reports/data/bench.json. A tree shows as a line that stays
 * nearly flat, a list as one that climbs with the size.
 */
import { c, esc, line, PALETTE, svgDocument, text } from "./svg.ts";

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

/**
 * Lines that lie on top of each other (two implementations of the same tree) stay apart: each
 * series has its own dash pattern and marker shape as well as its colour.
 */
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "4 4", "1 2"];

function marker(i: number, x: number, y: number, color: string): string {
  const [cx, cy] = [c(x), c(y)];
  switch (i % 4) {
    case 0:
      return `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${color}"/>`;
    case 1:
      return `<rect x="${c(x - 3.5)}" y="${c(y - 3.5)}" width="7" height="7" fill="none" stroke="${color}" stroke-width="1.5"/>`;
    case 2:
      return `<path d="M${cx} ${c(y - 4.5)} L${c(x + 4)} ${c(y + 3)} L${c(x - 4)} ${c(y + 3)} Z" fill="${color}"/>`;
    default:
      return `<path d="M${cx} ${c(y - 4.5)} L${c(x + 4.5)} ${cy} L${cx} ${c(y + 4.5)} L${c(x - 4.5)} ${cy} Z" fill="none" stroke="${color}" stroke-width="1.5"/>`;
  }
}

function decades(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const out: number[] = [];
  for (let e = lo; e <= Math.max(hi, lo + 1); e++) out.push(10 ** e);
  return out;
}

function label(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

export function logLogChart(title: string, xLabel: string, yLabel: string, series: LineSeries[]): string {
  const w = 520;
  const h = 300;
  const left = 64;
  const top = 36;
  const pw = w - left - 150;
  const ph = h - top - 50;
  const pts = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const range = (v: number[]): [number, number] =>
    v.length === 0 ? [1, 10] : [Math.min(...v), Math.max(...v)];
  const xs = decades(...range(pts.map((p) => p.x)));
  const ys = decades(...range(pts.map((p) => p.y)));
  const lx = (x: number) => Math.log10(x);
  const [x0, x1] = [lx(xs[0]!), lx(xs[xs.length - 1]!)];
  const [y0, y1] = [lx(ys[0]!), lx(ys[ys.length - 1]!)];
  const X = (x: number) => left + ((lx(x) - x0) / (x1 - x0)) * pw;
  const Y = (y: number) => top + ph - ((lx(y) - y0) / (y1 - y0)) * ph;
  const body: string[] = [text(12, 20, title, { size: 14, weight: "bold" })];
  for (const x of xs) {
    body.push(line(X(x), top, X(x), top + ph, "#e5e5e5"));
    body.push(text(X(x), top + ph + 14, label(x), { anchor: "middle", size: 9, fill: "#555555" }));
  }
  for (const y of ys) {
    body.push(line(left, Y(y), left + pw, Y(y), "#e5e5e5"));
    body.push(text(left - 4, Y(y) + 3, label(y), { anchor: "end", size: 9, fill: "#555555" }));
  }
  body.push(line(left, top + ph, left + pw, top + ph, "#333333"));
  body.push(line(left, top, left, top + ph, "#333333"));
  body.push(text(left + pw / 2, top + ph + 32, xLabel, { anchor: "middle", size: 11 }));
  body.push(
    `<text x="14" y="${c(top + ph / 2)}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${c(top + ph / 2)})">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const dash = DASHES[i % DASHES.length]!;
    const p = s.points.filter((q) => q.x > 0 && q.y > 0).sort((a, b) => a.x - b.x);
    if (p.length > 1) {
      const d = p.map((q, k) => `${k === 0 ? "M" : "L"}${c(X(q.x))} ${c(Y(q.y))}`).join(" ");
      const dashed = dash === "" ? "" : ` stroke-dasharray="${dash}"`;
      body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dashed}/>`);
    }
    for (const q of p) body.push(marker(i, X(q.x), Y(q.y), color));
    const ly = top + 8 + i * 18;
    const dashed = dash === "" ? "" : ` stroke-dasharray="${dash}"`;
    body.push(
      `<path d="M${c(left + pw + 10)} ${c(ly - 4)} L${c(left + pw + 32)} ${c(ly - 4)}" stroke="${color}" stroke-width="2"${dashed}/>`,
    );
    body.push(marker(i, left + pw + 21, ly - 4, color));
    body.push(text(left + pw + 38, ly, s.name, { size: 11 }));
  });
  return svgDocument(w, h, title, body);
}
