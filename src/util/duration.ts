/**
 * Durations as Weir's options and CLI flags write them: "500ms", "30s", "1m", "2h", "1d", "1w", and
 * compounds such as "1h30m" (as in Go's time.ParseDuration, without negative values).
 */
import { WeirError } from "../errors.js";

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** A duration: a string such as "1h30m", or a number of milliseconds. */
export type Duration = string | number;

function bad(input: unknown, why: string): WeirError {
  const shown = typeof input === "string" ? JSON.stringify(input) : String(input);
  return new WeirError("USAGE", `invalid duration ${shown}: ${why}`);
}

/**
 * Milliseconds of a duration. Numbers are taken as milliseconds (non-negative integers). Strings are
 * one or more `<number><unit>` parts, unit ms, s, m, h, d or w ("1h30m", "1.5s"); "0" is zero.
 * Throws WeirError USAGE on anything else.
 */
export function parseDuration(input: Duration): number {
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw bad(input, "a number of milliseconds must be a non-negative integer");
    }
    return input;
  }
  if (typeof input !== "string") {
    throw bad(input, 'expected a string such as "500ms", "30s", "1m", "2h", "1d" or "1h30m"');
  }
  const s = input.trim();
  if (s === "0") return 0;
  if (!WHOLE.test(s)) {
    const why = /^-/.test(s)
      ? "durations cannot be negative"
      : /^\d+(?:\.\d+)?$/.test(s)
        ? `a unit is missing (ms, s, m, h, d or w), e.g. "${s}s" or "${s}ms"`
        : 'expected a number and a unit (ms, s, m, h, d or w) such as "500ms", "30s", "1m", "2h", "1d" or "1h30m"';
    throw bad(input, why);
  }
  let total = 0;
  for (const m of s.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2]];
  // Decimal parts may leave float noise ("0.1s" + ...): round to the millisecond, but only if that is
  // what was meant (a value below a millisecond is a mistake).
  const rounded = Math.round(total);
  if (Math.abs(total - rounded) > 1e-6) throw bad(input, "durations are whole milliseconds");
  if (!Number.isSafeInteger(rounded)) throw bad(input, "too large");
  return rounded;
}

/** A short human form of a duration in ms: 90000 -> "1m30s", 500 -> "500ms", 0 -> "0ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0ms";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = ms;
  let out = "";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
    ["ms", 1],
  ] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
