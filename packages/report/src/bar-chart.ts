/**
 * Grouped bars as small multiples: one panel per metric, each with its own scale (retries
 * per populate and ticks blocked differ by orders of magnitude), one bar per series (a
 * variant) in every panel. Used for the old-vs-new virtual-time metrics of a driver.
 */
import { c, line, niceScale, PALETTE, rect, svgDocument, text, tick } from "./svg.ts";

export interface BarPanel {
  title: string;
  /** One value per series, in series order; null where the series has no figure. */
  values: (number | null)[];
}

export function barChart(title: string, series: string[], panels: BarPanel[]): string {
  const panelW = 170;
  const panelH = 150;
  const top = 46;
  const left = 44;
  const gap = 26;
  const width = left + panels.length * (panelW + gap);
  const height = top + panelH + 44 + 18 * Math.ceil(series.length / 4);
  const body: string[] = [text(12, 20, title, { size: 14, weight: "bold" })];
  panels.forEach((p, pi) => {
    const x0 = left + pi * (panelW + gap);
    const y0 = top;
    const vals = p.values.map((v) => v ?? 0);
    const { max, step } = niceScale(Math.max(0, ...vals));
    body.push(text(x0 + panelW / 2, y0 - 8, p.title, { anchor: "middle", size: 12 }));
    for (let k = 0; k * step <= max + step / 2; k++) {
      const v = k * step;
      const y = y0 + panelH - (v / max) * panelH;
      body.push(line(x0, y, x0 + panelW, y, "#dddddd"));
      body.push(text(x0 - 4, y + 4, tick(v), { anchor: "end", size: 9, fill: "#555555" }));
    }
    body.push(line(x0, y0 + panelH, x0 + panelW, y0 + panelH, "#333333"));
    const n = Math.max(1, series.length);
    const slot = panelW / n;
    const barW = Math.min(36, slot * 0.7);
    p.values.forEach((v, si) => {
      const cx = x0 + slot * si + slot / 2;
      if (v === null) {
        body.push(text(cx, y0 + panelH - 4, "n/a", { anchor: "middle", size: 9, fill: "#777777" }));
        return;
      }
      const h = (v / max) * panelH;
      body.push(rect(cx - barW / 2, y0 + panelH - h, barW, h, PALETTE[si % PALETTE.length]!));
      body.push(
        text(cx, y0 + panelH - h - 3, tick(Math.round(v * 1000) / 1000), { anchor: "middle", size: 9 }),
      );
    });
  });
  const ly = top + panelH + 28;
  series.forEach((s, i) => {
    const lx = left + (i % 4) * 150;
    const y = ly + 18 * Math.floor(i / 4);
    body.push(rect(lx, y - 9, 10, 10, PALETTE[i % PALETTE.length]!));
    body.push(text(lx + 14, y, s, { size: 11 }));
  });
  return svgDocument(Number(c(width)), height, title, body);
}
