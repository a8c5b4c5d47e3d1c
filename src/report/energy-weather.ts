/**
 * `weir report energy-weather` (shared/seeds/001, the analysis notebook): from lake dataset
 * `energy_weather` (what the energy-weather pipeline lands), with DuckDB:
 *
 * - a scatter of energy use against temperature, with the fitted regression line;
 * - the weekly pattern (average kWh per reading by weekday) and the daily one (by hour of day,
 *   weekdays and weekends);
 * - a linear regression kwh ~ temperature_c, trained on a reproducible 70% of the rows and tested on
 *   the other 30%: intercept, slope, R² and RMSE on the test rows.
 *
 * Written to `outDir`: `energy-weather.html` (self-contained: inline SVG charts and CSS, no
 * external resources), one PNG per chart, and `energy-weather.json` (the numbers).
 *
 * The split: row (household_id, ts) is a training row when
 * `isTrainRow(energyWeatherRowId(household_id, epoch ms of ts), seed)` (src/report/regression.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WeirError } from "../errors.js";
import { formatTimestamp } from "../schema/index.js";
import { quoteIdent } from "../sinks/lake/columns.js";
import type { Warehouse } from "../warehouse/index.js";
import { loadPngRenderer } from "./png.js";
import { fitLine, isTrainRow, score } from "./regression.js";
import { COLORS, escapeXml, lineSvg, scatterSvg } from "./svg.js";

export const ENERGY_WEATHER_DATASET = "energy_weather";
export const TRAIN_SHARE = 0.7;
/** Points drawn in the scatter at most (a deterministic sample of the rows); the fit uses them all. */
export const SCATTER_MAX_POINTS = 4000;
const PNG_WIDTH = 1520;

export interface EnergyWeatherReportOptions {
  dataDir: string;
  /** Where the files go (created if missing). */
  outDir: string;
  /** Seed of the train/test split (default 1). */
  seed?: number;
  /** Render PNGs (default true); skipped with a note when the renderer is not available. */
  png?: boolean;
  /** The lake dataset to read (default energy_weather). */
  dataset?: string;
}

export interface WeekdayPoint {
  /** ISO day of week: 1 = Monday .. 7 = Sunday. */
  dow: number;
  day: string;
  kwh: number;
  rows: number;
}

export interface HourPoint {
  hour: number;
  weekday: number | null;
  weekend: number | null;
}

export interface EnergyWeatherReport {
  dataset: string;
  rows: number;
  households: number;
  /** First and last reading, ISO-8601 UTC. */
  from: string;
  to: string;
  regression: {
    seed: number;
    trainShare: number;
    trainRows: number;
    testRows: number;
    intercept: number;
    slope: number;
    /** On the test rows. */
    r2: number;
    rmse: number;
    /** On the training rows (for comparison). */
    trainR2: number;
    trainRmse: number;
    split: string;
  };
  weekly: WeekdayPoint[];
  daily: HourPoint[];
  /** Files written, absolute paths. */
  files: string[];
  /** Why no PNGs were written, when they were not. */
  pngSkipped?: string;
}

const DAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** The id of a row for the train/test split: "<household_id>:<epoch ms of ts>". */
export function energyWeatherRowId(householdId: number, tsMs: number): string {
  return `${householdId}:${tsMs}`;
}

async function rowsOf(wh: Warehouse, sql: string): Promise<Record<string, unknown>[]> {
  return (await wh.run(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

export async function buildEnergyWeatherReport(
  options: EnergyWeatherReportOptions,
): Promise<EnergyWeatherReport> {
  const seed = options.seed ?? 1;
  const dataset = options.dataset ?? ENERGY_WEATHER_DATASET;
  const { openWarehouse } = await import("../warehouse/index.js");
  const wh = await openWarehouse(options.dataDir, { tables: "lazy" });
  let data: Awaited<ReturnType<typeof query>>;
  try {
    if (!wh.datasets.some((d) => d.name === dataset))
      throw new WeirError(
        "USAGE",
        `no lake dataset ${dataset} in ${options.dataDir}: land it first, e.g. \`weir generate energy-weather -o data\` ` +
          "then `weir run energy-weather --input data`",
      );
    data = await query(wh, quoteIdent(dataset));
  } finally {
    wh.close();
  }
  const { t, household, kwh, temp } = data.columns;
  const n = t.length;
  if (n < 4)
    throw new WeirError(
      "USAGE",
      `lake dataset ${dataset} has ${n} row(s) with a temperature: too few for a regression`,
    );

  // The split, then the fit on the training rows and its score on the test rows.
  const train = { x: [] as number[], y: [] as number[] };
  const test = { x: [] as number[], y: [] as number[] };
  for (let i = 0; i < n; i++) {
    const side = isTrainRow(energyWeatherRowId(household[i], t[i]), seed, TRAIN_SHARE) ? train : test;
    side.x.push(temp[i]);
    side.y.push(kwh[i]);
  }
  if (train.x.length < 2 || test.x.length < 1)
    throw new WeirError("USAGE", `lake dataset ${dataset} has too few rows for a 70/30 split (${n})`);
  const fit = fitLine(train.x, train.y);
  const onTest = score(fit, test.x, test.y);
  const onTrain = score(fit, train.x, train.y);

  const report: EnergyWeatherReport = {
    dataset,
    rows: n,
    households: new Set(household).size,
    from: formatTimestamp(t[0]),
    to: formatTimestamp(t[n - 1]),
    regression: {
      seed,
      trainShare: TRAIN_SHARE,
      trainRows: train.x.length,
      testRows: test.x.length,
      intercept: fit.intercept,
      slope: fit.slope,
      r2: onTest.r2,
      rmse: onTest.rmse,
      trainR2: onTrain.r2,
      trainRmse: onTrain.rmse,
      split:
        "row (household_id, ts) is a training row when splitHash(`${seed}:${household_id}:${epoch ms of ts}`) / 2^32 < 0.7 " +
        "(src/report/regression.ts: FNV-1a 32-bit, then murmur3's finalizer)",
    },
    weekly: data.weekly,
    daily: data.daily,
    files: [],
  };

  // Charts.
  const sample: Array<[number, number]> = [];
  const keep = Math.min(1, SCATTER_MAX_POINTS / n);
  for (let i = 0; i < n; i++)
    if (keep === 1 || isTrainRow(`scatter:${energyWeatherRowId(household[i], t[i])}`, seed, keep))
      sample.push([temp[i], kwh[i]]);
  const charts = {
    "energy-vs-temperature": scatterSvg({
      title: "Energy use vs temperature",
      x: { label: "temperature (°C)" },
      y: { label: "energy per reading (kWh / 15 min)", min: 0 },
      points: sample,
      pointLabel:
        sample.length < n
          ? `readings (${sample.length.toLocaleString("en-US")} of ${n.toLocaleString("en-US")} drawn)`
          : "readings",
      line: {
        intercept: fit.intercept,
        slope: fit.slope,
        label: `fit: kWh = ${fit.intercept.toFixed(4)} ${fit.slope < 0 ? "-" : "+"} ${Math.abs(fit.slope).toFixed(4)} × °C`,
      },
    }),
    "energy-by-weekday": lineSvg({
      title: "Weekly energy use (average by weekday)",
      x: {
        label: "day of week",
        min: 0.7,
        max: 7.3,
        ticks: DAYS.slice(1).map((d, i) => ({ value: i + 1, label: d })),
      },
      y: { label: "average kWh per reading", min: 0 },
      series: [
        { name: "all households", color: COLORS[0], points: data.weekly.map((w) => [w.dow, w.kwh] as const) },
      ],
    }),
    "energy-by-hour": lineSvg({
      title: "Daily energy use (average by hour of day, UTC)",
      x: {
        label: "hour of day",
        min: -0.5,
        max: 23.5,
        ticks: Array.from({ length: 12 }, (_, i) => ({
          value: 2 * i,
          label: String(2 * i).padStart(2, "0"),
        })),
      },
      y: { label: "average kWh per reading", min: 0 },
      series: [
        {
          name: "weekdays",
          color: COLORS[0],
          points: data.daily.flatMap((h) => (h.weekday === null ? [] : [[h.hour, h.weekday] as const])),
        },
        {
          name: "weekends",
          color: COLORS[3],
          points: data.daily.flatMap((h) => (h.weekend === null ? [] : [[h.hour, h.weekend] as const])),
        },
      ],
    }),
  };

  mkdirSync(options.outDir, { recursive: true });
  const html = join(options.outDir, "energy-weather.html");
  writeFileSync(html, page(report, charts));
  report.files.push(html);
  if (options.png !== false) {
    const renderer = await loadPngRenderer();
    if ("unavailable" in renderer) report.pngSkipped = renderer.unavailable;
    else
      for (const [name, svg] of Object.entries(charts)) {
        const file = join(options.outDir, `${name}.png`);
        writeFileSync(file, renderer.render(svg, PNG_WIDTH));
        report.files.push(file);
      }
  } else report.pngSkipped = "--no-png";
  const json = join(options.outDir, "energy-weather.json");
  report.files.push(json);
  writeFileSync(json, JSON.stringify(report, null, 2) + "\n");
  return report;
}

async function query(wh: Warehouse, table: string) {
  const reader = await wh.run(
    `SELECT epoch_ms(ts)::BIGINT AS t, household_id::BIGINT AS household, kwh::DOUBLE AS kwh, temperature_c::DOUBLE AS temp
     FROM ${table} WHERE ts IS NOT NULL AND kwh IS NOT NULL AND temperature_c IS NOT NULL
     ORDER BY t, household, kwh, temp`,
  );
  const cols = reader.getColumnsObjectJS() as Record<string, unknown[]>;
  const num = (xs: unknown[]) => xs.map((v) => Number(v));
  const columns = {
    t: num(cols.t ?? []),
    household: num(cols.household ?? []),
    kwh: num(cols.kwh ?? []),
    temp: num(cols.temp ?? []),
  };
  const weekly = (
    await rowsOf(
      wh,
      `SELECT isodow(ts) AS dow, avg(kwh) AS kwh, count(*) AS n FROM ${table}
       WHERE ts IS NOT NULL AND kwh IS NOT NULL GROUP BY ALL ORDER BY dow`,
    )
  ).map((r) => ({ dow: Number(r.dow), day: DAYS[Number(r.dow)], kwh: Number(r.kwh), rows: Number(r.n) }));
  const hourly = await rowsOf(
    wh,
    `SELECT hour(ts) AS hour, isodow(ts) >= 6 AS weekend, avg(kwh) AS kwh FROM ${table}
     WHERE ts IS NOT NULL AND kwh IS NOT NULL GROUP BY ALL ORDER BY hour, weekend`,
  );
  const daily: HourPoint[] = Array.from({ length: 24 }, (_, hour) => ({
    hour,
    weekday: null,
    weekend: null,
  }));
  for (const r of hourly) daily[Number(r.hour)][r.weekend ? "weekend" : "weekday"] = Number(r.kwh);
  return { columns, weekly, daily: daily.filter((h) => h.weekday !== null || h.weekend !== null) };
}

/** The numbers as the CLI prints them. */
export function formatEnergyWeatherReport(r: EnergyWeatherReport): string {
  const g = r.regression;
  const f = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const int = (x: number) => x.toLocaleString("en-US");
  return [
    `energy-weather report: lake dataset ${r.dataset}, ${int(r.rows)} readings with a temperature from ${r.households} households, ${r.from} to ${r.to}`,
    `linear regression kwh ~ temperature_c, trained on ${int(g.trainRows)} rows (${Math.round(g.trainShare * 100)}%), tested on ${int(g.testRows)} rows (split seed ${g.seed}):`,
    `  intercept    ${f(g.intercept, 6)} kWh`,
    `  slope        ${f(g.slope, 6)} kWh per °C`,
    `  R^2 (test)   ${f(g.r2)}   (train ${f(g.trainR2)})`,
    `  RMSE (test)  ${f(g.rmse, 6)} kWh   (train ${f(g.trainRmse, 6)})`,
    `weekly (average kWh per reading): ${r.weekly.map((w) => `${w.day} ${f(w.kwh, 3)}`).join(", ")}`,
    `daily peak: ${peak(r.daily)}`,
  ].join("\n");
}

function peak(daily: HourPoint[]): string {
  let best: { hour: number; kwh: number } | undefined;
  for (const h of daily) {
    const v = h.weekday ?? h.weekend;
    if (v !== null && (best === undefined || v > best.kwh)) best = { hour: h.hour, kwh: v };
  }
  return best === undefined
    ? "none"
    : `${String(best.hour).padStart(2, "0")}:00 UTC (${best.kwh.toFixed(3)} kWh per reading on weekdays)`;
}

function page(r: EnergyWeatherReport, charts: Record<string, string>): string {
  const g = r.regression;
  const f = (x: number, d = 4) => escapeXml(Number.isFinite(x) ? x.toFixed(d) : String(x));
  const int = (x: number) => x.toLocaleString("en-US");
  const figure = (name: string, caption: string) =>
    `<figure id="${name}">${charts[name]}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Energy x weather report</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2rem auto; max-width: 980px; padding: 0 1rem; color: #222; line-height: 1.45; }
  h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
  .sub { color: #666; margin-top: 0; }
  table { border-collapse: collapse; margin: 1rem 0; }
  th, td { text-align: left; padding: 0.3rem 1rem 0.3rem 0; border-bottom: 1px solid #eee; }
  td.num { font-variant-numeric: tabular-nums; text-align: right; }
  figure { margin: 1.5rem 0; }
  figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
  figcaption { color: #555; font-size: 0.9rem; }
  code { background: #f5f5f5; padding: 0 0.2rem; }
</style>
</head>
<body>
<h1>Energy use and weather</h1>
<p class="sub">Lake dataset <code>${escapeXml(r.dataset)}</code>: ${int(r.rows)} meter readings with the nearest weather
reading, ${r.households} households, ${escapeXml(r.from)} to ${escapeXml(r.to)} (UTC).</p>

<h2>Linear regression: energy on temperature</h2>
<table id="regression">
<tr><th>model</th><td colspan="2"><code>kwh = intercept + slope × temperature_c</code> (ordinary least squares)</td></tr>
<tr><th>intercept</th><td class="num" data-value="${g.intercept}">${f(g.intercept, 6)}</td><td>kWh per reading</td></tr>
<tr><th>slope</th><td class="num" data-value="${g.slope}">${f(g.slope, 6)}</td><td>kWh per reading per °C</td></tr>
<tr><th>R² (test)</th><td class="num" data-value="${g.r2}">${f(g.r2)}</td><td>train ${f(g.trainR2)}</td></tr>
<tr><th>RMSE (test)</th><td class="num" data-value="${g.rmse}">${f(g.rmse, 6)}</td><td>kWh; train ${f(g.trainRmse, 6)}</td></tr>
<tr><th>rows</th><td class="num">${int(g.trainRows)} / ${int(g.testRows)}</td><td>train / test (${Math.round(g.trainShare * 100)}% / ${Math.round((1 - g.trainShare) * 100)}%, seed ${g.seed})</td></tr>
</table>
<p>The split is reproducible: ${escapeXml(g.split)}.</p>

${figure("energy-vs-temperature", "Each point is one 15-minute meter reading and the temperature of the nearest weather reading (within 30 minutes); the line is the regression fitted on the training rows.")}
${figure("energy-by-weekday", "Average energy per reading by day of the week.")}
${figure("energy-by-hour", "Average energy per reading by hour of day (UTC), weekdays and weekends.")}
<p class="sub">Made by <code>weir report energy-weather</code>.</p>
</body>
</html>
`;
}
