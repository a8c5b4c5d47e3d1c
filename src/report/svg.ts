/**
 * Small SVG charts for the reports, written by hand: axes with "nice" ticks, grid lines, labels,
 * points, lines and a legend. The output is a standalone SVG document (no scripts, no external
 * fonts or images) that a browser shows inline and resvg renders to PNG.
 */

export interface Axis {
  label: string;
  /** Fixed range (default: the data's, with nice ticks). */
  min?: number;
  max?: number;
  /** Explicit ticks (categorical axes: weekdays, hours). */
  ticks?: ReadonlyArray<{ value: number; label: string }>;
}

export interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface ScatterChart {
  title: string;
  x: Axis;
  y: Axis;
  points: ReadonlyArray<readonly [number, number]>;
  pointLabel: string;
  /** A line y = intercept + slope * x across the x range (a fitted model). */
  line?: { intercept: number; slope: number; label: string };
}

export interface LineChart {
  title: string;
  x: Axis;
  y: Axis;
  series: readonly Series[];
}

const WIDTH = 760;
const HEIGHT = 460;
const MARGIN = { top: 48, right: 24, bottom: 64, left: 76 };
const FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";
export const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(
  min: number,
  max: number,
  count = 6,
): { min: number; max: number; step: number; values: number[] } {
  if (!(max > min)) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const values: number[] = [];
  for (let v = lo, i = 0; v <= hi + step / 2 && i < 100; v += step, i++) values.push(+v.toPrecision(12));
  return { min: lo, max: hi, step, values };
}

function decimals(step: number): number {
  return Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
}

interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  parts: string[];
}

/** Title, axes, grid and tick labels; returns scales for the plot area. */
function frame(title: string, xAxis: Axis, yAxis: Axis, xs: number[], ys: number[]): Frame {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const range = (axis: Axis, values: number[]) => {
    if (axis.ticks !== undefined) {
      const vs = axis.ticks.map((t) => t.value);
      const lo = axis.min ?? Math.min(...vs);
      const hi = axis.max ?? Math.max(...vs);
      return { min: lo, max: hi, ticks: axis.ticks };
    }
    let lo = axis.min ?? Infinity;
    let hi = axis.max ?? -Infinity;
    if (axis.min === undefined) for (const v of values) if (v < lo) lo = v;
    if (axis.max === undefined) for (const v of values) if (v > hi) hi = v;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
    const nice = niceTicks(lo, hi);
    const d = decimals(nice.step);
    return {
      min: axis.min ?? nice.min,
      max: axis.max ?? nice.max,
      ticks: nice.values.map((v) => ({ value: v, label: v.toFixed(d) })),
    };
  };
  const rx = range(xAxis, xs);
  const ry = range(yAxis, ys);
  const span = (r: { min: number; max: number }) => (r.max - r.min === 0 ? 1 : r.max - r.min);
  const x = (v: number) => MARGIN.left + ((v - rx.min) / span(rx)) * plotW;
  const y = (v: number) => MARGIN.top + plotH - ((v - ry.min) / span(ry)) * plotH;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${WIDTH / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold" fill="#222">${escapeXml(title)}</text>`,
  );
  // grid and tick labels
  for (const t of ry.ticks) {
    if (t.value < ry.min - 1e-9 || t.value > ry.max + 1e-9) continue;
    const py = y(t.value).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${py}" x2="${WIDTH - MARGIN.right}" y2="${py}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="#444">${escapeXml(t.label)}</text>`,
    );
  }
  for (const t of rx.ticks) {
    if (t.value < rx.min - 1e-9 || t.value > rx.max + 1e-9) continue;
    const px = x(t.value).toFixed(1);
    parts.push(
      `<line x1="${px}" y1="${MARGIN.top}" x2="${px}" y2="${HEIGHT - MARGIN.bottom}" stroke="#f0f0f0"/>`,
    );
    parts.push(
      `<text x="${px}" y="${HEIGHT - MARGIN.bottom + 20}" text-anchor="middle" fill="#444">${escapeXml(t.label)}</text>`,
    );
  }
  // axes
  parts.push(
    `<line x1="${MARGIN.left}" y1="${HEIGHT - MARGIN.bottom}" x2="${WIDTH - MARGIN.right}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
  );
  parts.push(
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle" font-size="13" fill="#222">${escapeXml(xAxis.label)}</text>`,
  );
  parts.push(
    `<text transform="translate(20 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="#222">${escapeXml(yAxis.label)}</text>`,
  );
  return { x, y, parts };
}

function legend(entries: ReadonlyArray<{ label: string; color: string; kind: "point" | "line" }>): string {
  let x = MARGIN.left + 12;
  const y = MARGIN.top + 14;
  const out: string[] = [];
  for (const e of entries) {
    out.push(
      e.kind === "point"
        ? `<circle cx="${x + 6}" cy="${y}" r="4" fill="${e.color}" fill-opacity="0.6"/>`
        : `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${e.color}" stroke-width="2.5"/>`,
    );
    out.push(
      `<text x="${x + 24}" y="${y}" dominant-baseline="middle" fill="#222">${escapeXml(e.label)}</text>`,
    );
    x += 34 + e.label.length * 7;
  }
  const box = `<rect x="${MARGIN.left + 4}" y="${y - 12}" width="${x - MARGIN.left - 8}" height="24" fill="#ffffff" fill-opacity="0.85" rx="3"/>`;
  return `<g>${box}${out.join("")}</g>`;
}

function svgDocument(title: string, parts: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `font-family="${FONT}" font-size="12" role="img" aria-label="${escapeXml(title)}">` +
    `<title>${escapeXml(title)}</title>${parts.join("")}</svg>`
  );
}

export function scatterSvg(c: ScatterChart): string {
  const xs = c.points.map((p) => p[0]);
  const ys = c.points.map((p) => p[1]);
  const f = frame(c.title, c.x, c.y, xs, ys);
  const dots = c.points
    .map(([px, py]) => `<circle cx="${f.x(px).toFixed(1)}" cy="${f.y(py).toFixed(1)}" r="2.2"/>`)
    .join("");
  f.parts.push(`<g fill="${COLORS[0]}" fill-opacity="0.35">${dots}</g>`);
  const entries: Array<{ label: string; color: string; kind: "point" | "line" }> = [
    { label: c.pointLabel, color: COLORS[0], kind: "point" },
  ];
  if (c.line !== undefined && xs.length > 0) {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    const at = (x: number) => c.line!.intercept + c.line!.slope * x;
    f.parts.push(
      `<line x1="${f.x(lo).toFixed(1)}" y1="${f.y(at(lo)).toFixed(1)}" x2="${f.x(hi).toFixed(1)}" y2="${f.y(at(hi)).toFixed(1)}" ` +
        `stroke="${COLORS[1]}" stroke-width="2.5"/>`,
    );
    entries.push({ label: c.line.label, color: COLORS[1], kind: "line" });
  }
  f.parts.push(legend(entries));
  return svgDocument(c.title, f.parts);
}

export function lineSvg(c: LineChart): string {
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1]));
  const f = frame(c.title, c.x, c.y, xs, ys);
  for (const s of c.series) {
    const d = s.points
      .map(([px, py], i) => `${i === 0 ? "M" : "L"}${f.x(px).toFixed(1)} ${f.y(py).toFixed(1)}`)
      .join(" ");
    f.parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round"/>`,
    );
    f.parts.push(
      `<g fill="${s.color}">${s.points.map(([px, py]) => `<circle cx="${f.x(px).toFixed(1)}" cy="${f.y(py).toFixed(1)}" r="3.5"/>`).join("")}</g>`,
    );
  }
  f.parts.push(legend(c.series.map((s) => ({ label: s.name, color: s.color, kind: "line" as const }))));
  return svgDocument(c.title, f.parts);
}
