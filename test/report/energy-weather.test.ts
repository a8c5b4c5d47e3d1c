/**
 * `weir report energy-weather` (src/report/): the regression against least squares computed here
 * by another route (the normal equations over raw sums, on rows read from the pipeline's output
 * topic rather than the lake), the reproducible split, the weekly and daily lines, and the files:
 * a self-contained HTML page with SVG charts, and PNGs when the renderer is there.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { EnergyWeatherGenerator, writeTopicFiles } from "../../src/generate/index.js";
import { energyWeather } from "../../examples/energy-weather/pipeline.js";
import { buildEnergyWeatherReport, energyWeatherRowId } from "../../src/report/energy-weather.js";
import { isTrainRow } from "../../src/report/regression.js";
import { loadPngRenderer } from "../../src/report/png.js";
import { readTopic } from "../runtime/inputs.js";
import { runCli } from "../cli/helpers.js";

const START = Date.UTC(2023, 2, 6);
let root = "";
let dataDir = "";
let rows: Array<{ t: number; h: number; kwh: number; temp: number }> = [];

before(async () => {
  root = mkdtempSync(join(tmpdir(), "weir-report-"));
  const input = join(root, "input");
  const fds = new Map<string, number>();
  mkdirSync(input);
  for (const topic of ["energy", "weather"]) fds.set(topic, openSync(join(input, `${topic}.jsonl`), "w"));
  await writeTopicFiles(
    new EnergyWeatherGenerator({ seed: 5, households: 8, startTime: START }),
    (topic) => (chunk) => void writeSync(fds.get(topic)!, chunk),
    { endTime: START + 14 * 86_400_000 },
  );
  for (const fd of fds.values()) closeSync(fd);
  dataDir = join(root, "data");
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    await new Runner(energyWeather(), { log, inputFile: input, logger: () => {} }).run();
    rows = readTopic(log, "energy_weather").map((line) => {
      const r = JSON.parse(line);
      return { t: Date.parse(r.ts), h: r.household_id, kwh: r.kwh, temp: r.temperature_c };
    });
  } finally {
    log.close();
  }
});

after(() => rmSync(root, { recursive: true, force: true }));

/** Least squares by the normal equations: [n Σx; Σx Σx²] [a b]' = [Σy Σxy]'. */
function normalEquations(xs: number[], ys: number[]) {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < xs.length; i++) {
    n++;
    sx += xs[i];
    sy += ys[i];
    sxx += xs[i] * xs[i];
    sxy += xs[i] * ys[i];
  }
  const det = n * sxx - sx * sx;
  const slope = (n * sxy - sx * sy) / det;
  const intercept = (sy * sxx - sx * sxy) / det;
  return { intercept, slope };
}

function close(actual: number, expected: number, what: string, rel = 1e-9) {
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

test("the regression equals least squares on the same 70/30 split; R^2 and RMSE on the test rows", async () => {
  const out = join(root, "r1");
  const report = await buildEnergyWeatherReport({ dataDir, outDir: out, seed: 11 });
  assert.equal(report.rows, rows.length);
  assert.ok(rows.length > 8000);
  const train = rows.filter((r) => isTrainRow(energyWeatherRowId(r.h, r.t), 11));
  const test_ = rows.filter((r) => !isTrainRow(energyWeatherRowId(r.h, r.t), 11));
  assert.equal(report.regression.trainRows, train.length);
  assert.equal(report.regression.testRows, test_.length);
  const share = train.length / rows.length;
  assert.ok(share > 0.68 && share < 0.72, `train share ${share}`);

  const { intercept, slope } = normalEquations(
    train.map((r) => r.temp),
    train.map((r) => r.kwh),
  );
  close(report.regression.intercept, intercept, "intercept");
  close(report.regression.slope, slope, "slope");
  assert.ok(slope < 0, "colder, more energy");
  const predictions = test_.map((r) => intercept + slope * r.temp);
  const mean = test_.reduce((s, r) => s + r.kwh, 0) / test_.length;
  const ssRes = test_.reduce((s, r, i) => s + (r.kwh - predictions[i]) ** 2, 0);
  const ssTot = test_.reduce((s, r) => s + (r.kwh - mean) ** 2, 0);
  close(report.regression.r2, 1 - ssRes / ssTot, "R^2");
  close(report.regression.rmse, Math.sqrt(ssRes / test_.length), "RMSE");
  assert.ok(report.regression.r2 > 0.1 && report.regression.r2 < 0.9, `R^2 ${report.regression.r2}`);

  // the same seed, the same numbers; another seed, another split
  const again = await buildEnergyWeatherReport({ dataDir, outDir: join(root, "r2"), seed: 11, png: false });
  assert.deepEqual(again.regression, report.regression);
  const other = await buildEnergyWeatherReport({ dataDir, outDir: join(root, "r3"), seed: 12, png: false });
  assert.notEqual(other.regression.intercept, report.regression.intercept);
  assert.equal(other.regression.trainRows + other.regression.testRows, rows.length);
});

test("the weekly and daily lines are the average kWh by weekday and by hour (weekdays, weekends)", async () => {
  const report = await buildEnergyWeatherReport({ dataDir, outDir: join(root, "r4"), png: false });
  const avg = (rs: typeof rows) => rs.reduce((s, r) => s + r.kwh, 0) / rs.length;
  const dow = (t: number) => ((new Date(t).getUTCDay() + 6) % 7) + 1; // ISO: Monday 1 .. Sunday 7
  assert.deepEqual(
    report.weekly.map((w) => w.dow),
    [1, 2, 3, 4, 5, 6, 7],
  );
  for (const w of report.weekly) {
    const these = rows.filter((r) => dow(r.t) === w.dow);
    assert.equal(w.rows, these.length);
    close(w.kwh, avg(these), `weekday ${w.day}`);
  }
  assert.equal(report.daily.length, 24);
  for (const h of report.daily) {
    const at = rows.filter((r) => new Date(r.t).getUTCHours() === h.hour);
    close(h.weekday!, avg(at.filter((r) => dow(r.t) <= 5)), `hour ${h.hour} weekdays`);
    close(h.weekend!, avg(at.filter((r) => dow(r.t) >= 6)), `hour ${h.hour} weekends`);
  }
});

test("the HTML page is self-contained with three SVG charts; PNGs are written when the renderer loads", async () => {
  const out = join(root, "r5");
  const report = await buildEnergyWeatherReport({ dataDir, outDir: out, seed: 3 });
  const html = readFileSync(join(out, "energy-weather.html"), "utf8");
  assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i, "no external src/href");
  assert.doesNotMatch(html, /url\(\s*["']?(?:https?:)?\/\//i, "no external CSS resources");
  assert.doesNotMatch(html, /<script|<link|<img|<iframe/i);
  assert.equal(html.match(/<svg /g)?.length, 3);
  for (const id of ["energy-vs-temperature", "energy-by-weekday", "energy-by-hour"])
    assert.match(html, new RegExp(`<figure id="${id}"><svg `));
  assert.match(html, new RegExp(`data-value="${report.regression.slope}"`));
  assert.match(html, new RegExp(`data-value="${report.regression.r2}"`));
  const json = JSON.parse(readFileSync(join(out, "energy-weather.json"), "utf8"));
  assert.deepEqual(json.regression, report.regression);

  const pngs = ["energy-vs-temperature", "energy-by-weekday", "energy-by-hour"].map((n) =>
    join(out, `${n}.png`),
  );
  const renderer = await loadPngRenderer();
  if ("unavailable" in renderer) {
    assert.equal(report.pngSkipped, renderer.unavailable);
    assert.ok(pngs.every((p) => !existsSync(p)));
  } else {
    assert.equal(report.pngSkipped, undefined);
    for (const p of pngs) {
      const bytes = readFileSync(p);
      assert.ok(bytes.length > 10_000, `${p} has ${bytes.length} bytes`);
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    }
  }
});

test("weir report energy-weather prints the numbers; a missing dataset or report is one clear error", async () => {
  const out = join(root, "cli");
  const r = await runCli([
    "report",
    "energy-weather",
    "--data-dir",
    dataDir,
    "--out",
    out,
    "--seed",
    "11",
    "--no-png",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, "energy-weather.json"), "utf8"));
  assert.match(r.stdout, new RegExp(`intercept +${report.regression.intercept.toFixed(6)} kWh`));
  assert.match(r.stdout, new RegExp(`slope +${report.regression.slope.toFixed(6)} kWh per °C`));
  assert.match(r.stdout, /R\^2 \(test\) +0\.\d{4}/);
  assert.match(r.stdout, /RMSE \(test\) +0\.\d{6} kWh/);
  assert.ok(!existsSync(join(out, "energy-by-hour.png")));

  const empty = join(root, "empty");
  const none = await runCli(["report", "energy-weather", "--data-dir", empty, "--out", join(root, "x")]);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /data directory|no lake dataset energy_weather/);
  assert.doesNotMatch(none.stderr, /\n\s+at /);
  const unknown = await runCli(["report", "tiktok-x", "--data-dir", dataDir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown report "tiktok-x"; known reports: energy-weather/);
});
