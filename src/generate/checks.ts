/**
 * Option checks and a normal draw shared by the scenario generators (nobroker, tiktok, item-sales,
 * bitcoin, energy-weather).
 */
import { WeirError } from "../errors.js";
import type { Random } from "./random.js";

/** A standard normal draw (Box-Muller, one of the pair). */
export function normal(rng: Random): number {
  const u = 1 - rng.float(); // (0, 1]: log(u) is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

export function checkOption(
  scenario: string,
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  integer = true,
): number {
  if ((integer && !Number.isInteger(value)) || !(value >= min && value <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new WeirError(
      "USAGE",
      `${scenario} generator: ${name} must be ${integer ? "an integer" : "a number"} ${range} (got ${value})`,
    );
  }
  return value;
}

/** A share: a number from 0 to 1. */
export function checkShare(scenario: string, name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) {
    throw new WeirError("USAGE", `${scenario} generator: ${name} must be a share from 0 to 1 (got ${value})`);
  }
  return value;
}

export function checkStartAndRate(scenario: string, startTime: number, eventsPerMinute: number): void {
  if (!Number.isFinite(startTime))
    throw new WeirError(
      "USAGE",
      `${scenario} generator: startTime must be epoch milliseconds (got ${startTime})`,
    );
  if (!(eventsPerMinute > 0) || !Number.isFinite(eventsPerMinute))
    throw new WeirError(
      "USAGE",
      `${scenario} generator: eventsPerMinute must be greater than 0 (got ${eventsPerMinute})`,
    );
}
