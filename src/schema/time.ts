/**
 * Event time (DESIGN.md section 4).
 *
 * Accepted inputs:
 * - "YYYY-MM-DD HH:MM:SS" (also with "T" for the space, an optional fraction ".SSS" of 1-9 digits,
 *   and without seconds "YYYY-MM-DD HH:MM", or a bare date "YYYY-MM-DD" = local midnight): without a
 *   zone this is wall-clock time in the given zone, UTC by default;
 * - the same with "Z" or an offset "+hh:mm" / "-hh:mm" (also "+hhmm", "+hh"): exact, whatever the zone;
 * - epoch milliseconds as an integer number (a JSON integer), and a valid Date.
 *
 * Impossible dates and times (month 13, Feb 30, hour 24, second 60) are rejected, never rolled over.
 * The common "YYYY-MM-DD HH:MM:SS" form is parsed by hand; the other forms by one strict regex.
 */
import { WeirError } from "../errors.js";
import { daysFromCivil, getZone, type Zone } from "./zone.js";

/** Largest |epoch ms| a Date can hold. */
const MAX_TIME = 8.64e15;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Parses an event-time string to epoch ms, or NaN when it is not an accepted form or not a real
 * date-time. `zone` (null = UTC) applies only to strings without "Z"/offset.
 */
export function parseTimeString(s: string, zone: Zone | null): number {
  if (s.length !== 19) return parseSlow(s, zone);
  // Fast path: "YYYY-MM-DD HH:MM:SS" / "YYYY-MM-DDTHH:MM:SS", with as few branches as possible.
  const y0 = s.charCodeAt(0) - 48;
  const y1 = s.charCodeAt(1) - 48;
  const y2 = s.charCodeAt(2) - 48;
  const y3 = s.charCodeAt(3) - 48;
  const m0 = s.charCodeAt(5) - 48;
  const m1 = s.charCodeAt(6) - 48;
  const d0 = s.charCodeAt(8) - 48;
  const d1 = s.charCodeAt(9) - 48;
  const h0 = s.charCodeAt(11) - 48;
  const h1 = s.charCodeAt(12) - 48;
  const i0 = s.charCodeAt(14) - 48;
  const i1 = s.charCodeAt(15) - 48;
  const s0 = s.charCodeAt(17) - 48;
  const s1 = s.charCodeAt(18) - 48;
  const sep = s.charCodeAt(10);
  // Separators: each XOR is 0 exactly when the character is right ("-", "-", ":", ":", " " or "T").
  if (
    (s.charCodeAt(4) ^ 45) |
    (s.charCodeAt(7) ^ 45) |
    (s.charCodeAt(13) ^ 58) |
    (s.charCodeAt(16) ^ 58) |
    ((sep ^ 32) & (sep ^ 84))
  ) {
    return parseSlow(s, zone);
  }
  // Digits: d | (9 - d) is negative exactly when d is outside 0..9.
  if (
    (y0 |
      (9 - y0) |
      y1 |
      (9 - y1) |
      y2 |
      (9 - y2) |
      y3 |
      (9 - y3) |
      m0 |
      (9 - m0) |
      m1 |
      (9 - m1) |
      d0 |
      (9 - d0) |
      d1 |
      (9 - d1) |
      h0 |
      (9 - h0) |
      h1 |
      (9 - h1) |
      i0 |
      (9 - i0) |
      i1 |
      (9 - i1) |
      s0 |
      (9 - s0) |
      s1 |
      (9 - s1)) <
    0
  ) {
    return NaN;
  }
  return toEpoch(
    y0 * 1000 + y1 * 100 + y2 * 10 + y3,
    m0 * 10 + m1,
    d0 * 10 + d1,
    h0 * 10 + h1,
    i0 * 10 + i1,
    s0 * 10 + s1,
    0,
    zone,
  );
}

function parseSlow(s: string, zone: Zone | null): number {
  const m = ISO.exec(s);
  if (m === null) return NaN;
  let ms = 0;
  if (m[7] !== undefined) ms = Number((m[7] + "00").slice(0, 3));
  if (m[4] === undefined) {
    // A bare date: local midnight.
    return toEpoch(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0, 0, zone);
  }
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  if (m[8] !== undefined) return toEpoch(Number(m[1]), Number(m[2]), Number(m[3]), h, mi, sec, ms, null);
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return NaN;
    const utcAsLocal = toEpoch(Number(m[1]), Number(m[2]), Number(m[3]), h, mi, sec, ms, null);
    const offset = (oh * 60 + om) * 60_000;
    const t = m[9] === "-" ? utcAsLocal + offset : utcAsLocal - offset;
    return t >= -MAX_TIME && t <= MAX_TIME ? t : NaN;
  }
  return toEpoch(Number(m[1]), Number(m[2]), Number(m[3]), h, mi, sec, ms, zone);
}

function toEpoch(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
  zone: Zone | null,
): number {
  if (mo < 1 || mo > 12 || d < 1 || (d > 28 && d > daysInMonth(y, mo)) || h > 23 || mi > 59 || s > 59)
    return NaN;
  const local = (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms;
  return zone === null ? local : zone.toUtc(local);
}

/**
 * Event time of a value in epoch ms, or NaN. Strings as in parseTimeString; numbers must be integers
 * (epoch milliseconds) within the Date range; a valid Date is taken as is.
 */
export function eventTimeOf(v: unknown, zone: Zone | null): number {
  if (typeof v === "string") return parseTimeString(v, zone);
  if (typeof v === "number") return Number.isInteger(v) && v >= -MAX_TIME && v <= MAX_TIME ? v : NaN;
  if (v instanceof Date) return v.getTime();
  return NaN;
}

/**
 * Parses an event time to epoch milliseconds; undefined when `input` is not an accepted form or
 * not a real date-time. `zone` (IANA name, default UTC) applies to strings without "Z" or offset.
 * Throws WeirError USAGE for an unknown zone (a caller's mistake, not bad data).
 *
 * parseEventTime("2021-11-30 00:00:00")                  // 1638230400000
 * parseEventTime("2021-11-30 05:30:00", "Asia/Kolkata")  // 1638230400000
 * parseEventTime(1638230400000)                          // 1638230400000
 */
export function parseEventTime(input: unknown, zone?: string): number | undefined {
  const t = eventTimeOf(input, getZone(zone));
  return t === t ? t : undefined;
}

/** ISO-8601 UTC with milliseconds, as every Weir output writes event times: `2021-11-30T00:01:00.000Z`. */
export function formatTimestamp(ms: number | Date): string {
  const t = typeof ms === "number" ? ms : ms instanceof Date ? ms.getTime() : NaN;
  if (!(t >= -MAX_TIME && t <= MAX_TIME)) {
    throw new WeirError("USAGE", `formatTimestamp: ${String(ms)} is not a valid time (epoch milliseconds)`);
  }
  return new Date(t).toISOString();
}
