/**
 * The options every command sees, and parsers of option values (for commander's argParser: they
 * throw InvalidArgumentError on a bad value, which main prints as a usage error).
 */
import { InvalidArgumentError } from "commander";
import { usageError } from "../errors.js";
import type { FlushPolicy } from "../log/types.js";
import { parseDuration } from "../util/duration.js";
import { q } from "./format.js";

/** The options every command sees through `cmd.optsWithGlobals()`. */
export interface GlobalOptions {
  dataDir?: string;
  quiet?: boolean;
  debug?: boolean;
}

function invalid(message: string): never {
  throw new InvalidArgumentError(message);
}

/** An integer option in [min, max]. */
export function intParser(min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const v = value.trim();
    if (!/^[+-]?\d+$/.test(v))
      invalid(`expected an integer${min === 0 ? " >= 0" : min === 1 ? " >= 1" : ""}.`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      invalid(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}.`
          : `expected an integer from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

const RATE_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
};

/**
 * A rate in records per second: `500/s`, `30000/min`, `2000/h`, or a plain number (per second).
 * Suffixes k and M multiply: `100k/min`.
 */
export function parseRate(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kKmM]?)\s*(?:\/\s*([A-Za-z]+))?\s*$/.exec(value);
  if (!m) invalid("expected a rate like 500/s, 30000/min or 2000/h (a plain number means per second).");
  const [, num, mult, unit] = m;
  const per = unit === undefined ? 1 : RATE_UNITS[unit.toLowerCase()];
  if (per === undefined) invalid(`unknown time unit "${unit}"; use /s, /min or /h.`);
  const factor = mult === "" ? 1 : mult === "k" || mult === "K" ? 1e3 : 1e6;
  const perSecond = (Number(num) * factor) / per;
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) invalid("the rate must be greater than 0.");
  return perSecond;
}

/**
 * Parse a duration to milliseconds for a flag: `500ms`, `30s`, `5m`, `12h`, `7d`, `2w`, `1h30m`
 * (see util/duration.ts); a plain number is milliseconds.
 */
export function parseDurationMs(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  try {
    return parseDuration(v);
  } catch (err) {
    return invalid(`${(err as Error).message.replace(/^invalid duration "[^"]*": /, "")}.`);
  }
}

/** A retention duration: a duration (see parseDurationMs) or `forever` / `-1` for no time limit. */
export function parseRetention(value: string): number {
  const v = value.trim().toLowerCase();
  if (v === "-1" || v === "forever" || v === "infinite" || v === "none") return -1;
  try {
    return parseDurationMs(value);
  } catch (err) {
    return invalid(`${(err as Error).message} Use -1 or "forever" to keep records forever.`);
  }
}

/** Milliseconds as a plain integer, -1 for "no limit". */
export function parseMsOrUnlimited(value: string): number {
  const v = value.trim();
  if (v === "-1") return -1;
  if (!/^\d+$/.test(v)) invalid("expected a number of milliseconds (or -1 for no limit).");
  return Number(v);
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** A size in bytes: `1048576`, `64MB`, `1GiB` (1024-based units). */
export function parseBytes(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  if (!m) invalid("expected a size in bytes like 1048576, 64MB or 1GB.");
  const factor = BYTE_UNITS[m[2].toLowerCase()];
  if (factor === undefined) invalid(`unknown size unit "${m[2]}"; use B, KB, MB, GB or TB.`);
  const n = Math.floor(Number(m[1]) * factor);
  if (!(n > 0)) invalid("the size must be greater than 0.");
  return n;
}

/** A size in bytes, or -1 / `unlimited` for no limit. */
export function parseBytesOrUnlimited(value: string): number {
  const v = value.trim().toLowerCase();
  if (v === "-1" || v === "unlimited" || v === "none") return -1;
  return parseBytes(value);
}

/** `--flush always|os|interval:50ms` (delegates to the log's own parser). */
export async function parseFlushOption(value: string | undefined): Promise<FlushPolicy | undefined> {
  if (value === undefined) return undefined;
  const { parseFlushPolicy } = await import("../log/index.js");
  try {
    return parseFlushPolicy(value);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^weir:\s*/, "") : String(err);
    throw usageError(`--flush ${q(value)}: ${reason} (use always, os or interval:50ms)`);
  }
}
