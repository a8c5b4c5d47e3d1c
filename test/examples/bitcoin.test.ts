import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TestDriver } from "../../src/index.js";
import { BitcoinGenerator } from "../../src/generate/bitcoin.js";
import { bitcoin } from "../../examples/bitcoin/pipeline.js";
import {
  hasStackTrace,
  lines as outputLines,
  queryRow,
  runCli,
  tempDataDir,
  tempDir,
} from "../cli/helpers.js";
import { jsonObject, parseLines, type Tick } from "../helpers/records.js";

const TOPIC = "bpi";
const MINUTE = 60_000;

interface CandleOut {
  currency: string;
  window_start: string;
  window_end: string;
  open: number;
  high: number;
  low: number;
  close: number;
  count: number;
}

interface MaOut {
  currency: string;
  window_start: string;
  window_end: string;
  close: number;
  moving_average: number;
  closes: number;
}

/** The pipeline's schema and check, written out by hand: the tick, or null for a dead letter. */
function parse(line: string): Tick | null {
  const v = jsonObject(line);
  if (v === null) return null;
  if (typeof v.time !== "string" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v.time)) return null;
  if (!["USD", "EUR", "GBP"].includes(v.currency as string)) return null;
  if (typeof v.rate !== "number" || !(v.rate > 0)) return null;
  return { time: Date.parse(v.time), currency: v.currency as string, rate: v.rate };
}

/**
 * The reference, straight from the raw ticks: group by (currency, minute); open = the rate at the
 * smallest time (the first to arrive among equal times), close = at the largest time (the last to
 * arrive among equal times), high/low/count. Candles come out by window end, and within a window in
 * the order its currencies were first seen (docs/semantics.md#windows). The moving average is the
 * mean of each currency's last `n` closes, summed oldest first as the pipeline does, so it compares
 * exactly. The generator never makes late ticks (checked: no late records).
 */
function reference(lines: readonly string[], n = 5) {
  const windows = new Map<
    number,
    Map<string, { open: Tick; close: Tick; high: number; low: number; count: number }>
  >();
  const { valid, dead } = parseLines(lines, parse);
  for (const t of valid) {
    const start = Math.floor(t.time / MINUTE) * MINUTE;
    let w = windows.get(start);
    if (w === undefined) windows.set(start, (w = new Map()));
    const c = w.get(t.currency);
    if (c === undefined) {
      w.set(t.currency, { open: t, close: t, high: t.rate, low: t.rate, count: 1 });
      continue;
    }
    if (t.time < c.open.time) c.open = t;
    if (t.time >= c.close.time) c.close = t;
    c.high = Math.max(c.high, t.rate);
    c.low = Math.min(c.low, t.rate);
    c.count++;
  }
  const candles: CandleOut[] = [];
  for (const start of [...windows.keys()].sort((a, b) => a - b)) {
    for (const [currency, c] of windows.get(start)!) {
      candles.push({
        currency,
        window_start: new Date(start).toISOString(),
        window_end: new Date(start + MINUTE).toISOString(),
        open: c.open.rate,
        high: c.high,
        low: c.low,
        close: c.close.rate,
        count: c.count,
      });
    }
  }
  const last = new Map<string, number[]>();
  const averages: MaOut[] = candles.map((c) => {
    let closes = last.get(c.currency);
    if (closes === undefined) last.set(c.currency, (closes = []));
    closes.push(c.close);
    if (closes.length > n) closes.shift();
    let sum = 0;
    for (const x of closes) sum += x;
    return {
      currency: c.currency,
      window_start: c.window_start,
      window_end: c.window_end,
      close: c.close,
      moving_average: sum / closes.length,
      closes: closes.length,
    };
  });
  return { candles, averages, dead };
}

const iso = (ms: number) => new Date(ms).toISOString();

test("OHLC by event time: out-of-order ticks, ties, a late tick; emitted once when the window closes", () => {
  const t = new TestDriver(bitcoin({ maCloses: 2 }));
  const t0 = Date.UTC(2021, 10, 30, 0, 0, 0);
  const tick = (s: number, rate: number, currency = "USD") => ({ time: iso(t0 + s * 1000), currency, rate });
  t.sendAll(TOPIC, [
    tick(10, 100),
    tick(5, 90), // earlier: the new open
    tick(5, 91), // same time as the open: the first to arrive stays the open
    tick(50, 120),
    tick(50, 121), // same time as the close: the last to arrive closes
    tick(30, 80), // arrives last but is not the latest: low, not close
    tick(20, 50_000, "EUR"),
  ]);
  assert.deepEqual(t.readValues("bpi_ohlc"), [], "nothing before the window closes");
  // tick(30) came 20 s behind the newest (tick(50)), far past the 5 s bound, but its minute was
  // still open: late means "its window has closed" (docs/semantics.md), not "behind the newest".
  assert.deepEqual(t.lateRecords(), []);
  t.send(TOPIC, tick(66, 130)); // W = 00:01:01 >= 00:01:00: the first minute closes
  t.send(TOPIC, tick(59, 1)); // its window has closed: late, does not change it
  assert.deepEqual(t.readValues("bpi_ohlc"), [
    {
      currency: "USD",
      window_start: "2021-11-30T00:00:00.000Z",
      window_end: "2021-11-30T00:01:00.000Z",
      open: 90,
      high: 121,
      low: 80,
      close: 121,
      count: 6,
    },
    {
      currency: "EUR",
      window_start: "2021-11-30T00:00:00.000Z",
      window_end: "2021-11-30T00:01:00.000Z",
      open: 50_000,
      high: 50_000,
      low: 50_000,
      close: 50_000,
      count: 1,
    },
  ]);
  assert.equal(t.lateRecords().length, 1);
  assert.match(t.lateRecords()[0].error, /^late/);
  t.send(TOPIC, tick(130, 140)).end();
  const candles = t.allValues<CandleOut>("bpi_ohlc");
  assert.deepEqual(
    candles.map((c) => [c.currency, c.window_start, c.open, c.close, c.count]),
    [
      ["USD", "2021-11-30T00:00:00.000Z", 90, 121, 6],
      ["EUR", "2021-11-30T00:00:00.000Z", 50_000, 50_000, 1],
      ["USD", "2021-11-30T00:01:00.000Z", 130, 130, 1],
      ["USD", "2021-11-30T00:02:00.000Z", 140, 140, 1],
    ],
  );
  // Moving average of the last 2 closes, per currency.
  assert.deepEqual(
    t
      .allValues<MaOut>("bpi_moving_average")
      .map((m) => [m.currency, m.window_end, m.moving_average, m.closes]),
    [
      ["USD", "2021-11-30T00:01:00.000Z", 121, 1],
      ["EUR", "2021-11-30T00:01:00.000Z", 50_000, 1],
      ["USD", "2021-11-30T00:02:00.000Z", (121 + 130) / 2, 2],
      ["USD", "2021-11-30T00:03:00.000Z", (130 + 140) / 2, 2],
    ],
  );
  assert.deepEqual(
    t.readRecords("bpi_moving_average").map((r) => r.key),
    ["USD", "EUR", "USD", "USD"],
    "keyed by currency",
  );
  assert.deepEqual(t.lakeRows("bpi_ohlc"), candles);
});

test("3 hours of generated ticks: candles and moving averages equal a reference computed from the raw ticks", () => {
  const lines = new BitcoinGenerator({ seed: 31 }).take(3 * 3 * 3600);
  const ref = reference(lines);
  assert.ok(ref.dead > 0);
  const t = new TestDriver(bitcoin());
  t.sendAll(TOPIC, lines).end();
  const candles = t.allValues<CandleOut>("bpi_ohlc");
  assert.equal(candles.length, 3 * 180);
  assert.deepEqual(candles, ref.candles);
  assert.deepEqual(t.allValues<MaOut>("bpi_moving_average"), ref.averages);
  assert.deepEqual(t.lakeRows("bpi_ohlc"), ref.candles);
  assert.deepEqual(t.lateRecords(), []);
  const dead = t.deadLetters();
  assert.equal(dead.length, ref.dead);
  for (const d of dead) assert.equal(d.raw, lines[d.offset]);
  assert.equal(t.lakeRows("bitcoin_dead_letters").length, ref.dead);
  // Some candles really were reordered: a tick arriving after a later one of its currency.
  const arrivedLate = lines
    .map(parse)
    .filter((x): x is Tick => x !== null)
    .some((x, i, all) =>
      all.slice(Math.max(0, i - 6), i).some((y) => y.currency === x.currency && y.time > x.time),
    );
  assert.ok(arrivedLate);
});

test("a rate that is not positive is a dead letter; other windows and options", () => {
  const t = new TestDriver(bitcoin({ window: "5m", maCloses: 3 }));
  const t0 = Date.UTC(2021, 10, 30, 0, 0, 0);
  t.send(TOPIC, { time: iso(t0), currency: "USD", rate: 0 });
  t.send(TOPIC, { time: iso(t0), currency: "JPY", rate: 1 });
  for (let m = 0; m < 20; m++) t.send(TOPIC, { time: iso(t0 + m * MINUTE), currency: "GBP", rate: 100 + m });
  t.end();
  assert.deepEqual(
    t.deadLetters().map((d) => d.error),
    [
      "step validate-tick failed: rate must be greater than 0, got 0",
      'field "currency": expected one of ["USD", "EUR", "GBP"], got string "JPY"',
    ],
  );
  assert.deepEqual(
    t.allValues<CandleOut>("bpi_ohlc").map((c) => [c.window_start, c.open, c.close, c.count]),
    [
      ["2021-11-30T00:00:00.000Z", 100, 104, 5],
      ["2021-11-30T00:05:00.000Z", 105, 109, 5],
      ["2021-11-30T00:10:00.000Z", 110, 114, 5],
      ["2021-11-30T00:15:00.000Z", 115, 119, 5],
    ],
  );
  assert.deepEqual(
    t.allValues<MaOut>("bpi_moving_average").map((m) => m.moving_average),
    [104, (104 + 109) / 2, (104 + 109 + 114) / 3, (109 + 114 + 119) / 3],
  );
  assert.throws(() => bitcoin({ maCloses: 0 }), /maCloses must be a whole number >= 1/);
});

test("weir generate bitcoin + weir run bitcoin --input: topics and the lake end to end", async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDataDir(t);
  const file = join(dir, "bpi.jsonl");
  // The default rate is one tick (three lines) a second: 5,400 lines are half an hour.
  const gen = await runCli(["generate", "bitcoin", "-o", file, "-n", "5400", "--seed", "4"]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(gen.stderr, /event time 2021-11-30 00:00:00 to 2021-11-30 00:29:59 UTC/);
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "");
  assert.deepEqual(lines, new BitcoinGenerator({ seed: 4 }).take(5400));
  const ref = reference(lines, 3);

  const run = await runCli(["run", "bitcoin", "--input", file, "--ma-closes", "3", "--data-dir", dataDir]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(!hasStackTrace(run.stderr), run.stderr);

  const ohlc = await runCli(["consume", "bpi_ohlc", "--data-dir", dataDir]);
  assert.equal(ohlc.code, 0, ohlc.stderr);
  assert.deepEqual(
    outputLines(ohlc.stdout).map((l) => JSON.parse(l)),
    ref.candles,
  );
  const ma = await runCli(["consume", "bpi_moving_average", "--data-dir", dataDir]);
  assert.deepEqual(
    outputLines(ma.stdout).map((l) => JSON.parse(l)),
    ref.averages,
  );
  const q = await queryRow(
    dataDir,
    "SELECT count(*) AS candles, sum(count) AS ticks, count(DISTINCT currency) AS currencies, " +
      "max(window_end) AS last_end FROM bpi_ohlc",
  );
  assert.deepEqual(q, {
    candles: ref.candles.length,
    ticks: ref.candles.reduce((s, c) => s + c.count, 0),
    currencies: 3,
    last_end: "2021-11-30T00:30:00.000Z",
  });

  const bad = await runCli(["run", "bitcoin", "--input", file, "--ma-closes", "0", "--data-dir", dataDir]);
  assert.notEqual(bad.code, 0);
  assert.equal(outputLines(bad.stderr).length, 1, bad.stderr);
  assert.ok(!hasStackTrace(bad.stderr));
});
