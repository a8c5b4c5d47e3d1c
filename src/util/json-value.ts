/**
 * Record values as JSON, keeping what JSON alone would lose: Dates (as `{"$date": ms}`), bigints
 * (`{"$bigint": "..."}`) and non-finite numbers (`{"$num": "NaN"}`). An object with a key starting
 * with `$` is wrapped in `{"$obj": ...}` so it cannot be mistaken for a tag. Used by the interval
 * join's checkpoints and by records crossing Kafka between partition tasks (repartition and
 * storage topics).
 */

/** True when `v` holds something plain JSON would lose or mistake for a tag (no allocation). */
export function needsTags(v: unknown): boolean {
  if (v === null) return false;
  switch (typeof v) {
    case "string":
    case "boolean":
      return false;
    case "number":
      return !Number.isFinite(v);
    case "bigint":
      return true;
    case "object":
      break;
    default:
      return false;
  }
  if (v instanceof Date) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (needsTags(v[i])) return true;
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (k.charCodeAt(0) === 36 /* $ */) return true;
    if (needsTags(o[k])) return true;
  }
  return false;
}

/** A JSON-safe copy of `v` with the tags above (what JSON.stringify would drop is dropped). */
export function encodeJsonValue(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : { $num: String(v) };
  if (typeof v === "bigint") return { $bigint: v.toString() };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i] === undefined ? null : encodeJsonValue(v[i]);
    return out;
  }
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    let tagLike = false;
    const o = v as Record<string, unknown>;
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
      const x = o[k];
      if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
      if (k.charCodeAt(0) === 36 /* $ */) tagLike = true;
      out[k] = encodeJsonValue(x);
    }
    return tagLike ? { $obj: out } : out;
  }
  return null; // undefined, functions, symbols: what JSON.stringify drops
}

/** Undo encodeJsonValue on a parsed value (a new value; the input is not changed). */
export function decodeJsonValue(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(decodeJsonValue);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const k = keys[0];
    if (k === "$date") return new Date((o.$date as number | null) ?? NaN); // null: an invalid Date
    if (k === "$num") return Number(o.$num);
    if (k === "$bigint") return BigInt(o.$bigint as string);
    if (k === "$obj") return decodeFields(o.$obj as Record<string, unknown>);
  }
  return decodeFields(o);
}

function decodeFields(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = decodeJsonValue(o[k]);
  return out;
}

/**
 * `v` as JSON text, tagged only when it needs to be: `tagged` says whether a reader must
 * decodeJsonValue what it parses. Throws what JSON.stringify throws (a cycle).
 */
export function valueToJson(v: unknown): { json: string; tagged: boolean } {
  if (!needsTags(v)) return { json: JSON.stringify(v) ?? "null", tagged: false };
  return { json: JSON.stringify(encodeJsonValue(v)), tagged: true };
}
