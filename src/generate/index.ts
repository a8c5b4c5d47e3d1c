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
