/**
 * The energy-weather mock producers (src/generate/energy-weather.ts) and `weir generate
 * energy-weather` (one file per topic, or each line to its own topic).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ENERGY_WEATHER_GENERATOR_DEFAULTS,
  EnergyWeatherGenerator,
  createGenerator,
  getScenario,
} from "../../src/generate/index.js";
import { parseEventTime } from "../../src/schema/index.js";
import { runCli, tempDir } from "../cli/helpers.js";

const DAY = 86_400_000;

function take(g: EnergyWeatherGenerator, until: number) {
  const out: Array<{ topic: string; key: string | null; time: number; line: string }> = [];
  while (g.peekTime() < until) {
    const line = g.next();
    out.push({ topic: g.topic, key: g.key, time: g.time, line });
  }
  return out;
}

const parse = (line: string): Record<string, any> | undefined => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

test("the same seed gives the same lines; another seed, other lines", () => {
  const opts = { households: 5 };
  const a = createGenerator("energy-weather", { ...opts, seed: 7 }).take(3000);
  const b = createGenerator("energy-weather", { ...opts, seed: 7 }).take(3000);
  const c = createGenerator("energy-weather", { ...opts, seed: 8 }).take(3000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // --rate (eventsPerMinute) paces a live producer only: the lines do not change with it
  assert.deepEqual(
    createGenerator("energy-weather", { ...opts, seed: 7, eventsPerMinute: 10 }).take(3000),
    a,
  );
});

test("every household reads every 15 minutes, the station every 30, on clocks that do not line up", () => {
  const start = ENERGY_WEATHER_GENERATOR_DEFAULTS.startTime;
  const g = new EnergyWeatherGenerator({
    seed: 2,
    households: 6,
    malformedShare: 0,
    lateShare: 0,
    outageChance: 0,
  });
  const lines = take(g, start + 7 * DAY);
  for (let i = 1; i < lines.length; i++)
    assert.ok(lines[i].time >= lines[i - 1].time, "lines come in arrival order");
  const energy = lines.filter((l) => l.topic === "energy").map((l) => parse(l.line)!);
  const weather = lines.filter((l) => l.topic === "weather").map((l) => parse(l.line)!);
  assert.equal(energy.length, 6 * 96 * 7);
  assert.equal(weather.length, 48 * 7);
  for (let h = 1; h <= 6; h++) assert.equal(energy.filter((e) => e.household_id === h).length, 96 * 7);
  assert.ok(
    lines.filter((l) => l.topic === "energy").every((l, i) => l.key === String(energy[i].household_id)),
  );
  assert.ok(lines.filter((l) => l.topic === "weather").every((l) => l.key === null));
  for (const w of weather) {
    const t = parseEventTime(w.ts)!;
    const intoHalfHour = (t % (30 * 60_000)) / 60_000;
    assert.ok(intoHalfHour >= 8 && intoHalfHour <= 12, `weather at ${w.ts}`);
    assert.equal(typeof w.temperature_c, "number");
  }
  const weatherTimes = new Set(weather.map((w) => w.ts));
  assert.ok(
    energy.filter((e) => weatherTimes.has(e.ts)).length < energy.length / 100,
    "times rarely coincide",
  );
});

test("energy follows temperature (heating), the hour of day and the weekday", () => {
  const start = ENERGY_WEATHER_GENERATOR_DEFAULTS.startTime;
  const g = new EnergyWeatherGenerator({ seed: 1, households: 10, malformedShare: 0, lateShare: 0 });
  const rows = take(g, start + 28 * DAY)
    .filter((l) => l.topic === "energy")
    .map((l) => {
      const o = parse(l.line)!;
      const t = parseEventTime(o.ts)!;
      return { t, kwh: o.kwh as number, temp: g.temperatureAt(t) };
    });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const mx = mean(rows.map((r) => r.temp));
  const my = mean(rows.map((r) => r.kwh));
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const r of rows) {
    sxy += (r.temp - mx) * (r.kwh - my);
    sxx += (r.temp - mx) ** 2;
    syy += (r.kwh - my) ** 2;
  }
  const corr = sxy / Math.sqrt(sxx * syy);
  assert.ok(corr < -0.4, `colder means more energy (corr ${corr.toFixed(2)})`);
  const byHour = (h: number) => mean(rows.filter((r) => new Date(r.t).getUTCHours() === h).map((r) => r.kwh));
  assert.ok(byHour(19) > 1.4 * byHour(3), "evening peak over the night");
  const weekend = rows.filter((r) => [0, 6].includes(new Date(r.t).getUTCDay()));
  const weekday = rows.filter((r) => ![0, 6].includes(new Date(r.t).getUTCDay()));
  const midday = (rs: typeof rows) =>
    mean(rs.filter((r) => new Date(r.t).getUTCHours() === 12).map((r) => r.kwh));
  assert.ok(midday(weekend) > midday(weekday), "people are at home at weekends");
});

test("stats count what was handed out: malformed, out of order, hours late, weather missing", () => {
  const g = new EnergyWeatherGenerator({ seed: 4, households: 20 });
  const lines = take(g, ENERGY_WEATHER_GENERATOR_DEFAULTS.startTime + 14 * DAY);
  const s = g.stats();
  assert.equal(s.events, lines.length);
  assert.equal(s.energyReadings + s.weatherReadings + s.malformed, lines.length);
  assert.ok(s.malformed > 10 && s.outOfOrder > 100 && s.late > 5 && s.weatherMissing > 0, JSON.stringify(s));
  const bad = lines.filter((l) => {
    const o = parse(l.line);
    if (o === undefined) return true;
    if (l.topic === "weather") return typeof o.temperature_c !== "number";
    return (
      !Number.isInteger(o.household_id) ||
      typeof o.kwh !== "number" ||
      o.kwh < 0 ||
      parseEventTime(o.ts) === undefined
    );
  });
  assert.equal(bad.length, s.malformed);
  // hours-late lines: event time far behind what came before
  let max = -Infinity;
  let behind = 0;
  for (const l of lines) {
    const t = parseEventTime(parse(l.line)?.ts ?? "");
    if (t === undefined) continue;
    if (t < max - 3_600_000) behind++;
    max = Math.max(max, t);
  }
  assert.ok(behind > 0 && behind <= s.late);
});

test("the scenario is registered with two topics", () => {
  const s = getScenario("energy-weather")!;
  assert.deepEqual(s.topics, ["energy", "weather"]);
  assert.deepEqual(s.extraOptions, ["households"]);
});

test("weir generate energy-weather --output DIR writes one file per topic, the same for the same seed", async (t) => {
  const dir = tempDir(t);
  const args = ["generate", "energy-weather", "--duration", "2d", "--households", "4", "--seed", "9"];
  const a = await runCli([...args, "--output", join(dir, "a")]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /wrote [\d,]+ energy-weather lines/);
  const b = await runCli([...args, "--output", join(dir, "b")]);
  assert.equal(b.code, 0, b.stderr);
  for (const topic of ["energy", "weather"]) {
    const text = readFileSync(join(dir, "a", `${topic}.jsonl`), "utf8");
    assert.equal(text, readFileSync(join(dir, "b", `${topic}.jsonl`), "utf8"));
    assert.ok(text.length > 0);
  }
  const energy = readFileSync(join(dir, "a", "energy.jsonl"), "utf8")
    .trim()
    .split("\n");
  assert.ok(Math.abs(energy.length - 4 * 96 * 2) <= 4, `${energy.length} energy lines`);

  const stdout = await runCli(["generate", "energy-weather", "--output", "-"]);
  assert.equal(stdout.code, 2, stdout.stderr);
  assert.match(stdout.stderr, /writes one file per topic \(energy.jsonl, weather.jsonl\): give --output DIR/);
  const topic = await runCli(["generate", "energy-weather", "--topic", "x", "--data-dir", join(dir, "d")]);
  assert.notEqual(topic.code, 0);
  assert.match(topic.stderr, /writes topics energy, weather; --topic does not apply/);
  const users = await runCli(["generate", "energy-weather", "--users", "5", "--output", join(dir, "c")]);
  assert.notEqual(users.code, 0);
  assert.match(users.stderr, /--users does not apply to scenario energy-weather/);
});

test("weir generate energy-weather to topics appends each line to its own topic", async (t) => {
  const dir = tempDir(t);
  const data = join(dir, "data");
  const r = await runCli([
    "generate",
    "energy-weather",
    "--count",
    "300",
    "--rate",
    "60000/s",
    "--households",
    "3",
    "--data-dir",
    data,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /appended 300 energy-weather events \(energy \d+, weather \d+\)/);
  const energy = await runCli(["consume", "energy", "--data-dir", data]);
  const weather = await runCli(["consume", "weather", "--data-dir", data]);
  const e = energy.stdout.trim().split("\n");
  const w = weather.stdout.trim().split("\n");
  assert.equal(e.length + w.length, 300);
  assert.ok(w.length > 0 && w.every((l) => !l.includes("household_id")));
  assert.ok(e.every((l) => !l.includes("temperature_c")));
});
