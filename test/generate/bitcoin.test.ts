import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BITCOIN_GENERATOR_DEFAULTS,
  BPI_CURRENCIES,
  BitcoinGenerator,
  createGenerator,
  getScenario,
  scenarioNames,
} from "../../src/generate/index.js";
import { WeirError } from "../../src/errors.js";
import { jsonObject, type Tick } from "../helpers/records.js";

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/** What the bitcoin pipeline accepts, written out by hand; null for a dead letter. */
function parse(line: string): Tick | null {
  const o = jsonObject(line);
  if (o === null) return null;
  if (typeof o.time !== "string" || !/^\d{4}-\d\d-\d\dT/.test(o.time)) return null;
  const time = Date.parse(o.time);
  if (Number.isNaN(time)) return null;
  if (!(BPI_CURRENCIES as readonly unknown[]).includes(o.currency)) return null;
  if (typeof o.rate !== "number" || !(o.rate > 0)) return null;
  return { time, currency: o.currency as string, rate: o.rate };
}

/** Annualized volatility of one currency's in-order ticks: stdev of log returns x sqrt(ticks a year). */
function realizedVolatility(ticks: readonly Tick[], currency: string, tickMs: number): number {
  const series = ticks
    .filter((t) => t.currency === currency)
    .sort((a, b) => a.time - b.time)
    .filter((t, i, all) => i === 0 || t.time !== all[i - 1].time);
  const returns: number[] = [];
  for (let i = 1; i < series.length; i++) {
    const steps = (series[i].time - series[i - 1].time) / tickMs;
    returns.push(Math.log(series[i].rate / series[i - 1].rate) / Math.sqrt(steps));
  }
  const mean = returns.reduce((s, x) => s + x, 0) / returns.length;
  const variance = returns.reduce((s, x) => s + (x - mean) ** 2, 0) / (returns.length - 1);
  return Math.sqrt(variance) * Math.sqrt(YEAR_MS / tickMs);
}

describe("bitcoin generator", () => {
  it("is registered as scenario bitcoin writing topic bpi, one tick a second by default", () => {
    assert.ok(scenarioNames().includes("bitcoin"));
    const s = getScenario("bitcoin")!;
    assert.equal(s.topic, "bpi");
    assert.deepEqual(s.extraOptions, []);
    assert.equal(s.defaultEventsPerMinute, 180);
    assert.equal(s.fileStartTime, Date.UTC(2021, 10, 30));
    assert.deepEqual(
      createGenerator("bitcoin", { seed: 3 }).take(300),
      new BitcoinGenerator({ seed: 3 }).take(300),
    );
    assert.equal(new BitcoinGenerator().tickMs, 1000);
  });

  it("is deterministic for a seed and options, and different for another seed", () => {
    const a = new BitcoinGenerator({ seed: 8 }).take(30_000);
    assert.deepEqual(new BitcoinGenerator({ seed: 8 }).take(30_000), a);
    assert.notDeepEqual(new BitcoinGenerator({ seed: 9 }).take(30_000), a);
    assert.notDeepEqual(new BitcoinGenerator({ seed: 8, eventsPerMinute: 90 }).take(30_000), a);
    const g = new BitcoinGenerator({ seed: 8 });
    assert.deepEqual([...g.take(4), ...g.take(29_996)], a, "taking in pieces gives the same stream");
  });

  it("ticks USD, EUR and GBP together, in order but for lines one tick late", () => {
    const g = new BitcoinGenerator({ seed: 4 });
    const n = 60_000;
    const ticks: Tick[] = [];
    let malformed = 0;
    let outOfOrder = 0;
    let maxSeen = -Infinity;
    for (let i = 0; i < n; i++) {
      const line = g.next();
      const t = parse(line);
      if (t === null) {
        malformed++;
        continue;
      }
      assert.equal(g.key, t.currency, "keyed by currency");
      assert.equal((t.time - BITCOIN_GENERATOR_DEFAULTS.startTime) % 1000, 0, "on the 1 s grid");
      assert.equal(Math.round(t.rate * 1e4) / 1e4, t.rate, "4 decimals");
      if (t.time < maxSeen) {
        outOfOrder++;
        assert.equal(maxSeen - t.time, 1000, "at most one tick behind");
      }
      maxSeen = Math.max(maxSeen, t.time);
      ticks.push(t);
    }
    const stats = g.stats();
    assert.equal(stats.events, n);
    assert.equal(stats.malformed, malformed);
    assert.ok(malformed / n > 0.001 && malformed / n < 0.0035, `malformed share ${malformed / n}`);
    assert.ok(outOfOrder > n * 0.005 && outOfOrder < n * 0.015, `${outOfOrder} out of order`);
    // Each tick's three rates share a time: EUR and GBP follow USD through exchange rates near
    // 2021-11-30's (they drift by well under 5% in 5.5 hours).
    const byTime = new Map<number, Map<string, number>>();
    for (const t of ticks) {
      let m = byTime.get(t.time);
      if (m === undefined) byTime.set(t.time, (m = new Map()));
      m.set(t.currency, t.rate);
    }
    assert.ok(byTime.size <= stats.ticks && byTime.size >= stats.ticks - 2, "one time per tick");
    for (const m of byTime.values()) {
      const usd = m.get("USD");
      if (usd === undefined) continue;
      if (m.has("EUR")) assert.ok(Math.abs(usd / m.get("EUR")! / 1.1335 - 1) < 0.05);
      if (m.has("GBP")) assert.ok(Math.abs(usd / m.get("GBP")! / 1.3316 - 1) < 0.05);
    }
    const usd = ticks.filter((t) => t.currency === "USD");
    assert.ok(
      usd.every((t) => t.rate > 40_000 && t.rate < 80_000),
      "a 70% a year walk stays near $57,000",
    );
  });

  it("has the volatility it was given, per-tick sigma scaled to the tick interval", () => {
    const fast = new BitcoinGenerator({ seed: 2, malformedShare: 0 });
    const fastTicks = fast.take(90_000).map((l) => parse(l)!);
    const v1 = realizedVolatility(fastTicks, "USD", 1000);
    assert.ok(Math.abs(v1 - 0.7) < 0.03, `realized volatility at 1 tick/s: ${v1}`);
    // One tick a minute: each step is sqrt(60) times larger, the annual figure the same.
    const slow = new BitcoinGenerator({ seed: 2, malformedShare: 0, eventsPerMinute: 3, volatility: 0.6 });
    const slowTicks = slow.take(30_000).map((l) => parse(l)!);
    const v2 = realizedVolatility(slowTicks, "USD", 60_000);
    assert.ok(Math.abs(v2 - 0.6) < 0.03, `realized volatility at 1 tick/min: ${v2}`);
    // The exchange rates drift slowly (8% a year): EUR's volatility is close to USD's.
    const eur = realizedVolatility(fastTicks, "EUR", 1000);
    assert.ok(Math.abs(eur - Math.sqrt(0.7 ** 2 + 0.08 ** 2)) < 0.03, `EUR volatility ${eur}`);
  });

  it("never delivers out of order when ticks are more than 2 s apart", () => {
    const g = new BitcoinGenerator({ seed: 1, eventsPerMinute: 60, outOfOrderShare: 0.5 });
    let maxSeen = -Infinity;
    for (const line of g.take(3000)) {
      const t = parse(line);
      if (t === null) continue;
      assert.ok(t.time >= maxSeen);
      maxSeen = t.time;
    }
    assert.equal(g.stats().outOfOrder, 0);
  });

  it("makes every kind of malformed line", () => {
    const lines = new BitcoinGenerator({ seed: 1, malformedShare: 1 }).take(300);
    assert.ok(lines.every((l) => parse(l) === null));
    assert.ok(
      lines.some((l) => /"rate":"\d{1,3}(,\d{3})*\.\d{4}"/.test(l)),
      "CoinDesk's rate text",
    );
    assert.ok(
      lines.some((l) => l.includes('"rate":null')),
      "a null rate",
    );
    assert.ok(
      lines.some((l) => /"time":"Nov 30, 2021 \d\d:\d\d:\d\d UTC"/.test(l)),
      "CoinDesk's time text",
    );
    assert.ok(
      lines.some((l) => !l.endsWith("}")),
      "cut off",
    );
  });

  it("rejects bad options with a WeirError", () => {
    for (const bad of [
      { eventsPerMinute: 0 },
      { startPrice: 0 },
      { volatility: -1 },
      { outOfOrderShare: 1.5 },
      { startTime: NaN },
    ]) {
      assert.throws(() => new BitcoinGenerator(bad), WeirError, JSON.stringify(bad));
    }
  });
});
