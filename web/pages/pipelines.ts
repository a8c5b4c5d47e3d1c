/**
 * #/pipelines: one card per pipeline with its state, counters, rates, latency, watermark, state
 * size and lags, three live charts (history loaded once, then a point a second from the
 * server-sent events) and the per-step table, with each step's rates worked out here from
 * consecutive snapshots.
 */
import {
  api,
  errorText,
  seg,
  subscribePipelines,
  type HistorySample,
  type Overview,
  type PipelineDetail,
  type PipelineEntry,
  type PipelineMetricsSnapshot,
} from "../api.js";
import { short, TimeChart } from "../charts.js";
import { empty, h, numCell, replace, setStatus, table } from "../dom.js";
import * as fmt from "../format.js";

/** Chart numbers: "0", "2.5", "120", "1.2k". */
const axisNumber = (v: number) => (v === 0 ? "0" : short(v));

/** How much history the charts keep (the server keeps 10 minutes). */
const WINDOW_MS = 10 * 60_000;

export function pipelinesPage(root: HTMLElement): () => void {
  const status = h("p", { class: "muted" }, "loading…");
  const list = h("div", { class: "cards", testid: "pipelines" });
  replace(root, h("h1", null, "Pipelines"), status, list);

  const cards = new Map<string, PipelineCard>();
  /** Server time minus page time, so that live points line up with the server's history. */
  let clockOffset = 0;
  let closed = false;

  const render = (entries: PipelineEntry[]) => {
    if (closed) return;
    status.remove();
    const seen = new Set<string>();
    for (const e of entries) {
      seen.add(e.pipeline);
      let card = cards.get(e.pipeline);
      if (card === undefined) {
        card = new PipelineCard(e, () => Date.now() + clockOffset);
        cards.set(e.pipeline, card);
        list.appendChild(card.el);
        card.mountCharts();
        void card.loadHistory();
      } else {
        card.update(e);
      }
    }
    for (const [name, card] of cards) {
      if (seen.has(name)) continue;
      card.destroy();
      cards.delete(name);
    }
    const hint = list.querySelector(":scope > .empty");
    if (cards.size === 0 && hint === null) {
      list.appendChild(
        empty(
          "No pipeline has run with this data directory: start one with ",
          h("code", null, "weir run nobroker"),
          " or ",
          h("code", null, "weir demo"),
          ".",
        ),
      );
    } else if (cards.size > 0) hint?.remove();
  };

  void (async () => {
    try {
      const overview = await api<Overview>("/api/overview");
      clockOffset = overview.now - Date.now();
    } catch {
      // the page time is good enough
    }
    try {
      render(await api<PipelineEntry[]>("/api/pipelines"));
    } catch (err) {
      // The event stream below retries and fills the page when the server answers.
      if (!closed) setStatus(status, errorText(err), true);
    }
  })();
  const unsubscribe = subscribePipelines(render);

  return () => {
    closed = true;
    unsubscribe();
    for (const card of cards.values()) card.destroy();
    cards.clear();
  };
}

interface Stat {
  label: string;
  testid: string;
  value(m: PipelineMetricsSnapshot, now: number): string;
  /** The raw number (a `data-value` for tests and copy-paste). */
  raw?(m: PipelineMetricsSnapshot): number | null;
  title?: string;
}

/** A number field of the snapshot (`recordsIn`, `watermarkLagMs`, …). */
type NumberField = {
  [K in keyof PipelineMetricsSnapshot]: PipelineMetricsSnapshot[K] extends number | null ? K : never;
}[keyof PipelineMetricsSnapshot];

/** A stat that shows one number field, formatted, with the number itself as its raw value. */
const shows = (field: NumberField, format: (n: number | null) => string): Pick<Stat, "value" | "raw"> => ({
  value: (m) => format(m[field]),
  raw: (m) => m[field],
});

const STATS: Stat[] = [
  { label: "records in", testid: "records-in", ...shows("recordsIn", fmt.count) },
  { label: "records out", testid: "records-out", ...shows("recordsOut", fmt.count) },
  {
    label: "input rate",
    testid: "input-rate",
    ...shows("inputRatePerSec", fmt.rate),
    title: "records read per second (last seconds)",
  },
  {
    label: "output rate",
    testid: "output-rate",
    ...shows("outputRatePerSec", fmt.rate),
    title: "records written per second: outputs, dead letters and late records",
  },
  {
    label: "latency p50 / p99",
    testid: "latency",
    value: (m) =>
      m.latencyMs.count > 0 ? `${fmt.millis(m.latencyMs.p50)} / ${fmt.millis(m.latencyMs.p99)}` : "–",
    title: "event -> output: from the input record's append until the outputs it caused are written",
  },
  {
    label: "watermark",
    testid: "watermark",
    value: (m, now) => (m.watermark === null ? "–" : `${fmt.watermark(m.watermark, now)} UTC`),
    title: "event time up to which the pipeline has seen everything",
  },
  {
    label: "watermark lag",
    testid: "watermark-lag",
    ...shows("watermarkLagMs", fmt.duration),
    title: "wall time minus the watermark",
  },
  {
    label: "keyed state",
    testid: "state-size",
    ...shows("stateSize", fmt.count),
    title: "entries in the pipeline's keyed state",
  },
  {
    label: "input lag",
    testid: "input-lag",
    value: (m) => (m.inputLag === null ? "–" : `${fmt.count(m.inputLag)} records`),
    raw: (m) => m.inputLag,
    title: "records in the input topics not read yet (consumer lag)",
  },
  { label: "dead letters", testid: "dead-letters", ...shows("deadLetters", fmt.count) },
  { label: "late records", testid: "late-records", ...shows("lateRecords", fmt.count) },
  {
    label: "checkpoints",
    testid: "checkpoints",
    value: (m, now) =>
      m.lastCheckpointAt === null
        ? fmt.count(m.checkpoints)
        : `${fmt.count(m.checkpoints)} (last ${fmt.ago(Date.parse(m.lastCheckpointAt), now)})`,
    raw: (m) => m.checkpoints,
  },
];

/** The point a chart gets from a history sample or a live snapshot. */
function points(s: {
  t: number;
  inputRatePerSec: number;
  outputRatePerSec: number;
  p50: number | null;
  p99: number | null;
  watermarkLagMs: number | null;
}): { rates: (number | null)[]; latency: (number | null)[]; lag: (number | null)[] } {
  return {
    rates: [s.t, s.inputRatePerSec, s.outputRatePerSec],
    latency: [s.t, s.p50, s.p99],
    lag: [s.t, s.watermarkLagMs === null ? null : s.watermarkLagMs / 1000],
  };
}

/** How far back the per-step rates look: long enough that one-second snapshots do not flicker. */
const STEP_RATE_WINDOW_MS = 5000;

interface StepCounts {
  /** The snapshot's `updatedAt`. */
  t: number;
  /** recordsIn and recordsOut by step id. */
  counts: Map<string, { in: number; out: number }>;
}

/**
 * Each step's records per second in and out, from the counters of consecutive snapshots: the
 * change since the newest snapshot at least STEP_RATE_WINDOW_MS older than the latest (the oldest
 * one, early on), over the change in their `updatedAt`. Nothing while the pipeline is not running,
 * until two snapshots have come, or for a step the older snapshot lacks.
 */
class StepRates {
  private samples: StepCounts[] = [];
  /** The run the samples are of: its startedAt and the pids of its running instances. */
  private run = "";

  add(e: PipelineEntry): void {
    const m = e.metrics;
    if (e.state !== "running" || m === null) {
      this.samples = [];
      return;
    }
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && e.updatedAt <= last.t) return; // the same status again
    const counts = new Map(m.steps.map((s) => [s.id, { in: s.recordsIn, out: s.recordsOut }]));
    // Another run (a restart, or on Kafka another process) counts from zero again; the counts of
    // several running processes (a pipeline shared on Kafka) are summed: they jump when one comes
    // or goes (the order of instances changes with their updatedAt: pids sorted).
    const pids = e.instances.filter((i) => i.state === "running").map((i) => i.pid);
    const run = `${m.startedAt} ${pids.sort((a, b) => a - b).join(",")}`;
    if (run !== this.run) this.samples = [];
    this.run = run;
    this.samples.push({ t: e.updatedAt, counts });
    while (this.samples.length > 2 && this.samples[1].t <= e.updatedAt - STEP_RATE_WINDOW_MS)
      this.samples.shift();
  }

  /** Step `id`'s rates, records/s, or undefined when there are none to show. */
  of(id: string): { in: number; out: number } | undefined {
    if (this.samples.length < 2) return undefined;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const a = first.counts.get(id);
    const b = last.counts.get(id);
    if (a === undefined || b === undefined) return undefined;
    const seconds = (last.t - first.t) / 1000;
    return { in: (b.in - a.in) / seconds, out: (b.out - a.out) / seconds };
  }
}

/** A records/s cell: the number, and `data-value` for tests and copy-paste ("–" when unknown). */
function rateCell(perSecond: number | undefined, testid: string): HTMLTableCellElement {
  const td = numCell(fmt.perSecond(perSecond), { testid });
  if (perSecond !== undefined) td.dataset.value = String(perSecond);
  return td;
}

class PipelineCard {
  readonly el: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly values = new Map<string, HTMLElement>();
  private readonly steps: HTMLElement;
  private readonly writes: HTMLElement;
  private readonly chartsEl: HTMLElement;
  private charts: { rates: TimeChart; latency: TimeChart; lag: TimeChart } | undefined;
  /** Live points wait until the history is drawn. */
  private historyLoaded = false;
  private lastUpdatedAt = 0;
  private entry: PipelineEntry;
  private readonly stepRates = new StepRates();

  constructor(
    entry: PipelineEntry,
    private readonly now: () => number,
  ) {
    this.entry = entry;
    this.badge = h("span", { class: "badge", testid: "pipeline-state" });
    this.meta = h("span", { class: "muted meta" });
    const stats = h(
      "dl",
      { class: "stats" },
      STATS.map((s) => {
        const dd = h("dd", { testid: s.testid }, "–");
        this.values.set(s.testid, dd);
        return h("div", { title: s.title }, h("dt", null, s.label), dd);
      }),
    );
    this.chartsEl = h("div", { class: "charts" });
    this.steps = h("div", { class: "steps" });
    this.writes = h("p", { class: "writes muted" });
    this.el = h(
      "section",
      { class: "card", testid: "pipeline-card", attrs: { "data-pipeline": entry.pipeline } },
      h("header", null, h("h2", null, entry.pipeline), this.badge, this.meta),
      stats,
      this.chartsEl,
      h("details", { class: "steps-box", attrs: { open: true } }, h("summary", null, "Steps"), this.steps),
      this.writes,
    );
    this.update(entry);
  }

  /** Create the charts (once the card is in the page, so they know their width). */
  mountCharts(): void {
    this.charts = {
      rates: new TimeChart(
        "input vs output rate (records/s)",
        [
          { label: "in", color: "#2563eb" },
          { label: "out", color: "#16a34a" },
        ],
        { unit: axisNumber, windowMs: WINDOW_MS, testid: "chart-rates" },
      ),
      latency: new TimeChart(
        "latency (ms)",
        [
          { label: "p50", color: "#7c3aed" },
          { label: "p99", color: "#dc2626" },
        ],
        { unit: axisNumber, windowMs: WINDOW_MS, testid: "chart-latency" },
      ),
      lag: new TimeChart("watermark lag (s)", [{ label: "lag", color: "#d97706" }], {
        unit: axisNumber,
        windowMs: WINDOW_MS,
        testid: "chart-lag",
      }),
    };
    this.chartsEl.append(this.charts.rates.el, this.charts.latency.el, this.charts.lag.el);
  }

  /** Draw the server's history once; the live points follow it. */
  async loadHistory(): Promise<void> {
    let history: HistorySample[] = [];
    for (let attempt = 0; attempt < 3 && !this.destroyed; attempt++) {
      try {
        history = (await api<PipelineDetail>(`/api/pipelines/${seg(this.entry.pipeline)}`)).history ?? [];
        break;
      } catch (err) {
        this.meta.title = `history: ${errorText(err)}`;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (this.destroyed || this.charts === undefined) return;
    const all = history.map(points);
    this.charts.rates.load(all.map((p) => p.rates));
    this.charts.latency.load(all.map((p) => p.latency));
    this.charts.lag.load(all.map((p) => p.lag));
    this.historyLoaded = true;
    this.lastUpdatedAt = this.entry.updatedAt;
  }

  private destroyed = false;

  update(e: PipelineEntry): void {
    this.entry = e;
    this.el.dataset.state = e.state;
    this.badge.className = `badge state-${e.state}`;
    this.badge.textContent = e.state;
    const now = this.now();
    const instances = e.instances
      .map((i) => `${i.state === "standby" ? "standby " : ""}pid ${i.pid} on ${i.host}`)
      .join(", ");
    this.meta.textContent = `${e.engine} · ${instances || "no process"} · updated ${fmt.ago(e.updatedAt, now)}`;
    const m = e.metrics;
    if (m) {
      for (const s of STATS) {
        const dd = this.values.get(s.testid)!;
        dd.textContent = s.value(m, now);
        if (s.testid === "watermark") dd.title = m.watermark === null ? "" : fmt.time(m.watermark);
        const raw = s.raw?.(m);
        if (raw !== undefined && raw !== null) dd.dataset.value = String(raw);
      }
    }
    this.stepRates.add(e);
    this.renderSteps(e);
    this.renderWrites(e);
    // A new status (the pipeline wrote one since the last event) is a new point on the charts.
    if (m && this.charts && this.historyLoaded && e.updatedAt > this.lastUpdatedAt) {
      this.lastUpdatedAt = e.updatedAt;
      const p = points({
        t: now,
        inputRatePerSec: m.inputRatePerSec,
        outputRatePerSec: m.outputRatePerSec,
        p50: m.latencyMs.count > 0 ? m.latencyMs.p50 : null,
        p99: m.latencyMs.count > 0 ? m.latencyMs.p99 : null,
        watermarkLagMs: m.watermarkLagMs,
      });
      this.charts.rates.push(p.rates);
      this.charts.latency.push(p.latency);
      this.charts.lag.push(p.lag);
    }
  }

  private renderSteps(e: PipelineEntry): void {
    const details = new Map((e.graph?.steps ?? []).map((s) => [s.id, s]));
    const steps = e.metrics?.steps ?? [];
    if (steps.length === 0) {
      replace(this.steps, empty("no step metrics yet"));
      return;
    }
    const rows = steps.map((s) => {
      const d = details.get(s.id);
      const rates = this.stepRates.of(s.id);
      return h(
        "tr",
        { testid: "step-row", title: d ? `${d.detail}${d.input ? ` (from ${d.input})` : ""}` : undefined },
        h("td", null, s.id),
        h("td", { class: "muted" }, s.kind),
        numCell(fmt.count(s.recordsIn)),
        numCell(fmt.count(s.recordsOut)),
        rateCell(rates?.in, "step-in-rate"),
        rateCell(rates?.out, "step-out-rate"),
        numCell(fmt.count(s.deadLetters), { class: s.deadLetters > 0 ? "warn" : "" }),
        numCell(fmt.count(s.lateRecords), { class: s.lateRecords > 0 ? "warn" : "" }),
        numCell(s.stateSize === undefined ? "" : fmt.count(s.stateSize)),
      );
    });
    replace(
      this.steps,
      table(
        [
          "step",
          "kind",
          { label: "in", num: true },
          { label: "out", num: true },
          { label: "in/s", num: true, title: "records into the step per second (last 5 s)" },
          { label: "out/s", num: true, title: "records out of the step per second (last 5 s)" },
          { label: "dead letters", num: true },
          { label: "late", num: true },
          { label: "state size", num: true },
        ],
        rows,
        { testid: "steps-table" },
      ),
    );
  }

  private writesKey = "";

  private renderWrites(e: PipelineEntry): void {
    const g = e.graph;
    const key = g ? JSON.stringify([g.outputs, g.tables, g.datasets]) : "";
    if (key === this.writesKey) return;
    this.writesKey = key;
    if (!g) {
      replace(this.writes);
      return;
    }
    const links = (names: string[], route: string) =>
      names.flatMap((n, i) => [i > 0 ? ", " : "", h("a", { attrs: { href: `#/${route}/${seg(n)}` } }, n)]);
    replace(
      this.writes,
      "writes topics ",
      links(g.outputs, "topics"),
      g.tables.length > 0 ? ["; tables ", links(g.tables, "tables")] : null,
      g.datasets.length > 0 ? `; lake datasets ${g.datasets.join(", ")}` : null,
    );
  }

  destroy(): void {
    this.destroyed = true;
    this.charts?.rates.destroy();
    this.charts?.latency.destroy();
    this.charts?.lag.destroy();
    this.el.remove();
  }
}
