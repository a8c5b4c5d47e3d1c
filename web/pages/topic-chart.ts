/**
 * The chart panel of a topic's page: a numeric field of the latest records over time, one line per
 * value of a string field ("series by"), against the record timestamp or a time field of the value.
 * The fields are found in the records themselves (docs/dashboard.md); the choice can come from the
 * page's URL (`#/topics/bpi_ohlc?y=close&series=currency&x=window_end`).
 */
import type { TopicRecord } from "../api.js";
import { SeriesChart } from "../charts.js";
import { h, replace } from "../dom.js";

/** Records the page fetches while the chart is shown (the API's maximum). */
export const CHART_RECORDS = 500;
/** The most lines drawn: the series with the most points. */
export const MAX_SERIES = 12;

const OPEN_KEY = "weir.topicChart";
/** y by default: the first of these names, then a name containing one of them. */
const PREFERRED_Y = ["close", "price", "rate", "value"];
/** series by default: the first of these names with at most MAX_SERIES values. */
const PREFERRED_SERIES = [
  "currency",
  "symbol",
  "ticker",
  "pair",
  "series",
  "market",
  "region",
  "country",
  "city",
  "category",
  "type",
  "kind",
  "event",
  "name",
];
const ID_LIKE = /(^id$|_id$|[a-z]Id$|^id_)/;
const TIME_LIKE = /(time|timestamp|date|datetime|_at|[a-z]At|^ts|_ts|start|end)$/i;
const NUMERIC_TEXT = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$/;
/** Epoch milliseconds of 2000-01-01 and 2100-01-01: integers in between are times, whatever their name. */
const EPOCH_MS_MIN = 946_684_800_000;
const EPOCH_MS_MAX = 4_102_444_800_000;

/** Which of a value's fields can be drawn and how. */
export interface Fields {
  /** Numbers (or numeric strings): what y can be. In order of first appearance. */
  numeric: string[];
  /** ISO-8601 strings or epoch times: what x can be besides the record timestamp. */
  time: Map<string, TimeUnit>;
  /** Strings, with how many distinct values: what the series can be by. */
  text: Array<{ name: string; distinct: number }>;
  /** Distinct values of each time field. */
  timeDistinct: Map<string, number>;
  /** Distinct record timestamps. */
  timestamps: number;
}

type TimeUnit = "iso" | "ms" | "s";

/** What the user (or the URL) chose; undefined is "the default", "" is "none" (series) or the record timestamp (x). */
export interface ChartChoice {
  y?: string;
  series?: string;
  x?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A number, or a string that is one; null otherwise. */
function toNumber(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" && NUMERIC_TEXT.test(v)) return Number(v);
  return null;
}

/** An ISO-8601 date or date-time in ms; without a zone it is UTC (as the dashboard's times are). */
function isoMs(s: string): number {
  const t = s.trim();
  if (t.length <= 10) return Date.parse(t);
  let iso = t.replace(" ", "T").replace(/\s+/, "");
  if (!/(Z|[+-]\d{2}(:?\d{2})?)$/.test(iso.slice(10))) iso += "Z";
  return Date.parse(iso);
}

function toMs(v: unknown, unit: TimeUnit): number | null {
  let ms: number;
  if (unit === "iso") ms = typeof v === "string" ? isoMs(v) : NaN;
  else {
    const n = toNumber(v);
    ms = n === null ? NaN : unit === "s" ? n * 1000 : n;
  }
  return Number.isFinite(ms) ? ms : null;
}

/** The fields of the records' values (JSON objects; other values are skipped). */
export function inferFields(records: readonly TopicRecord[]): Fields {
  interface Stats {
    present: number;
    numbers: number[];
    isoCount: number;
    iso: Set<string>;
    strings: Set<string>;
    texts: number;
  }
  const stats = new Map<string, Stats>();
  let objects = 0;
  const timestamps = new Set<number>();
  for (const r of records) {
    if (!isObject(r.value)) continue;
    objects++;
    timestamps.add(r.timestamp);
    for (const [name, v] of Object.entries(r.value)) {
      if (v === null || v === undefined) continue;
      let s = stats.get(name);
      if (s === undefined) {
        s = { present: 0, numbers: [], isoCount: 0, iso: new Set(), strings: new Set(), texts: 0 };
        stats.set(name, s);
      }
      s.present++;
      const n = toNumber(v);
      if (n !== null) s.numbers.push(n);
      else if (typeof v === "string") {
        if (ISO_TIME.test(v) && Number.isFinite(isoMs(v))) {
          s.isoCount++;
          s.iso.add(v);
        } else {
          s.texts++;
          s.strings.add(v);
        }
      }
    }
  }
  const fields: Fields = {
    numeric: [],
    time: new Map(),
    text: [],
    timeDistinct: new Map(),
    timestamps: timestamps.size,
  };
  if (objects === 0) return fields;
  for (const [name, s] of stats) {
    if (s.numbers.length === s.present) {
      const unit = epochUnit(name, s.numbers);
      if (unit === undefined) fields.numeric.push(name);
      else {
        fields.time.set(name, unit);
        fields.timeDistinct.set(name, new Set(s.numbers).size);
      }
    } else if (s.isoCount === s.present) {
      fields.time.set(name, "iso");
      fields.timeDistinct.set(name, s.iso.size);
    } else if (s.texts === s.present) fields.text.push({ name, distinct: s.strings.size });
  }
  return fields;
}

/** Whether numbers in a field are epoch times: ms or s for a time-like name, ms in 2000..2100 for any. */
function epochUnit(name: string, xs: readonly number[]): TimeUnit | undefined {
  if (!xs.every(Number.isInteger)) return undefined;
  const within = (lo: number, hi: number) => xs.every((x) => x >= lo && x < hi);
  if (within(EPOCH_MS_MIN, EPOCH_MS_MAX)) return "ms";
  if (TIME_LIKE.test(name)) {
    if (within(1e11, 1e14)) return "ms";
    if (within(1e8, 1e11)) return "s";
  }
  return undefined;
}

/** y by default: close, price, rate or value; else a name containing one; else the first that is not an id. */
export function defaultY(fields: Fields): string | undefined {
  const lower = fields.numeric.map((n) => n.toLowerCase());
  for (const p of PREFERRED_Y) {
    const i = lower.indexOf(p);
    if (i >= 0) return fields.numeric[i];
  }
  for (const p of PREFERRED_Y) {
    const i = lower.findIndex((n) => n.includes(p));
    if (i >= 0) return fields.numeric[i];
  }
  return fields.numeric.find((n) => !ID_LIKE.test(n)) ?? fields.numeric[0];
}

/** series by default: a preferred name (currency...) or else any string field with 2..12 values; "" for none. */
export function defaultSeries(fields: Fields, records: number): string {
  for (const p of PREFERRED_SERIES) {
    const f = fields.text.find((t) => t.name.toLowerCase() === p);
    if (f !== undefined && f.distinct <= MAX_SERIES) return f.name;
  }
  const f = fields.text.find((t) => t.distinct >= 2 && t.distinct <= MAX_SERIES && t.distinct < records);
  return f?.name ?? "";
}

/**
 * x by default: the record timestamp, unless every record has the same one (a batch written at
 * once) and a time field tells them apart.
 */
export function defaultX(fields: Fields): string {
  if (fields.timestamps !== 1) return "";
  for (const [name, distinct] of fields.timeDistinct) if (distinct > 1) return name;
  return "";
}

/** The points to draw: x ascending (ms), one column per series label. */
export interface ChartData {
  labels: string[];
  xs: number[];
  columns: Array<Array<number | null>>;
  /** Series found (more than `labels` when over MAX_SERIES). */
  seriesFound: number;
  points: number;
}

/**
 * One line per value of `series` (or one line named `y` when `series` is ""): the newest record
 * wins when a series has two at the same x.
 */
export function chartData(
  records: readonly TopicRecord[],
  y: string,
  series: string,
  x: { field: string; unit: TimeUnit } | null,
): ChartData {
  const groups = new Map<string, Map<number, number>>();
  for (const r of records) {
    if (!isObject(r.value)) continue;
    const yv = toNumber(r.value[y]);
    if (yv === null) continue;
    const xv = x === null ? r.timestamp : toMs(r.value[x.field], x.unit);
    if (xv === null) continue;
    const sv = series === "" ? y : r.value[series];
    const label = typeof sv === "string" ? sv : JSON.stringify(sv ?? null);
    let g = groups.get(label);
    if (g === undefined) groups.set(label, (g = new Map()));
    if (!g.has(xv)) g.set(xv, yv);
  }
  const labels = [...groups.keys()]
    .sort((a, b) => groups.get(b)!.size - groups.get(a)!.size || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_SERIES)
    .sort();
  const xSet = new Set<number>();
  for (const l of labels) for (const xv of groups.get(l)!.keys()) xSet.add(xv);
  const xs = [...xSet].sort((a, b) => a - b);
  const at = new Map(xs.map((xv, i) => [xv, i]));
  let points = 0;
  const columns = labels.map((l) => {
    const column = new Array<number | null>(xs.length).fill(null);
    for (const [xv, yv] of groups.get(l)!) {
      column[at.get(xv)!] = yv;
      points++;
    }
    return column;
  });
  return { labels, xs, columns, seriesFound: groups.size, points };
}

function option(value: string, text: string, selected: boolean): HTMLOptionElement {
  const o = h("option", { attrs: { value } }, text);
  o.selected = selected;
  return o;
}

/**
 * The panel: a collapsible box with the three selects and the chart, or a one-line note when the
 * records have nothing to draw. `update` is called with each answer of the records request.
 */
export class TopicChart {
  readonly el: HTMLElement;
  private readonly panel: HTMLDetailsElement;
  private readonly note: HTMLElement;
  private readonly ySelect: HTMLSelectElement;
  private readonly seriesSelect: HTMLSelectElement;
  private readonly xSelect: HTMLSelectElement;
  private readonly status: HTMLElement;
  private readonly holder: HTMLElement;
  private chart: SeriesChart | undefined;
  private records: readonly TopicRecord[] = [];
  private signature = "";
  private fieldsShown = "";
  private drawn = "";
  private chartable = true;

  constructor(
    private readonly choice: ChartChoice,
    private readonly events: { onChoice(choice: ChartChoice): void; onToggle(): void },
  ) {
    this.ySelect = h("select", { testid: "chart-y", attrs: { "aria-label": "field to plot" } });
    this.seriesSelect = h("select", { testid: "chart-series", attrs: { "aria-label": "series by" } });
    this.xSelect = h("select", { testid: "chart-x", attrs: { "aria-label": "x axis" } });
    this.status = h("span", { class: "muted small", testid: "chart-status" });
    this.holder = h("div", { class: "chart-holder" });
    this.panel = h(
      "details",
      { class: "chart-panel", testid: "topic-chart-panel", attrs: { hidden: true } },
      h("summary", null, "Chart"),
      h(
        "div",
        { class: "toolbar" },
        h("label", null, "plot ", this.ySelect),
        h("label", null, "series by ", this.seriesSelect),
        h("label", null, "x ", this.xSelect),
        this.status,
      ),
      this.holder,
    );
    const hasChoice = choice.y !== undefined || choice.series !== undefined || choice.x !== undefined;
    this.panel.open = hasChoice || localStorage.getItem(OPEN_KEY) !== "closed";
    this.note = h(
      "p",
      { class: "muted small chart-note", testid: "chart-note", attrs: { hidden: true } },
      "chart: no numeric fields to chart",
    );
    this.el = h("div", null, this.panel, this.note);

    const chosen = (key: keyof ChartChoice, select: HTMLSelectElement) => () => {
      this.choice[key] = select.value;
      this.events.onChoice({ ...this.choice });
      this.render();
    };
    this.ySelect.addEventListener("change", chosen("y", this.ySelect));
    this.seriesSelect.addEventListener("change", chosen("series", this.seriesSelect));
    this.xSelect.addEventListener("change", chosen("x", this.xSelect));
    // The toggle event also comes (later) for setting `open` above: only the user's count.
    let open = this.panel.open;
    this.panel.addEventListener("toggle", () => {
      if (this.panel.open === open) return;
      open = this.panel.open;
      localStorage.setItem(OPEN_KEY, open ? "open" : "closed");
      if (this.panel.open) this.render();
      this.events.onToggle();
    });
  }

  /** Whether the page should fetch CHART_RECORDS records (the chart is open and has something to draw). */
  get wanted(): boolean {
    return this.panel.open && this.chartable;
  }

  /** The latest records (newest first); `signature` changes when they do. */
  update(records: readonly TopicRecord[], signature: string): void {
    if (signature === this.signature) return;
    this.signature = signature;
    this.records = records;
    this.render();
  }

  private render(): void {
    const records = this.records;
    const fields = inferFields(records);
    this.chartable = records.length === 0 || fields.numeric.length > 0;
    this.panel.hidden = records.length === 0 || fields.numeric.length === 0;
    this.note.hidden = this.chartable;
    if (this.panel.hidden) {
      this.dropChart();
      this.drawn = "";
      return;
    }
    // What is drawn: the choice if the records have it, else the default.
    const y =
      this.choice.y !== undefined && fields.numeric.includes(this.choice.y)
        ? this.choice.y
        : defaultY(fields)!;
    const texts = fields.text.map((t) => t.name);
    const series =
      this.choice.series !== undefined && (this.choice.series === "" || texts.includes(this.choice.series))
        ? this.choice.series
        : defaultSeries(fields, records.length);
    const x =
      this.choice.x !== undefined && fields.time.has(this.choice.x) ? this.choice.x : defaultX(fields);
    this.fillSelects(fields, y, series, x);
    if (!this.panel.open) return;

    const key = [this.signature, y, series, x].join("\n");
    if (key === this.drawn) return;
    this.drawn = key;
    const data = chartData(records, y, series, x === "" ? null : { field: x, unit: fields.time.get(x)! });
    if (data.points === 0) {
      this.dropChart();
      this.status.textContent = `no record has both ${y} and ${x === "" ? "a timestamp" : x}`;
      return;
    }
    const same =
      this.chart !== undefined &&
      this.chart.labels.length === data.labels.length &&
      this.chart.labels.every((l, i) => l === data.labels[i]);
    if (!same) {
      this.dropChart();
      this.chart = new SeriesChart(data.labels, { testid: "topic-chart" });
      replace(this.holder, this.chart.el);
    }
    this.chart!.setData(data.xs, data.columns);
    const shown =
      data.seriesFound > data.labels.length ? `${data.labels.length} of ${data.seriesFound} series` : "";
    this.status.textContent =
      `${data.points} point${data.points === 1 ? "" : "s"} from the latest ${records.length} records` +
      (shown === "" ? "" : `, ${shown} (the ones with the most points)`);
  }

  /** Refill the selects only when the fields (or the choice) changed, so an open select stays open. */
  private fillSelects(fields: Fields, y: string, series: string, x: string): void {
    const texts = fields.text.map((t) => [t.name, Math.min(t.distinct, MAX_SERIES + 1)]);
    const signature = JSON.stringify([fields.numeric, texts, [...fields.time.keys()], y, series, x]);
    if (signature === this.fieldsShown) return;
    this.fieldsShown = signature;
    replace(
      this.ySelect,
      fields.numeric.map((n) => option(n, n, n === y)),
    );
    replace(
      this.seriesSelect,
      option("", "none", series === ""),
      fields.text.map((t) =>
        option(
          t.name,
          `${t.name} (${t.distinct > MAX_SERIES ? `${MAX_SERIES}+` : t.distinct})`,
          t.name === series,
        ),
      ),
    );
    replace(
      this.xSelect,
      option("", "record timestamp", x === ""),
      [...fields.time.keys()].map((n) => option(n, n, n === x)),
    );
  }

  private dropChart(): void {
    this.chart?.destroy();
    this.chart = undefined;
    this.holder.textContent = "";
    this.status.textContent = "";
  }

  destroy(): void {
    this.dropChart();
  }
}

/** The page's URL for a topic and a chart choice (the defaults left out). */
export function chartHash(topic: string, choice: ChartChoice): string {
  const params = new URLSearchParams();
  if (choice.y !== undefined) params.set("y", choice.y);
  if (choice.series !== undefined) params.set("series", choice.series);
  if (choice.x !== undefined && choice.x !== "") params.set("x", choice.x);
  const query = params.toString();
  return `#/topics/${encodeURIComponent(topic)}${query === "" ? "" : `?${query}`}`;
}
