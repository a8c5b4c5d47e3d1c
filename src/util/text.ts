/**
 * Text that every sink accepts, and bytes that are not text.
 *
 * JavaScript strings are UTF-16 and may hold lone surrogates (half of a surrogate pair): a JSON
 * escape such as `"\ud83d"` in the input gives one, and so does cutting a string in the middle of
 * a pair. No UTF-8 sink can hold one — DuckDB refuses it in JSON ("no low surrogate in string"),
 * PostgreSQL refuses the escape in JSONB, SQLite stores invalid bytes — so text Weir makes (its
 * messages) is made well-formed where it is made, and a sink that cannot hold a lone surrogate gets
 * U+FFFD in its place (what the WHATWG encoding standard does to every string it encodes).
 *
 * Bytes that are not UTF-8 are found with `buffer.isUtf8` (native, many GB/s); where exactly, on
 * the slow path only, with `firstInvalidUtf8` (the Unicode standard's table 3-7 of well-formed
 * UTF-8 byte sequences, which isUtf8 also follows).
 */
import { isUtf8 } from "node:buffer";

export { isUtf8 };

/** `s` with every lone surrogate replaced by U+FFFD (the same string when it has none). */
export function wellFormed(s: string): string {
  return s.isWellFormed() ? s : s.toWellFormed();
}

/**
 * `s` cut to at most `max` UTF-16 units, never between the two halves of a surrogate pair, with
 * `mark` appended when something was cut.
 */
export function cutText(s: string, max: number, mark = "..."): string {
  if (s.length <= max) return s;
  let end = Math.max(0, max);
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--; // the high half of a pair whose low half is cut off
  return s.slice(0, end) + mark;
}

/**
 * The bytes buf[from, to) decoded as UTF-8, cut before an incomplete character at the end (so a
 * prefix of a longer text does not end in U+FFFD only because it was cut).
 */
export function decodePrefix(buf: Buffer, from: number, to: number): string {
  let end = to;
  // Step back over continuation bytes to the start of the last character, and drop it if incomplete.
  let k = end - 1;
  while (k >= from && k > end - 4 && (buf[k] & 0xc0) === 0x80) k--;
  if (k >= from) {
    const lead = buf[k];
    const need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (end - k < need) end = k;
  }
  return buf.toString("utf8", from, end);
}

/**
 * The position of the first byte of buf[from, to) that does not begin a well-formed UTF-8
 * sequence (a stray continuation byte, a lead byte whose sequence is cut short, an overlong form,
 * an encoded surrogate, a code point above U+10FFFF), or -1 when the range is UTF-8.
 */
export function firstInvalidUtf8(buf: Buffer, from = 0, to = buf.length): number {
  let i = from;
  while (i < to) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let size: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) size = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      size = 3;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      size = 4;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + size > to) return i;
    const second = buf[i + 1];
    if (second < lo || second > hi) return i;
    for (let k = 2; k < size; k++) if ((buf[i + k] & 0xc0) !== 0x80) return i;
    i += size;
  }
  return -1;
}

/** A JSON.stringify replacer: lone surrogates in strings and in object keys become U+FFFD. */
export function wellFormedReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "string") return wellFormed(value);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  let fixed: Record<string, unknown> | undefined;
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    if (fixed === undefined && k.isWellFormed()) continue;
    if (fixed === undefined) {
      // Rebuild the object from the start, keys made well-formed (in the same order).
      fixed = {};
      for (const j in value) {
        if (!Object.prototype.hasOwnProperty.call(value, j)) continue;
        fixed[wellFormed(j)] = (value as Record<string, unknown>)[j];
      }
      break;
    }
  }
  return fixed ?? value;
}

/**
 * `JSON.stringify(value)` with lone surrogates replaced by U+FFFD, in strings and in keys: JSON that
 * every UTF-8 reader accepts. JSON.stringify writes a lone surrogate as an escape (`\udXXX`, lower
 * case) and a pair as it is, so text without `\ud` needs nothing more (an escaped backslash before
 * `ud` only costs the slow path). Throws what JSON.stringify throws (a bigint, a cycle, nesting too
 * deep for the stack, a toJSON that throws).
 */
export function wellFormedJson(value: unknown): string | undefined {
  const text = JSON.stringify(value);
  if (text === undefined || !text.includes("\\ud")) return text;
  return JSON.stringify(value, wellFormedReplacer);
}

/** `n` bytes for messages: `52428800 bytes (50 MiB)` when it is a whole number of MiB, else `1234 bytes`. */
export function describeBytes(n: number): string {
  const mib = n / (1024 * 1024);
  return Number.isInteger(mib) && mib >= 1 ? `${n} bytes (${mib} MiB)` : `${n} bytes`;
}
