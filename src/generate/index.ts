/**
 * Mock producers for the reference scenarios (`weir generate <scenario>`, `weir demo`, tests and
 * benchmarks). Each scenario is registered here by name; add one with `registerScenario`.
 *
 *   import { createGenerator } from "./generate/index.js";
 *   const gen = createGenerator("nobroker", { seed: 7, eventsPerMinute: 100_000 });
 *   const lines = gen.take(1000);
 */
import { WeirError } from "../errors.js";
import { NOBROKER_GENERATOR_DEFAULTS, NoBrokerGenerator } from "./nobroker.js";
import {
  ENERGY_TOPIC,
  ENERGY_WEATHER_GENERATOR_DEFAULTS,
  EnergyWeatherGenerator,
  WEATHER_TOPIC,
} from "./energy-weather.js";
import { TIKTOK_GENERATOR_DEFAULTS, TIKTOK_TOPIC, TikTokGenerator } from "./tiktok.js";
import { ITEM_SALES_GENERATOR_DEFAULTS, ITEM_SALES_TOPIC, ItemSalesGenerator } from "./item-sales.js";
import { BITCOIN_GENERATOR_DEFAULTS, BPI_TOPIC, BitcoinGenerator } from "./bitcoin.js";
import type { MockGenerator, Scenario, ScenarioOptions } from "./types.js";

export type { GeneratorOptions, MockGenerator, Scenario, ScenarioOptions } from "./types.js";
export { LineGenerator } from "./types.js";
export {
  NOBROKER_GENERATOR_DEFAULTS,
  NoBrokerGenerator,
  createNoBrokerGenerator,
  formatEventDate,
  type NoBrokerGeneratorOptions,
} from "./nobroker.js";
export { Random, ZipfSampler, normalizeSeed } from "./random.js";
export {
  producePaced,
  type PacedProduceOptions,
  type PacedProduceResult,
  type RecordAppender,
} from "./live.js";
export { writeLines, type BulkOptions, type BulkResult, type ChunkSink } from "./bulk.js";
export {
  ENERGY_TOPIC,
  ENERGY_WEATHER_GENERATOR_DEFAULTS,
  EnergyWeatherGenerator,
  WEATHER_TOPIC,
  type EnergyWeatherGeneratorOptions,
} from "./energy-weather.js";
export { routeByTopic, writeTopicFiles, type TopicFilesResult } from "./topics.js";
export {
  TIKTOK_CATEGORIES,
  TIKTOK_GENERATOR_DEFAULTS,
  TIKTOK_TOPIC,
  TikTokGenerator,
  type TikTokGeneratorOptions,
} from "./tiktok.js";
export {
  ITEM_SALES_GENERATOR_DEFAULTS,
  ITEM_SALES_TOPIC,
  ItemSalesGenerator,
  type ItemSalesGeneratorOptions,
} from "./item-sales.js";
export {
  BITCOIN_GENERATOR_DEFAULTS,
  BPI_CURRENCIES,
  BPI_TOPIC,
  BitcoinGenerator,
  type BitcoinGeneratorOptions,
} from "./bitcoin.js";

const scenarios = new Map<string, Scenario>();

/** Add a scenario (its name must be new). */
export function registerScenario(scenario: Scenario): void {
  if (scenarios.has(scenario.name)) throw new Error(`scenario ${scenario.name} is already registered`);
  scenarios.set(scenario.name, scenario);
}

/** The scenario called `name`, or undefined. */
export function getScenario(name: string): Scenario | undefined {
  return scenarios.get(name);
}

/** Names of the registered scenarios, in registration order. */
export function scenarioNames(): string[] {
  return [...scenarios.keys()];
}

/** A generator for scenario `name`; a WeirError (USAGE) naming the known scenarios when there is none. */
export function createGenerator(name: string, options: ScenarioOptions = {}): MockGenerator {
  const scenario = scenarios.get(name);
  if (scenario === undefined) throw unknownScenarioError(name);
  return scenario.create(options);
}

export function unknownScenarioError(name: string): WeirError {
  const known = scenarioNames();
  return new WeirError(
    "USAGE",
    `unknown scenario ${JSON.stringify(name)}; known scenario${known.length === 1 ? "" : "s"}: ${known.join(", ")}`,
  );
}

registerScenario({
  name: "nobroker",
  description:
    "NoBroker property interactions (user_id, property_id, date, event): Zipf-like popularity, " +
    "a few brokers bursting > 10 interactions a minute, ~2% out of order, ~0.2% late, ~0.2% malformed lines",
  topic: "events",
  fileStartTime: NOBROKER_GENERATOR_DEFAULTS.startTime,
  extraOptions: ["users", "properties", "brokers"],
  create: (options) => new NoBrokerGenerator(options),
});

registerScenario({
  name: "energy-weather",
  description:
    "household energy readings (ts, household_id, kwh) every 15 min to topic energy and weather readings " +
    "(ts, temperature_c) every 30 min to topic weather, on their own clocks; energy follows temperature, " +
    "hour and weekday; station outages, ~3% out of order, ~0.1% hours late, a few malformed lines. " +
    "Event times follow the schedule (--rate only paces topics); a file run writes DIR/energy.jsonl and " +
    "DIR/weather.jsonl (default four weeks)",
  topic: ENERGY_TOPIC,
  topics: [ENERGY_TOPIC, WEATHER_TOPIC],
  fileStartTime: ENERGY_WEATHER_GENERATOR_DEFAULTS.startTime,
  fileSpanMs: ENERGY_WEATHER_GENERATOR_DEFAULTS.fileSpanMs,
  extraOptions: ["households"],
  create: (options) => new EnergyWeatherGenerator(options),
});

registerScenario({
  name: "tiktok",
  description:
    "TikTok watch events (ts, user_id, category, watch_time_s, liked) to topic tiktok_category: per-user " +
    "category tastes over the seed's 7 categories, skewed watch times, per-user like rates, ~0.2% malformed " +
    "lines; default rate 1200/min",
  topic: TIKTOK_TOPIC,
  fileStartTime: TIKTOK_GENERATOR_DEFAULTS.startTime,
  defaultEventsPerMinute: TIKTOK_GENERATOR_DEFAULTS.eventsPerMinute,
  extraOptions: ["users"],
  create: (options) => new TikTokGenerator(options),
});

registerScenario({
  name: "item-sales",
  description:
    "item sales (item_id, item_name, quantity, price, timestamp_ms) to topic item_sales from a catalogue " +
    "of --items products with fixed names and prices, discounts, ~3% out of order, ~0.5% malformed or " +
    "invalid (negative quantity, missing field, seconds for milliseconds); default rate 600/min",
  topic: ITEM_SALES_TOPIC,
  fileStartTime: ITEM_SALES_GENERATOR_DEFAULTS.startTime,
  defaultEventsPerMinute: ITEM_SALES_GENERATOR_DEFAULTS.eventsPerMinute,
  extraOptions: ["items"],
  create: (options) => new ItemSalesGenerator(options),
});

registerScenario({
  name: "bitcoin",
  description:
    "bitcoin price index ticks (time, currency, rate) in USD, EUR and GBP to topic bpi: a geometric random " +
    "walk at 70% annual volatility, EUR/GBP through drifting exchange rates; default rate 180/min (one " +
    "tick a second), ~1% one tick out of order, ~0.2% malformed lines",
  topic: BPI_TOPIC,
  fileStartTime: BITCOIN_GENERATOR_DEFAULTS.startTime,
  defaultEventsPerMinute: BITCOIN_GENERATOR_DEFAULTS.eventsPerMinute,
  extraOptions: [],
  create: (options) => new BitcoinGenerator(options),
});
