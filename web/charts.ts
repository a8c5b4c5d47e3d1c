/**
 * uPlot wrappers: a live time-series chart (the pipeline cards), a live chart of named series (a
 * topic's records) and a chart of a SQL result.
 */
import uPlot from "uplot";
import { h } from "./dom.js";

const AXIS = { stroke: "#555", grid: { stroke: "#eee" }, ticks: { stroke: "#ddd" }, font: "11px system-ui" };

export interface SeriesSpec {
  label: string;
  color: string;
}

/** Short axis numbers: 1200 -> "1.2k". */
export function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return a > 0 && a < 10 ? String(+v.toFixed(2)) : String(Math.round(v));
}

/** Seconds since the epoch as a UTC time of day, "10:34:09" (what the dashboard's times are in). */
export function utcClock(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(11, 19);
}

/** With no cursor on the chart, the legend shows the newest values (not dashes). */
function legendShowsLatest(u: uPlot): void {
  const n = u.data[0].length;
  if (u.cursor.idx == null && n > 0) u.setLegend({ idx: n - 1 }, false);
}

/** Keep a uPlot as wide as its container. */
function fitWidth(plot: uPlot, el: HTMLElement, height: number): ResizeObserver {
  const ro = new ResizeObserver(() => {
    const width = Math.floor(el.clientWidth);
    if (width > 0 && width !== plot.width) plot.setSize({ width, height });
  });
  ro.observe(el);
  return ro;
}

/**
 * A chart of a few series over time, fed one point at a time; keeps the last `windowMs`.
 * Times are ms since the epoch (uPlot draws seconds).
 */
export class TimeChart {
  readonly el: HTMLElement;
  private readonly plot: uPlot;
  private readonly data: number[][];
  private readonly observer: ResizeObserver;

  constructor(
    title: string,
    series: readonly SeriesSpec[],
    private readonly options: {
      unit: (v: number) => string;
      windowMs: number;
      height?: number;
      testid?: string;
    },
  ) {
    const height = options.height ?? 150;
    this.el = h("div", { class: "chart", testid: options.testid }, h("div", { class: "chart-title" }, title));
    const body = h("div", { class: "chart-body" });
    this.el.appendChild(body);
    this.data = [[], ...series.map(() => [])];
    this.plot = new uPlot(
      {
        width: 360,
        height,
        cursor: { drag: { x: false, y: false } },
        legend: { show: true, live: true },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { ...AXIS, space: 70, values: (_u, splits) => splits.map(utcClock) },
          { ...AXIS, size: 48, values: (_u, splits) => splits.map((v) => options.unit(v)) },
        ],
        hooks: { setCursor: [legendShowsLatest] },
        series: [
          { label: "UTC", value: (_u: uPlot, v: number | null) => (v === null ? "–" : utcClock(v)) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            points: { show: false },
            value: (_u: uPlot, v: number | null) => (v === null ? "–" : options.unit(v)),
          })),
        ],
      },
      this.data as uPlot.AlignedData,
      body,
    );
    this.observer = fitWidth(this.plot, body, height);
  }

  /** Replace the data: `points` are `[t, y1, y2, ...]`, ascending in t. */
  load(points: ReadonlyArray<readonly (number | null)[]>): void {
    for (const column of this.data) column.length = 0;
    for (const p of points) this.add(p);
    this.redraw();
  }

  /** Append one point (ignored unless it is newer than the last one) and redraw. */
  push(point: readonly (number | null)[]): void {
    this.add(point);
    this.redraw();
  }

  get lastTime(): number | undefined {
    const xs = this.data[0];
    return xs.length === 0 ? undefined : xs[xs.length - 1] * 1000;
  }

  private add(point: readonly (number | null)[]): void {
    const xs = this.data[0];
    const t = (point[0] as number) / 1000;
    if (xs.length > 0 && t <= xs[xs.length - 1]) return;
    xs.push(t);
    for (let i = 1; i < this.data.length; i++) (this.data[i] as (number | null)[]).push(point[i] ?? null);
    const oldest = t - this.options.windowMs / 1000;
    let drop = 0;
    while (drop < xs.length && xs[drop] < oldest) drop++;
    if (drop > 0) for (const column of this.data) column.splice(0, drop);
  }

  private redraw(): void {
    this.plot.setData(this.data as uPlot.AlignedData);
    legendShowsLatest(this.plot);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot.destroy();
  }
}

export type ColumnKind = "number" | "time" | "other";

/** What a DuckDB column type holds, for charting. */
export function columnKind(type: string): ColumnKind {
  const t = type.toUpperCase();
  if (/^(TIMESTAMP|DATE)/.test(t)) return "time";
  if (/^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|INT\d+|DOUBLE|FLOAT\d*|REAL|DECIMAL|NUMERIC)/.test(t))
    return "number";
  return "other";
}

function toNumber(v: unknown, kind: ColumnKind): number | null {
  if (v === null || v === undefined) return null;
  if (kind === "time") {
    const ms = typeof v === "number" ? v : Date.parse(String(v).replace(" ", "T"));
    return Number.isFinite(ms) ? ms / 1000 : null;
  }
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

const PALETTE = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#d97706",
  "#7c3aed",
  "#0891b2",
  "#db2777",
  "#4b5563",
  "#65a30d",
  "#9333ea",
  "#ea580c",
  "#0d9488",
];

/** The most categories drawn as bars, and series drawn, in a result chart. */
const MAX_BARS = 100;
const MAX_SERIES = 8;

/** Axis steps for integer columns: 1, 2, 5, 10, 20, 50... */
const INTEGER_STEPS = Array.from({ length: 36 }, (_v, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

/** Bars start at zero. */
function barRange(min: number, max: number): uPlot.Range.MinMax {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  return hi === lo ? [lo, lo + 1] : [lo, hi + (hi - lo) * 0.05];
}

/**
 * A chart of a query result: x is the first column when it is a number or a time (a line chart,
 * sorted by x), otherwise the row index labelled with the first column (bars); y is every other
 * numeric column. Returns a reason instead when there is nothing to draw.
 */
export function resultChart(
  columns: ReadonlyArray<{ name: string; type: string }>,
  rows: readonly unknown[][],
): { el: HTMLElement; destroy(): void } | { reason: string } {
  if (rows.length === 0) return { reason: "no rows to chart" };
  const kinds = columns.map((c) => columnKind(c.type));
  const xKind = kinds[0];
  let yIdx = kinds.map((k, i) => (k === "number" && i > 0 ? i : -1)).filter((i) => i >= 0);
  // A lone numeric column is the y of a chart by row; a time column alone has nothing to plot.
  if (yIdx.length === 0 && xKind === "number") yIdx = [0];
  if (yIdx.length === 0) return { reason: "no numeric column to chart" };
  yIdx = yIdx.slice(0, MAX_SERIES);
  const xColumn = (xKind === "number" || xKind === "time") && yIdx[0] !== 0;

  let xs: number[];
  let order = rows.map((_r, i) => i);
  let labels: string[] = [];
  if (xColumn) {
    order = order.filter((i) => toNumber(rows[i][0], xKind) !== null);
    order.sort((a, b) => (toNumber(rows[a][0], xKind) as number) - (toNumber(rows[b][0], xKind) as number));
    xs = order.map((i) => toNumber(rows[i][0], xKind) as number);
  } else {
    order = order.slice(0, MAX_BARS);
    xs = order.map((_i, n) => n);
    labels = order.map((i) => (yIdx[0] === 0 ? `row ${i + 1}` : String(rows[i][0] ?? "null")));
  }
  const bars = labels.length > 0;
  const data = [xs, ...yIdx.map((c) => order.map((i) => toNumber(rows[i][c], "number")))];
  const height = 260;
  const el = h("div", { class: "chart result-chart", testid: "sql-chart" });
  const body = h("div", { class: "chart-body" });
  el.appendChild(body);
  // Each category gets a group of bars, one per series, centred on it: 80% of the category's
  // width, but at most 60 px per bar (in x-scale units, so it follows resizes).
  const barWidth = (u: uPlot) => {
    const unitPx = Math.abs(u.valToPos(1, "x") - u.valToPos(0, "x")) || 1;
    return Math.min(0.8 / yIdx.length, 60 / unitPx);
  };
  const plot = new uPlot(
    {
      width: 600,
      height,
      // Times in UTC, like the rest of the dashboard.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      cursor: { drag: { x: false, y: false } },
      // Bars are read against the table below; lines show the values under the cursor.
      legend: { show: true, live: !bars },
      scales: {
        x: bars
          ? { time: false, auto: false, range: (): uPlot.Range.MinMax => [-0.5, xs.length - 0.5] }
          : { time: xKind === "time" },
        ...(bars ? { y: { range: (_u: uPlot, min: number, max: number) => barRange(min, max) } } : {}),
      },
      axes: [
        bars
          ? {
              ...AXIS,
              splits: () => xs,
              values: (_u, splits) => splits.map((v) => (labels[v] ?? "").slice(0, 16)),
              rotate: labels.length > 12 ? -45 : 0,
              size: labels.length > 12 ? 70 : 30,
              gap: 4,
            }
          : {
              ...AXIS,
              ...(xKind === "number"
                ? {
                    values: (_u: uPlot, s: number[]) => s.map(short),
                    ...(/INT/i.test(columns[0].type) ? { incrs: INTEGER_STEPS } : {}),
                  }
                : {}),
            },
        { ...AXIS, size: 52, values: (_u, splits) => splits.map(short) },
      ],
      series: [
        bars
          ? {
              label: columns[0].name,
              value: (_u: uPlot, v: number | null) => (v === null ? "" : (labels[v] ?? "")),
            }
          : { label: columns[0].name },
        ...yIdx.map((c, n) => ({
          label: columns[c].name,
          stroke: PALETTE[n % PALETTE.length],
          fill: bars ? PALETTE[n % PALETTE.length] + "cc" : undefined,
          width: bars ? 0 : 1.5,
          points: { show: !bars && xs.length < 60 },
          ...(bars
            ? {
                paths: uPlot.paths.bars!({
                  size: [1, Infinity],
                  disp: {
                    x0: {
                      unit: 1,
                      values: (u) => {
                        const w = barWidth(u);
                        return xs.map((x) => x - (w * yIdx.length) / 2 + n * w);
                      },
                    },
                    size: { unit: 1, values: (u) => xs.map(() => barWidth(u)) },
                  },
                }),
              }
            : {}),
        })),
      ],
    },
    data as uPlot.AlignedData,
    body,
  );
  const observer = fitWidth(plot, body, height);
  return {
    el,
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}

const legendNumber = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 });

/** Seconds since the epoch as "2025-11-28 10:34:09" (UTC). */
function utcDateTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/**
 * Time axis labels in UTC, 24 h, as precise as the tick step needs; the date under the first tick
 * and wherever the day changes.
 */
function utcTicks(_u: uPlot, splits: number[], _axis: number, _space: number, step: number): string[] {
  let day = "";
  return splits.map((s) => {
    const iso = new Date(s * 1000).toISOString();
    if (step >= 28 * 86_400) return iso.slice(0, 7);
    if (step >= 86_400) return iso.slice(0, 10);
    const time = step < 1 ? iso.slice(11, 23) : step < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
    const d = iso.slice(0, 10);
    if (d === day) return time;
    day = d;
    return `${time}\n${d}`;
  });
}

/** Wide enough for the longest of an axis' labels (11px digits are about 6.5 px wide). */
function labelWidth(_u: uPlot, values: string[] | null): number {
  const longest = (values ?? []).reduce((n, v) => Math.max(n, v.length), 0);
  return Math.max(40, Math.ceil(longest * 6.5) + 16);
}

/**
 * With no cursor on the chart, the legend shows each series' newest value (the series need not
 * have a value at the newest x).
 */
function legendShowsLatestEach(u: uPlot): void {
  if (u.cursor.idx != null || u.data[0].length === 0) return;
  const idxs: Array<number | null> = [u.data[0].length - 1];
  for (let s = 1; s < u.data.length; s++) {
    const ys = u.data[s];
    let i = ys.length - 1;
    while (i >= 0 && ys[i] == null) i--;
    idxs.push(i < 0 ? null : i);
  }
  u.setLegend({ idxs }, false);
}

/**
 * A line chart of named series over time, its data replaced as a whole on each update (`setData`
 * reuses the same uPlot; a different set of series needs a new chart). x are ms since the epoch,
 * ascending; each series has a value or null for every x (lines span the nulls).
 */
export class SeriesChart {
  readonly el: HTMLElement;
  private readonly plot: uPlot;
  private readonly observer: ResizeObserver;

  constructor(
    readonly labels: readonly string[],
    options: { testid?: string; height?: number } = {},
  ) {
    const height = options.height ?? 260;
    this.el = h("div", { class: "chart series-chart", testid: options.testid });
    const body = h("div", { class: "chart-body" });
    this.el.appendChild(body);
    this.plot = new uPlot(
      {
        width: 600,
        height,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        cursor: { drag: { x: false, y: false } },
        legend: { show: true, live: true },
        scales: {
          // One x (records with the same time) is a minute wide, not years.
          x: { time: true, range: (_u, min, max) => (min === max ? [min - 60, max + 60] : [min, max]) },
        },
        axes: [
          { ...AXIS, space: 80, size: 44, values: utcTicks },
          { ...AXIS, size: labelWidth },
        ],
        hooks: { setCursor: [legendShowsLatestEach] },
        series: [
          { label: "UTC", value: (_u: uPlot, v: number | null) => (v == null ? "–" : utcDateTime(v)) },
          ...labels.map((label, n) => ({
            label,
            stroke: PALETTE[n % PALETTE.length],
            width: 1.5,
            spanGaps: true,
            value: (_u: uPlot, v: number | null) => (v == null ? "–" : legendNumber.format(v)),
          })),
        ],
      },
      [[], ...labels.map(() => [])],
      body,
    );
    this.observer = fitWidth(this.plot, body, height);
  }

  /** Draw `xs` (ms since the epoch, ascending) and one column of values per label. */
  setData(xs: readonly number[], columns: ReadonlyArray<ReadonlyArray<number | null>>): void {
    this.plot.setData([xs.map((x) => x / 1000), ...columns] as uPlot.AlignedData);
    legendShowsLatestEach(this.plot);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot.destroy();
  }
}
