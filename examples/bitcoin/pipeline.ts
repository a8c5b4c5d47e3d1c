/**
 * Bitcoin price index (shared/seeds/004): per-minute OHLC candles of the BPI in USD, EUR and GBP,
 * and a moving average of their closes, for a live price chart.
 *
 *   {"time":"2021-11-30T00:00:01.000Z","currency":"USD","rate":57012.3456}
 *
 * - topic `bpi_ohlc`: one record per currency per minute (tumbling event-time windows, [start, end)),
 *   emitted once when the window closes (`final`: the watermark passed its end):
 *   {"currency", "window_start", "window_end", "open", "high", "low", "close", "count"}.
 *   open is the rate of the earliest tick by event time and close that of the latest (ties: the
 *   first to arrive opens, the last to arrive closes), so ticks that arrive out of order still land
 *   where they belong; a tick whose window has already closed (the watermark, newest time minus
 *   `maxOutOfOrderness`, passed its end) goes to `bitcoin.late`;
 * - topic `bpi_moving_average`: on every candle, the simple moving average of the currency's last
 *   `maCloses` (default 5) closes: {"currency", "window_start", "window_end", "close",
 *   "moving_average", "closes"} — `closes` is how many candles it averages (fewer than 5 for the
 *   first minutes; a minute without ticks has no candle, so it counts the last 5 candles);
 * - lake dataset `bpi_ohlc` (Parquet, by date): the candles, for SQL over the history;
 * - dead letters (bad JSON, an unparseable time, a rate that is not a number, a currency other than
 *   USD/EUR/GBP, a rate <= 0) on topic `bitcoin.dlq` and, with the lake on, `bitcoin_dead_letters`.
 *
 * Both topics are keyed by currency and carry window_start/window_end as ISO-8601 UTC: a chart plots
 * `close` (or open/high/low/close) and `moving_average` against `window_end`, one series per currency.
 */
import { pipeline, schema, windows, type PipelineDefinition } from "../../src/index.js";
import { WeirError } from "../../src/errors.js";
import { BPI_CURRENCIES, BPI_TOPIC, type BpiCurrency } from "../../src/generate/bitcoin.js";

export { BPI_CURRENCIES, BPI_TOPIC };

export const Tick = schema.object({
  time: schema.timestamp({ as: "ms" }),
  currency: schema.oneOf(BPI_CURRENCIES),
  rate: schema.number(),
});

/** A record of topic `bpi_ohlc` (and a row of lake dataset `bpi_ohlc`). */
export interface Candle {
  currency: BpiCurrency;
  window_start: Date;
  window_end: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Ticks in the window. */
  count: number;
}

/** A record of topic `bpi_moving_average`. */
export interface MovingAverage {
  currency: BpiCurrency;
  /** The latest candle's window. */
  window_start: Date;
  window_end: Date;
  /** The latest candle's close. */
  close: number;
  /** Mean of the last `closes` closes (oldest first). */
  moving_average: number;
  closes: number;
}

export interface BitcoinOptions {
  /** Candle size (tumbling event-time window). */
  window: string;
  /** How many closes the moving average takes. */
  maCloses: number;
  /** How far the watermark trails the newest tick. */
  maxOutOfOrderness: string;
  /** Land the candles in the lake as dataset bpi_ohlc (and dead letters as bitcoin_dead_letters). */
  lake: boolean;
}

export const BITCOIN_DEFAULTS: BitcoinOptions = Object.freeze({
  window: "1m",
  maCloses: 5,
  maxOutOfOrderness: "5s",
  lake: true,
});

interface OhlcAcc {
  open: number;
  openTime: number;
  high: number;
  low: number;
  close: number;
  closeTime: number;
  count: number;
}

interface MaAcc {
  currency: BpiCurrency;
  closes: number[];
  windowStart: number;
  windowEnd: number;
}

export function bitcoin(options: Partial<BitcoinOptions> = {}): PipelineDefinition {
  const o = { ...BITCOIN_DEFAULTS, ...options };
  if (!Number.isInteger(o.maCloses) || o.maCloses < 1)
    throw new WeirError("INVALID_PIPELINE", `maCloses must be a whole number >= 1, got ${o.maCloses}`);
  return pipeline(
    "bitcoin",
    (p) => {
      const ticks = p
        .source(BPI_TOPIC, {
          schema: Tick,
          eventTime: (t) => t.time,
          maxOutOfOrderness: o.maxOutOfOrderness,
        })
        .map(
          (t) => {
            if (!(t.rate > 0)) throw new Error(`rate must be greater than 0, got ${t.rate}`);
            return t;
          },
          { name: "validate-tick" },
        );

      const candles = ticks
        .keyBy((t) => t.currency, { name: "by-currency" })
        .window(windows.tumbling(o.window))
        .aggregate<OhlcAcc, Omit<Candle, "currency" | "window_start" | "window_end">>(
          {
            init: () => ({ open: 0, openTime: 0, high: 0, low: 0, close: 0, closeTime: 0, count: 0 }),
            add: (acc, t) => {
              if (acc.count === 0) {
                acc.open = acc.high = acc.low = acc.close = t.rate;
                acc.openTime = acc.closeTime = t.time;
              } else {
                if (t.time < acc.openTime) {
                  acc.open = t.rate;
                  acc.openTime = t.time;
                }
                if (t.time >= acc.closeTime) {
                  acc.close = t.rate;
                  acc.closeTime = t.time;
                }
                if (t.rate > acc.high) acc.high = t.rate;
                if (t.rate < acc.low) acc.low = t.rate;
              }
              acc.count += 1;
              return acc;
            },
            result: (acc) => ({
              open: acc.open,
              high: acc.high,
              low: acc.low,
              close: acc.close,
              count: acc.count,
            }),
          },
          { name: "ohlc" },
        )
        .toStream({ emit: "final", name: "candles-closed" })
        .map(
          ({ key, window, value }): Candle => ({
            currency: key,
            window_start: window.start,
            window_end: window.end,
            ...value,
          }),
          { name: "candle" },
        );
      candles.to("bpi_ohlc");
      if (o.lake) candles.toLake("bpi_ohlc");

      const n = o.maCloses;
      candles
        .keyBy((c) => c.currency, { name: "ma-by-currency" })
        .aggregate<MaAcc, MovingAverage>(
          {
            init: () => ({ currency: "USD", closes: [], windowStart: 0, windowEnd: 0 }),
            add: (acc, c) => {
              acc.currency = c.currency;
              acc.closes.push(c.close);
              if (acc.closes.length > n) acc.closes.shift();
              acc.windowStart = c.window_start.getTime();
              acc.windowEnd = c.window_end.getTime();
              return acc;
            },
            result: (acc) => {
              let sum = 0;
              for (const x of acc.closes) sum += x;
              return {
                currency: acc.currency,
                window_start: new Date(acc.windowStart),
                window_end: new Date(acc.windowEnd),
                close: acc.closes[acc.closes.length - 1],
                moving_average: sum / acc.closes.length,
                closes: acc.closes.length,
              };
            },
          },
          { name: "moving-average" },
        )
        .toStream({ name: "moving-average-updates" })
        .map(({ value }) => value, { name: "moving-average-record" })
        .to("bpi_moving_average");
    },
    { deadLettersToLake: o.lake },
  );
}

export default bitcoin();
