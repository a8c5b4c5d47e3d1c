/**
 * The reasons a record fails to decode. They land in dead letters (`{"error": "<reason>", ...}`), so
 * they are stable, lowercase, one line, and name the field path:
 *
 *   invalid JSON: Unexpected end of JSON input
 *   expected a JSON object, got array
 *   missing field "user_id"
 *   field "user_id": expected integer, got string "12"
 *   field "date": unparseable timestamp "2021-13-45 00:00:00"
 *   field "items[3].name": expected string, got null
 *
 * These functions run only on the failure path. What they quote is cut between characters and
 * well-formed (no half of a surrogate pair), so that every sink can store the reason.
 */
import { cutText, wellFormed } from "../util/text.js";

/** Longest quoted value in a reason (characters of the value, before JSON escaping). */
export const MAX_QUOTED = 60;
const MAX_JSON_MESSAGE = 200;

/** `string "12"`, `number 1.5`, `boolean true`, `null`, `array`, `object`, `undefined`. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return `string ${quote(v)}`;
    case "number":
    case "boolean":
    case "bigint":
      return `${typeof v} ${String(v)}`;
    case "object":
      return Array.isArray(v) ? "array" : "object";
    default:
      return typeof v;
  }
}

/** The bare JSON type name: array, string, number, boolean, null, object (or undefined, function...). */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** A string as a JSON literal, truncated to MAX_QUOTED characters (marked with "..."). */
export function quote(s: string): string {
  const q = JSON.stringify(cutText(s, MAX_QUOTED));
  // JSON.stringify leaves U+2028/U+2029 as they are; some viewers break lines on them.
  return q.replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function invalidJson(err: unknown): string {
  let msg = err instanceof Error ? err.message : String(err);
  msg = msg.replace(/\s+/g, " ").trim();
  // V8 quotes the start of the line cut in UTF-16 units: possibly half of a surrogate pair.
  return `invalid JSON: ${wellFormed(cutText(msg, MAX_JSON_MESSAGE))}`;
}

function prefix(path: string): string {
  return path === "" ? "" : `field ${JSON.stringify(path)}: `;
}

/**
 * A value failed a type check. `expected` is "integer", "string", `one of ["a", "b"]`...
 * `absentIsMissing`: an undefined value means the field is missing (object fields), rather than
 * an undefined value (array items, the root of decodeValue).
 */
export function mismatch(path: string, v: unknown, expected: string, absentIsMissing: boolean): string {
  if (v === undefined && absentIsMissing) return `missing field ${JSON.stringify(path)}`;
  if (path === "" && expected === "object") return `expected a JSON object, got ${typeName(v)}`;
  return `${prefix(path)}expected ${expected}, got ${describeValue(v)}`;
}

/** A timestamp field failed: strings are "unparseable", other values the wrong type. */
export function badTimestamp(path: string, v: unknown, absentIsMissing: boolean): string {
  if (typeof v === "string") return `${prefix(path)}unparseable timestamp ${quote(v)}`;
  return mismatch(path, v, "timestamp", absentIsMissing);
}

/** The `expected ...` text of a literal / oneOf schema. */
export function expectedLiterals(values: readonly unknown[]): string {
  const show = (v: unknown): string => (typeof v === "string" ? quote(v) : JSON.stringify(v));
  if (values.length === 1) return show(values[0]);
  const shown = values.slice(0, 10).map(show);
  if (values.length > 10) shown.push(`... (${values.length} values)`);
  return `one of [${shown.join(", ")}]`;
}
