/**
 * The energy-weather pipeline (examples/energy-weather) on generated data, through the runner's
 * bounded run over two files (one per topic): its output against a straightforward reference join
 * computed here, its late records and dead letters, a stop-and-resume, and a different interleaving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { TestDriver } from "../../src/index.js";
import { EnergyWeatherGenerator, writeTopicFiles } from "../../src/generate/index.js";
import { energyWeather } from "../../examples/energy-weather/pipeline.js";
import { findExample } from "../../examples/index.js";
import { readTopic } from "../runtime/inputs.js";
import { queryRow, runCli } from "../cli/helpers.js";

const DAY = 86_400_000;
const START = Date.UTC(2023, 2, 6);
const WITHIN_S = 30 * 60;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-ew-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Ten days of ten households (about 10,000 lines) as dir/energy.jsonl and dir/weather.jsonl. */
async function generate(dir: string, seed = 3): Promise<void> {
  const g = new EnergyWeatherGenerator({ seed, households: 10, startTime: START });
  const fds = new Map<string, number>();
  for (const topic of ["energy", "weather"]) fds.set(topic, openSync(join(dir, `${topic}.jsonl`), "w"));
  try {
    await writeTopicFiles(g, (topic) => (chunk) => void writeSync(fds.get(topic)!, chunk), {
      endTime: START + 10 * DAY,
    });
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
}

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");

async function run(dataDir: string, input: string, stopEarly = false) {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    const runner = new Runner(energyWeather(), { log, inputFile: input, logger: () => {} });
    if (stopEarly) runner.stop(); // stops after its first batch, with a checkpoint
    const summary = await runner.run();
    const read = (topic: string) => readTopic(log, topic).map((v) => JSON.parse(v));
    return {
      summary,
      metrics: runner.metrics(),
      rows: read("energy_weather"),
      late: read("energy-weather.late"),
      dlq: read("energy-weather.dlq"),
    };
  } finally {
    log.close();
  }
}

const TS = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
function parseTs(v: unknown): number | undefined {
  const m = typeof v === "string" ? TS.exec(v) : null;
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  return back.getUTCHours() === h && back.getUTCMinutes() === mi && back.getUTCDate() === d ? t : undefined;
}
function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(line);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

interface Reading {
  offset: number;
  t: number;
  household_id: number;
  kwh: number;
}
interface Weather {
  offset: number;
  t: number;
  temperature_c: number;
}

/** Valid readings of each file, checked here without the engine's schema code. */
function validInputs(dir: string): { energy: Reading[]; weather: Weather[]; invalid: number } {
  const energy: Reading[] = [];
  const weather: Weather[] = [];
  let invalid = 0;
  lines(join(dir, "energy.jsonl")).forEach((line, offset) => {
    const o = parseObject(line);
    const t = o && parseTs(o.ts);
    if (
      o === undefined ||
      t === undefined ||
      !Number.isInteger(o.household_id) ||
      typeof o.kwh !== "number" ||
      !(o.kwh >= 0 && o.kwh <= 100)
    )
      invalid++;
    else energy.push({ offset, t, household_id: o.household_id as number, kwh: o.kwh });
  });
  lines(join(dir, "weather.jsonl")).forEach((line, offset) => {
    const o = parseObject(line);
    const t = o && parseTs(o.ts);
    if (o === undefined || t === undefined || typeof o.temperature_c !== "number") invalid++;
    else weather.push({ offset, t, temperature_c: o.temperature_c });
  });
  return { energy, weather, invalid };
}

/** For each reading, scan every weather reading for the nearest within 30 min (ties: earlier, then first in the file). */
function referenceJoin(energy: Reading[], weather: Weather[]) {
  const rows = [];
  let unmatched = 0;
  const ordered = [...energy].sort((a, b) => a.t - b.t || a.offset - b.offset);
  for (const e of ordered) {
    let best: Weather | undefined;
    for (const w of weather) {
      const d = Math.abs(w.t - e.t) / 1000;
      if (d > WITHIN_S) continue;
      if (best === undefined) best = w;
      else {
        const bd = Math.abs(best.t - e.t) / 1000;
        if (d < bd || (d === bd && (w.t < best.t || (w.t === best.t && w.offset < best.offset)))) best = w;
      }
    }
    if (best === undefined) {
      unmatched++;
      continue;
    }
    rows.push({
      ts: new Date(e.t).toISOString(),
      household_id: e.household_id,
      kwh: e.kwh,
      temperature_c: best.temperature_c,
      weather_ts: new Date(best.t).toISOString(),
    });
  }
  return { rows, unmatched };
}

test("a bounded run over energy.jsonl and weather.jsonl equals a reference nearest-time join", async (t) => {
  const dir = tempDir(t);
  await generate(dir);
  const out = await run(join(dir, "data"), dir);
  const { energy, weather, invalid } = validInputs(dir);

  // Dead letters: exactly the lines that fail the checks above.
  assert.equal(out.dlq.length, invalid);
  assert.ok(out.dlq.some((d) => /kwh -[0-9.]+ is outside 0..100/.test(d.error)));

  // Late: the meters' backlog (hours behind the other readings), nothing else, never weather.
  const energyLines = lines(join(dir, "energy.jsonl"));
  let max = -Infinity;
  const behind = new Set<number>();
  energyLines.forEach((line, offset) => {
    const t = parseTs(parseObject(line)?.ts);
    if (t === undefined) return;
    if (t < max - 3_600_000) behind.add(offset);
    max = Math.max(max, t);
  });
  assert.ok(behind.size > 0);
  assert.ok(out.late.every((r) => r.topic === "energy" && /^late: /.test(r.error)));
  const lateOffsets = new Set(out.late.map((r) => r.offset as number));
  const validBehind = energy.filter((e) => behind.has(e.offset)).map((e) => e.offset);
  assert.deepEqual(
    [...lateOffsets].sort((a, b) => a - b),
    validBehind,
  );

  const expected = referenceJoin(
    energy.filter((e) => !lateOffsets.has(e.offset)),
    weather,
  );
  assert.ok(expected.rows.length > 8000);
  assert.ok(expected.unmatched > 0, "the generated station outages leave some readings without weather");
  assert.deepEqual(out.rows, expected.rows);
  const join_ = out.metrics.steps.find((s) => s.id === "nearest-weather")!;
  assert.equal(join_.unmatched, expected.unmatched);
  assert.equal(join_.stateSize, 0);
  assert.equal(join_.lateRecords, lateOffsets.size);
});

test("stopped after its first batch and resumed, the run ends as an uninterrupted one; a rerun does nothing", async (t) => {
  const dir = tempDir(t);
  await generate(dir);
  const whole = await run(
    join(dir, "whole"),
    `energy=${join(dir, "energy.jsonl")},weather=${join(dir, "weather.jsonl")}`,
  );
  const first = await run(join(dir, "resumed"), dir, true);
  assert.ok(first.rows.length < whole.rows.length);
  const second = await run(join(dir, "resumed"), dir);
  assert.deepEqual(second.rows, whole.rows);
  assert.deepEqual(second.late, whole.late);
  assert.deepEqual(second.dlq, whole.dlq);
  const third = await run(join(dir, "resumed"), dir);
  assert.equal(third.summary.alreadyComplete, true);
});

test("files with a byte-order mark, CRLF line breaks and blank lines give the same rows", async (t) => {
  const dir = tempDir(t);
  await generate(dir);
  const plain = await run(join(dir, "plain"), dir);
  const edited = join(dir, "edited");
  mkdirSync(edited);
  for (const topic of ["energy", "weather"]) {
    const text = readFileSync(join(dir, `${topic}.jsonl`), "utf8").replaceAll("\n", "\r\n\r\n \n");
    writeFileSync(join(edited, `${topic}.jsonl`), `\ufeff${text}`);
  }
  const out = await run(join(dir, "data"), edited);
  assert.deepEqual(out.dlq, plain.dlq);
  assert.deepEqual(out.late, plain.late);
  assert.deepEqual(out.rows, plain.rows);
});

test("another interleaving of the same topics (all weather first) gives the same rows", async (t) => {
  const dir = tempDir(t);
  await generate(dir);
  const out = await run(join(dir, "data"), dir);
  const driver = new TestDriver(energyWeather());
  driver.sendAll("weather", lines(join(dir, "weather.jsonl")));
  driver.sendAll("energy", lines(join(dir, "energy.jsonl")));
  driver.end();
  assert.deepEqual(driver.allValues("energy_weather"), out.rows);
  assert.deepEqual(driver.lakeRows("energy_weather"), out.rows);
  assert.deepEqual(
    driver.lateRecords().map((r) => r.offset),
    out.late.map((r) => r.offset),
  );
});

test("the same lines on topics of the embedded log, read live to their end, give the file run's outputs in the same order", async (t) => {
  const dir = tempDir(t);
  await generate(dir);
  const files = await run(join(dir, "files"), dir);
  // The input chooser takes the next record with the smallest event time over both topics, as the
  // file run does over both files: the same order, the same join, the same late records.
  const log = EmbeddedLog.open(join(dir, "topics"), { logger: () => {} });
  try {
    for (const topic of ["energy", "weather"]) {
      log.createTopic(topic, { partitions: 1 });
      const w = log.writer(topic);
      const all = lines(join(dir, `${topic}.jsonl`));
      for (let i = 0; i < all.length; i += 500) w.append(all.slice(i, i + 500).map((value) => ({ value })));
      w.close();
    }
    for (const maxBatch of [3, 1000]) {
      await new Runner(energyWeather(), {
        log,
        untilEnd: true,
        maxBatch,
        logger: () => {},
        fromScratch: true,
      }).run();
      const read = (topic: string) => readTopic(log, topic).map((v) => JSON.parse(v));
      const suffix = maxBatch === 3 ? 0 : files.rows.length; // the second run appends to the outputs
      assert.deepEqual(read("energy_weather").slice(suffix), files.rows, `rows, batch ${maxBatch}`);
      assert.deepEqual(read("energy-weather.late").slice(maxBatch === 3 ? 0 : files.late.length), files.late);
      assert.deepEqual(read("energy-weather.dlq").slice(maxBatch === 3 ? 0 : files.dlq.length), files.dlq);
    }
  } finally {
    log.close();
  }
});

test("--input needs a file for every source topic", async (t) => {
  const dir = tempDir(t);
  await generate(dir);
  await assert.rejects(
    run(join(dir, "a"), join(dir, "energy.jsonl")),
    /reads topics energy, weather: give --input DIR/,
  );
  await assert.rejects(
    run(join(dir, "b"), `energy=${join(dir, "energy.jsonl")}`),
    /no file for source topic weather/,
  );
  await assert.rejects(run(join(dir, "c"), join(dir, "nowhere")), /reads topics energy, weather/);
});

test("the example's options: --unmatched keep lands readings without weather with a null temperature", () => {
  const example = findExample("energy-weather")!;
  const def = example.build({ unmatched: "keep", within: "10m" });
  const t = new TestDriver(def);
  t.send("weather", { ts: "2023-03-06 00:10:00", temperature_c: 4.5 });
  t.send("energy", { ts: "2023-03-06 00:05:00", household_id: 1, kwh: 0.3 });
  t.send("energy", { ts: "2023-03-06 00:45:00", household_id: 1, kwh: 0.4 });
  t.end();
  assert.deepEqual(t.readValues("energy_weather"), [
    {
      ts: "2023-03-06T00:05:00.000Z",
      household_id: 1,
      kwh: 0.3,
      temperature_c: 4.5,
      weather_ts: "2023-03-06T00:10:00.000Z",
    },
    { ts: "2023-03-06T00:45:00.000Z", household_id: 1, kwh: 0.4, temperature_c: null, weather_ts: null },
  ]);
  assert.throws(() => example.build({ unmatched: "maybe" }), /--unmatched must be drop or keep/);
});

test("weir generate energy-weather -o DIR, weir run energy-weather --input DIR, weir query, weir report: end to end", async (t) => {
  const dir = tempDir(t);
  const input = join(dir, "input");
  const data = join(dir, "data");
  const gen = await runCli([
    "generate",
    "energy-weather",
    "-o",
    input,
    "--duration",
    "4d",
    "--households",
    "5",
  ]);
  assert.equal(gen.code, 0, gen.stderr);
  const described = await runCli(["describe", "energy-weather"]);
  assert.match(
    described.stdout,
    /nearest-weather +interval join: the nearest valid-weather record within 30m/,
  );
  assert.match(described.stdout, /<- valid-energy, valid-weather/);
  const ran = await runCli(["run", "energy-weather", "--input", input, "--data-dir", data]);
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stderr, /energy-weather: \d+ records in, \d+ out \(\d+ dead letters, \d+ late\)/);
  const row = await queryRow(
    data,
    "SELECT count(*) AS n, count(DISTINCT household_id) AS h, max(abs(epoch(ts) - epoch(weather_ts))) AS gap FROM energy_weather",
  );
  assert.ok(row.n > 1500, JSON.stringify(row));
  assert.equal(row.h, 5);
  assert.ok(row.gap <= 1800, "every pair within 30 minutes");
  const again = await runCli(["run", "energy-weather", "--input", input, "--data-dir", data]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already processed to their end/);
  const report = await runCli(["report", "energy-weather", "--data-dir", data, "--out", join(dir, "report")]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /slope +-0\.\d+ kWh per °C/);
  assert.ok(readFileSync(join(dir, "report", "energy-weather.html"), "utf8").includes("<svg "));
});
