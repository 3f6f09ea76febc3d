/**
 * A log-log line chart: one line per series over a size parameter (registrations, pages),
 * for the scaling figures of reports/data/bench.json. A tree shows as a line that stays
 * nearly flat, a list as one that climbs with the size.
 */
import { c, esc, line, PALETTE, rect, svgDocument, text } from "./svg.ts";

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
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
    const p = s.points.filter((q) => q.x > 0 && q.y > 0).sort((a, b) => a.x - b.x);
    if (p.length > 1) {
      const d = p.map((q, k) => `${k === 0 ? "M" : "L"}${c(X(q.x))} ${c(Y(q.y))}`).join(" ");
      body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const q of p) body.push(`<circle cx="${c(X(q.x))}" cy="${c(Y(q.y))}" r="3" fill="${color}"/>`);
    const ly = top + 8 + i * 18;
    body.push(rect(left + pw + 16, ly - 9, 10, 10, color));
    body.push(text(left + pw + 30, ly, s.name, { size: 11 }));
  });
  return svgDocument(w, h, title, body);
}
