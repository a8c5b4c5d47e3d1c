/**
 * The bitcoin price index mock producer (shared/seeds/004: "streaming data of Bitcoin Price Index
 * (BPI) in Euro, USD, and GBP"): one line per currency per tick, keyed by the currency,
 *
 *   {"time":"2021-11-30T00:00:01.000Z","currency":"USD","rate":57012.3456}
 *
 * - the USD price is a geometric random walk (geometric Brownian motion without drift) with an
 *   annualized volatility of 70% by default, the per-tick sigma scaled to the tick interval
 *   (sigma * sqrt(tick / year)); nothing is fetched from the network;
 * - EUR and GBP are the USD price divided by EUR/USD and GBP/USD exchange rates that drift slowly
 *   (their own random walks, 8% annualized), starting at 2021-11-30's rates;
 * - rates have 4 decimals, like CoinDesk's `rate_float`;
 * - a tick is three lines with the same time (USD, EUR, GBP); about 1% of lines are delivered one
 *   tick late (after the next tick's lines: out of order by one tick, well inside the pipeline's
 *   5 s bound, so never late — only when ticks are at most 2 s apart), and ~0.2% are malformed:
 *   cut off mid-line, the rate as CoinDesk's formatted text ("57,012.3456"), a null rate, or
 *   CoinDesk's `updated` time text ("Nov 30, 2021 00:00:01 UTC").
 *
 * `eventsPerMinute` counts lines: tick k has the time `startTime + floor(3k * 60000 / eventsPerMinute)`
 * (the default 180 lines a minute is one tick a second). The output is a pure function of the
 * options (no Math.random, no wall clock).
 */
import { checkOption, checkStartAndRate, normal } from "./checks.js";
import { Random } from "./random.js";
import { LineGenerator, type GeneratorOptions } from "./types.js";

export const BPI_TOPIC = "bpi";
export const BPI_CURRENCIES = ["USD", "EUR", "GBP"] as const;
export type BpiCurrency = (typeof BPI_CURRENCIES)[number];

const YEAR_MS = 365.25 * 24 * 3600 * 1000;
/** Deferred lines only when a tick is at most this far behind (the pipeline's bound is 5 s). */
const MAX_DEFER_TICK_MS = 2_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export const BITCOIN_GENERATOR_DEFAULTS = Object.freeze({
  seed: 1,
  /** 2021-11-30 00:00:00 UTC. */
  startTime: Date.UTC(2021, 10, 30, 0, 0, 0),
  /** Lines per minute of event time: 180 is one tick (three currencies) a second. */
  eventsPerMinute: 180,
  /** USD price at startTime (BTC was about $57,000 on 2021-11-30). */
  startPrice: 57_000,
  /** Annualized volatility of the USD price (0.7 = 70%). */
  volatility: 0.7,
  /** EUR/USD and GBP/USD at startTime. */
  eurUsd: 1.1335,
  gbpUsd: 1.3316,
  /** Annualized volatility of the exchange rates. */
  fxVolatility: 0.08,
  outOfOrderShare: 0.01,
  malformedShare: 0.002,
});

export interface BitcoinGeneratorOptions extends GeneratorOptions {
  startPrice?: number;
  volatility?: number;
  eurUsd?: number;
  gbpUsd?: number;
  fxVolatility?: number;
  /** Share of lines delivered one tick late (default 0.01; none when ticks are more than 2 s apart). */
  outOfOrderShare?: number;
  malformedShare?: number;
}

/** CoinDesk's `time.updated` text: "Nov 30, 2021 00:00:01 UTC". */
function coindeskTime(ms: number): string {
  const d = new Date(ms);
  const iso = d.toISOString();
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${iso.slice(11, 19)} UTC`;
}

/** "57012.3456" -> "57,012.3456". */
function withThousands(fixed: string): string {
  const dot = fixed.indexOf(".");
  const whole = dot < 0 ? fixed : fixed.slice(0, dot);
  return whole.replace(/\B(?=(\d{3})+$)/g, ",") + (dot < 0 ? "" : fixed.slice(dot));
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export class BitcoinGenerator extends LineGenerator {
  readonly scenario = "bitcoin";
  readonly startTime: number;
  readonly eventsPerMinute: number;
  /** Milliseconds between ticks (nominal; tick times are whole milliseconds). */
  readonly tickMs: number;
  /** USD price of the first tick. */
  readonly startPrice: number;
  /** Annualized volatility of the USD price. */
  readonly volatility: number;
  private readonly sigma: number;
  private readonly fxSigma: number;
  private readonly outOfOrderShare: number;
  private readonly malformedShare: number;
  private readonly rng: Random;
  private logUsd: number;
  private logEurUsd: number;
  private logGbpUsd: number;
  private tick = 0;
  private tickTime = NaN;
  private index = 0;
  private queue: string[] = [];
  private queueKeys: BpiCurrency[] = [];
  private queuePos = 0;
  private deferred: string[] = [];
  private deferredKeys: BpiCurrency[] = [];
  private lastKey: BpiCurrency | null = null;
  private readonly counts = { events: 0, ticks: 0, outOfOrder: 0, malformed: 0 };

  constructor(options: BitcoinGeneratorOptions = {}) {
    super();
    const d = BITCOIN_GENERATOR_DEFAULTS;
    this.startTime = options.startTime ?? d.startTime;
    this.eventsPerMinute = options.eventsPerMinute ?? d.eventsPerMinute;
    checkStartAndRate("bitcoin", this.startTime, this.eventsPerMinute);
    const positive = (name: string, v: number) => checkOption("bitcoin", name, v, 1e-9, 1e12, false);
    const share = (name: string, v: number) => checkOption("bitcoin", name, v, 0, 1, false);
    const price = positive("startPrice", options.startPrice ?? d.startPrice);
    this.startPrice = price;
    const volatility = checkOption("bitcoin", "volatility", options.volatility ?? d.volatility, 0, 10, false);
    this.volatility = volatility;
    const fxVolatility = checkOption(
      "bitcoin",
      "fxVolatility",
      options.fxVolatility ?? d.fxVolatility,
      0,
      10,
      false,
    );
    this.outOfOrderShare = share("outOfOrderShare", options.outOfOrderShare ?? d.outOfOrderShare);
    this.malformedShare = share("malformedShare", options.malformedShare ?? d.malformedShare);
    this.tickMs = (BPI_CURRENCIES.length * 60_000) / this.eventsPerMinute;
    const dt = this.tickMs / YEAR_MS;
    this.sigma = volatility * Math.sqrt(dt);
    this.fxSigma = fxVolatility * Math.sqrt(dt);
    this.logUsd = Math.log(price);
    this.logEurUsd = Math.log(positive("eurUsd", options.eurUsd ?? d.eurUsd));
    this.logGbpUsd = Math.log(positive("gbpUsd", options.gbpUsd ?? d.gbpUsd));
    this.rng = new Random(options.seed ?? d.seed);
  }

  get key(): string | null {
    return this.lastKey;
  }

  get time(): number {
    return this.tickTime;
  }

  get produced(): number {
    return this.index;
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  describe(): string {
    const every =
      this.tickMs >= 1000 ? `${+(this.tickMs / 1000).toFixed(3)} s` : `${+this.tickMs.toFixed(3)} ms`;
    return (
      `USD, EUR and GBP every ${every} from $${withThousands(String(Math.round(this.startPrice)))}, ` +
      `volatility ${+(this.volatility * 100).toFixed(1)}% a year, ` +
      `${+(this.malformedShare * 100).toFixed(2)}% malformed`
    );
  }

  next(): string {
    if (this.queuePos >= this.queue.length) this.nextTick();
    this.index++;
    this.counts.events++;
    this.lastKey = this.queueKeys[this.queuePos];
    return this.queue[this.queuePos++];
  }

  /** Move the walk one tick and queue its lines (plus the lines deferred from the tick before). */
  private nextTick(): void {
    const k = this.tick++;
    this.counts.ticks++;
    const t = this.startTime + Math.floor((k * BPI_CURRENCIES.length * 60_000) / this.eventsPerMinute);
    this.tickTime = t;
    const rng = this.rng;
    if (k > 0) {
      // Drift -sigma^2/2 keeps the expected price constant (a martingale).
      this.logUsd += -0.5 * this.sigma * this.sigma + this.sigma * normal(rng);
      this.logEurUsd += -0.5 * this.fxSigma * this.fxSigma + this.fxSigma * normal(rng);
      this.logGbpUsd += -0.5 * this.fxSigma * this.fxSigma + this.fxSigma * normal(rng);
    }
    const usd = Math.exp(this.logUsd);
    const rates = [usd, usd / Math.exp(this.logEurUsd), usd / Math.exp(this.logGbpUsd)];
    const time = new Date(t).toISOString();
    const canDefer = this.tickMs <= MAX_DEFER_TICK_MS;
    const now: string[] = [];
    const nowKeys: BpiCurrency[] = [];
    const later: string[] = [];
    const laterKeys: BpiCurrency[] = [];
    for (let c = 0; c < BPI_CURRENCIES.length; c++) {
      const currency = BPI_CURRENCIES[c];
      const rate = round4(rates[c]);
      const line = rng.chance(this.malformedShare)
        ? this.malformed(time, t, currency, rate)
        : `{"time":"${time}","currency":"${currency}","rate":${rate}}`;
      if (canDefer && rng.chance(this.outOfOrderShare)) {
        this.counts.outOfOrder++;
        later.push(line);
        laterKeys.push(currency);
      } else {
        now.push(line);
        nowKeys.push(currency);
      }
    }
    this.queue = now.concat(this.deferred);
    this.queueKeys = nowKeys.concat(this.deferredKeys);
    this.queuePos = 0;
    this.deferred = later;
    this.deferredKeys = laterKeys;
    if (this.queue.length === 0) this.nextTick(); // every line of this tick deferred
  }

  private malformed(time: string, t: number, currency: string, rate: number): string {
    this.counts.malformed++;
    const rng = this.rng;
    switch (rng.int(4)) {
      case 0: {
        // A write cut off mid-line.
        const full = `{"time":"${time}","currency":"${currency}","rate":${rate}}`;
        return full.slice(0, 1 + rng.int(full.length - 1));
      }
      case 1:
        // CoinDesk's `rate` field: formatted text.
        return JSON.stringify({ time, currency, rate: withThousands(rate.toFixed(4)) });
      case 2:
        // A feed gap.
        return JSON.stringify({ time, currency, rate: null });
      default:
        // CoinDesk's `time.updated` text, which is not ISO-8601.
        return JSON.stringify({ time: coindeskTime(t), currency, rate });
    }
  }
}
