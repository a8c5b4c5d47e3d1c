/**
 * Energy x weather (shared/seeds/001): household meter readings joined with the weather reading
 * nearest in time, cleaned and landed in the lake for analysis (`weir report energy-weather`).
 *
 *   energy   {"ts": "2023-03-06 00:03:41", "household_id": 7, "kwh": 0.412}
 *   weather  {"ts": "2023-03-06 00:10:12", "temperature_c": 3.4}
 *   ->       energy_weather {ts, household_id, kwh, temperature_c, weather_ts}
 *
 * - Both sources are validated by their schema (a line that fails is a dead letter on
 *   `energy-weather.dlq`) and checked for plausible values (kwh from 0 to 100 per reading,
 *   temperature from -60 to 60 °C: others are dead letters too, with the reason).
 * - Each energy reading is paired with the weather reading nearest in event time within `within`
 *   (30 minutes; a tie goes to the earlier weather reading). The pairing waits until the watermarks
 *   of both topics pass the reading's time + 30 minutes, so it is the same however the two topics
 *   interleave. Readings with no weather reading that close (a station outage) are dropped — the
 *   seed's inner join — and counted as the join step's `unmatched`; `--unmatched keep` lands them
 *   with a null temperature instead. Readings more than 30 minutes behind the join's watermark are
 *   late: `energy-weather.late`.
 * - The cleaned, typed rows are landed as lake dataset `energy_weather` (Parquet, `date=YYYY-MM-DD`
 *   by the reading's time) and written to topic `energy_weather`.
 */
import { pipeline, schema, type PipelineDefinition } from "../../src/index.js";

export const EnergyReading = schema.object({
  ts: schema.timestamp(),
  household_id: schema.int(),
  kwh: schema.number(),
});

export const WeatherReading = schema.object({
  ts: schema.timestamp(),
  temperature_c: schema.number(),
});

export interface EnergyWeatherOptions {
  /** The largest gap in event time between a reading and its weather reading. */
  within: string;
  /** How far each topic's watermark trails its newest reading. */
  maxOutOfOrderness: string;
  /** Readings without a weather reading within `within`: "drop" (inner join) or "keep" (null temperature). */
  unmatched: "drop" | "keep";
  /** Land the joined rows as lake dataset `energy_weather`. */
  lake: boolean;
}

export const ENERGY_WEATHER_DEFAULTS: EnergyWeatherOptions = Object.freeze({
  within: "30m",
  maxOutOfOrderness: "5m",
  unmatched: "drop",
  lake: true,
});

/** A row of the `energy_weather` dataset and topic. */
export interface EnergyWeatherRow {
  ts: Date;
  household_id: number;
  kwh: number;
  temperature_c: number | null;
  weather_ts: Date | null;
}

export function energyWeather(options: Partial<EnergyWeatherOptions> = {}): PipelineDefinition {
  const o = { ...ENERGY_WEATHER_DEFAULTS, ...options };
  return pipeline("energy-weather", (p) => {
    const energy = p
      .source("energy", {
        schema: EnergyReading,
        eventTime: (e) => e.ts,
        maxOutOfOrderness: o.maxOutOfOrderness,
      })
      .map(
        (e) => {
          if (!(e.kwh >= 0 && e.kwh <= 100)) throw new Error(`kwh ${e.kwh} is outside 0..100`);
          return e;
        },
        { name: "valid-energy" },
      );
    const weather = p
      .source("weather", {
        schema: WeatherReading,
        eventTime: (w) => w.ts,
        maxOutOfOrderness: o.maxOutOfOrderness,
      })
      .map(
        (w) => {
          if (!(w.temperature_c >= -60 && w.temperature_c <= 60))
            throw new Error(`temperature_c ${w.temperature_c} is outside -60..60`);
          return w;
        },
        { name: "valid-weather" },
      );

    const rows = energy
      .joinNearest(weather, { within: o.within, unmatched: o.unmatched, name: "nearest-weather" })
      .map(
        ({ left, right }): EnergyWeatherRow => ({
          ts: left.ts,
          household_id: left.household_id,
          kwh: left.kwh,
          temperature_c: right === null ? null : right.temperature_c,
          weather_ts: right === null ? null : right.ts,
        }),
        { name: "energy-weather-row" },
      );
    rows.to("energy_weather", { key: (r) => String(r.household_id) });
    if (o.lake) rows.toLake("energy_weather");
  });
}

export default energyWeather();
