/**
 * Time zones for zone-less event times ("2021-11-30 00:00:00" written in local time).
 *
 * Offsets come from Intl.DateTimeFormat (the tz database shipped with Node's ICU), which is slow
 * (microseconds per call), so they are cached per zone and per hour: the hot path of a stream in
 * mostly increasing time is one comparison. Hours that contain a transition are resolved exactly.
 *
 * A wall-clock time that is ambiguous (it occurs twice when clocks go back) maps to the earlier
 * instant; a wall-clock time that does not exist (skipped when clocks go forward) is moved forward
 * by the length of the gap ("02:30" becomes "03:30" of the new offset). These are the "compatible"
 * rules of java.time and of Temporal.
 */
import { WeirError } from "../errors.js";

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MAX_CACHE = 50_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). Exact for every year. */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = (((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) | 0) + d - 1;
  const doe = yoe * 365 + ((yoe / 4) | 0) - ((yoe / 100) | 0) + doy;
  return era * 146097 + doe - 719468;
}

interface Transition {
  /** First UTC millisecond with the new offset. */
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

/** A time zone that converts local wall-clock milliseconds to UTC epoch milliseconds. */
export class Zone {
  readonly name: string;
  /** Offset in ms for fixed-offset zones ("+05:30"); undefined for tz database zones. */
  private readonly fixed: number | undefined;
  private readonly fmt: Intl.DateTimeFormat | undefined;

  // UTC hour bucket -> offset (hours without a transition) or the transition inside the hour.
  private readonly utcOffsets = new Map<number, number>();
  private readonly utcTransitions = new Map<number, Transition>();
  // Local hour bucket -> offset, or NaN when the bucket is within a day of a transition.
  private readonly localOffsets = new Map<number, number>();
  private lastLocalBucket = NaN;
  private lastLocalOffset = 0;

  /** @internal use getZone(). */
  constructor(name: string, fixed: number | undefined) {
    this.name = name;
    this.fixed = fixed;
    this.fmt =
      fixed === undefined
        ? new Intl.DateTimeFormat("en-US", {
            timeZone: name,
            hourCycle: "h23",
            era: "short",
            year: "numeric",
            month: "numeric",
            day: "numeric",
            hour: "numeric",
            minute: "numeric",
            second: "numeric",
          })
        : undefined;
  }

  /** UTC epoch ms of a wall-clock time in this zone, given as ms since 1970-01-01T00:00 local. */
  toUtc(local: number): number {
    if (this.fixed !== undefined) return local - this.fixed;
    const bucket = Math.floor(local / HOUR);
    if (bucket === this.lastLocalBucket) return local - this.lastLocalOffset;
    let offset = this.localOffsets.get(bucket);
    if (offset === undefined) {
      // No transition from a day before to a day after this local hour => one offset for all of it
      // (offsets are within +-18 h, so every candidate instant lies inside that window).
      const start = bucket * HOUR;
      const a = this.offsetAt(start - DAY);
      const b = this.offsetAt(start + HOUR + DAY);
      offset = a === b ? a : NaN;
      if (this.localOffsets.size >= MAX_CACHE) this.localOffsets.clear();
      this.localOffsets.set(bucket, offset);
    }
    if (offset === offset) {
      this.lastLocalBucket = bucket;
      this.lastLocalOffset = offset;
      return local - offset;
    }
    return this.resolveNearTransition(local);
  }

  private resolveNearTransition(local: number): number {
    const before = this.offsetAt(local - DAY);
    const after = this.offsetAt(local + DAY);
    let best = NaN;
    const t1 = local - before;
    if (this.offsetAt(t1) === before) best = t1;
    if (after !== before) {
      const t2 = local - after;
      if (this.offsetAt(t2) === after && !(t2 >= best)) best = t2;
    }
    // Valid under one offset, or the earlier of two (ambiguous); else in a gap: shift forward.
    return best === best ? best : local - before;
  }

  /** The zone's offset (local - UTC, in ms) at a UTC instant. */
  offsetAt(t: number): number {
    if (this.fixed !== undefined) return this.fixed;
    const bucket = Math.floor(t / HOUR);
    const offset = this.utcOffsets.get(bucket);
    if (offset !== undefined) return offset;
    const tr = this.utcTransitions.get(bucket);
    if (tr !== undefined) return t >= tr.at ? tr.after : tr.before;
    return this.fillUtcBucket(bucket, t);
  }

  private fillUtcBucket(bucket: number, t: number): number {
    if (this.utcOffsets.size >= MAX_CACHE) this.utcOffsets.clear();
    if (this.utcTransitions.size >= MAX_CACHE) this.utcTransitions.clear();
    let lo = bucket * HOUR;
    let hi = lo + HOUR - 1;
    const before = this.rawOffset(lo);
    const after = this.rawOffset(hi);
    if (before === after) {
      this.utcOffsets.set(bucket, before);
      return before;
    }
    // One transition inside this hour (they are months apart): find its first millisecond.
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.rawOffset(mid) === before) lo = mid;
      else hi = mid;
    }
    const tr: Transition = { at: hi, before, after };
    this.utcTransitions.set(bucket, tr);
    return t >= tr.at ? after : before;
  }

  /** Uncached offset from Intl, to the second. */
  private rawOffset(t: number): number {
    let y = 0;
    let mo = 1;
    let d = 1;
    let h = 0;
    let mi = 0;
    let s = 0;
    let bc = false;
    for (const p of this.fmt!.formatToParts(t)) {
      switch (p.type) {
        case "year":
          y = Number(p.value);
          break;
        case "month":
          mo = Number(p.value);
          break;
        case "day":
          d = Number(p.value);
          break;
        case "hour":
          h = Number(p.value);
          break;
        case "minute":
          mi = Number(p.value);
          break;
        case "second":
          s = Number(p.value);
          break;
        case "era":
          bc = p.value.startsWith("B");
          break;
        default:
          break;
      }
    }
    if (bc) y = 1 - y;
    const wall = (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
    return wall - (t - (((t % 1000) + 1000) % 1000));
  }
}

const zones = new Map<string, Zone | null>();
const UTC_NAMES: ReadonlySet<string> = new Set([
  "UTC",
  "Etc/UTC",
  "GMT",
  "Etc/GMT",
  "Etc/UCT",
  "UCT",
  "Etc/Universal",
  "Universal",
  "Etc/Zulu",
  "Zulu",
  "Etc/Greenwich",
  "Greenwich",
  "Etc/GMT0",
  "Etc/GMT+0",
  "Etc/GMT-0",
  "GMT0",
  "GMT+0",
  "GMT-0",
]);
const FIXED = /^([+-])(\d{2}):?(\d{2})$/;

function resolve(name: string): Zone | null {
  if (name === "" || name === "Z" || name === "z") return null;
  const m = FIXED.exec(name);
  if (m !== null) {
    const hh = Number(m[2]);
    const mm = Number(m[3]);
    if (hh > 23 || mm > 59) throw badZone(name);
    const offset = (m[1] === "-" ? -1 : 1) * (hh * 60 + mm) * 60_000;
    return offset === 0 ? null : new Zone(`${m[1]}${m[2]}:${m[3]}`, offset);
  }
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw badZone(name);
  }
  if (UTC_NAMES.has(canonical)) return null;
  return new Zone(displayName(name, canonical), undefined);
}

let knownNames: Map<string, string> | undefined;

/**
 * The name to show for a valid zone: the user's spelling (ICU would turn "Asia/Kolkata" into its
 * older "Asia/Calcutta"), with the letter case of the tz database when it is only a case variant.
 */
function displayName(name: string, canonical: string): string {
  if (knownNames === undefined) {
    knownNames = new Map();
    const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
    for (const z of supported?.("timeZone") ?? []) knownNames.set(z.toLowerCase(), z);
  }
  const lower = name.toLowerCase();
  if (canonical.toLowerCase() === lower) return canonical;
  return knownNames.get(lower) ?? name;
}

function badZone(name: string): WeirError {
  return new WeirError(
    "USAGE",
    `unknown time zone ${JSON.stringify(name)}: use an IANA name such as "Asia/Kolkata", "Europe/Berlin" or "UTC", or a fixed offset such as "+05:30"`,
  );
}

/**
 * The zone for a name: an IANA name (case-insensitive), "UTC", or a fixed offset "+hh:mm". Returns
 * null for UTC (no conversion needed). Throws WeirError USAGE for an unknown zone.
 */
export function getZone(name: string | undefined): Zone | null {
  if (name === undefined) return null;
  let z = zones.get(name);
  if (z === undefined) {
    z = resolve(name);
    zones.set(name, z);
  }
  return z;
}

/** Validates a zone name and returns its canonical form ("UTC" for every spelling of UTC). */
export function normalizeZone(name: string): string {
  if (typeof name !== "string") throw badZone(String(name));
  const z = getZone(name);
  return z === null ? "UTC" : z.name;
}
