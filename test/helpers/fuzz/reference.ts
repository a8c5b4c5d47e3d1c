/**
 * The fuzz harness's reference: what `weir run <fuzz pipeline> --input FILE` must make of a file,
 * computed straight from its bytes by the rules the docs state (docs/semantics.md, Records and
 * parsing), independently of Weir's own reader and decoder — only event-time strings are read with
 * the public `parseEventTime` (its own tests cover it).
 *
 * - Records: the file split at LF bytes (a CR before the LF dropped), a UTF-8 BOM dropped at byte
 *   0 only, blank lines (spaces, tabs, CRs) skipped; each other line is the record at the next
 *   offset.
 * - Each record gets a verdict:
 *   - `invalid`: longer than the line limit, not UTF-8, not JSON, not an object, or not the schema:
 *     it must be a dead letter (`{error, raw, topic, partition, offset}`) and reach no sink;
 *   - `valid`: it must reach every sink, exactly, and make no dead letter;
 *   - `doubtful`: the record is well-formed JSON of the schema but holds what some store cannot
 *     keep exactly (a lone surrogate — not Unicode, RFC 8259 §8.2 —, nesting deeper than
 *     `SAFE_DEPTH`, table keys over 2048 bytes, event times before 4714 BC; for PostgreSQL: NUL).
 *     Either it reaches every sink exactly, or it is a dead letter — at the source (no sink gets
 *     it), or at the steps that could not take it (their dead letters name them; the other
 *     branches still get it, docs/semantics.md). Never a crash, never a changed value.
 */
import { parseEventTime } from "../../../src/index.js";
import { MAX_TABLE_KEY_BYTES } from "../../../src/util/records.js";

export type Store = "sqlite" | "postgres";
export type Verdict = "valid" | "invalid" | "doubtful";

/** Nesting every sink must take (JSON.stringify itself overflows somewhere past 3,000 levels). */
export const SAFE_DEPTH = 128;
/** Earliest event time a table stores (PostgreSQL's TIMESTAMPTZ, on every store): 4714-11-24 BC. */
export const PG_MIN_TIME = Date.UTC(-4713, 10, 24);
/** Longest table key (UTF-8 bytes) every store takes: longer ones are dead letters (docs/tables.md). */
export const MAX_KEY_BYTES = MAX_TABLE_KEY_BYTES;

/** The fuzz pipeline's record as its sinks get it (test/fixtures/fuzz-pipeline.ts). */
export interface FuzzRow {
  offset: number;
  id: number;
  name: string;
  amount: number;
  flag: boolean | null;
  at: Date;
  tags?: string[];
  payload: unknown;
}

export interface RefRecord {
  offset: number;
  /** The line's bytes (no line break). */
  bytes: Buffer;
  /** The line as text, when it is UTF-8. */
  text: string | undefined;
  verdict: Verdict;
  /** Why: the kind of problem (for messages), "ok" for valid records. */
  why: string;
  /** The record the sinks get (valid and doubtful records). */
  row?: FuzzRow;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The record lines of a file, by the documented rules (BOM, LF/CRLF, blank lines). */
export function recordLines(file: Buffer): Buffer[] {
  let start = file.length >= 3 && file[0] === 0xef && file[1] === 0xbb && file[2] === 0xbf ? 3 : 0;
  const out: Buffer[] = [];
  while (start < file.length) {
    let end = file.indexOf(0x0a, start);
    const next = end === -1 ? file.length : end + 1;
    if (end === -1) end = file.length;
    let stop = end;
    if (stop > start && file[stop - 1] === 0x0d) stop--;
    const line = file.subarray(start, stop);
    if (!line.every((b) => b === 0x20 || b === 0x09 || b === 0x0d)) out.push(line);
    start = next;
  }
  return out;
}

/** Each record of the file with its verdict. `limitBytes`: the longest line accepted. */
export function reference(file: Buffer, store: Store, limitBytes: number): RefRecord[] {
  return recordLines(file).map((bytes, offset) => judge(bytes, offset, store, limitBytes));
}

function judge(bytes: Buffer, offset: number, store: Store, limitBytes: number): RefRecord {
  const rec: RefRecord = { offset, bytes, text: undefined, verdict: "invalid", why: "" };
  if (bytes.length > limitBytes) return { ...rec, why: `line of ${bytes.length} bytes, over the limit` };
  try {
    rec.text = utf8.decode(bytes);
  } catch {
    return { ...rec, why: "not UTF-8" };
  }
  let v: unknown;
  try {
    v = JSON.parse(rec.text);
  } catch {
    return { ...rec, why: "not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { ...rec, why: "not an object" };
  const o = v as Record<string, unknown>;
  const field = (k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
  const { id, name, amount, flag, at, tags, payload } = {
    id: field("id"),
    name: field("name"),
    amount: field("amount"),
    flag: field("flag"),
    at: field("at"),
    tags: field("tags"),
    payload: field("payload"),
  };
  const bad = (f: string) => ({ ...rec, why: `schema: ${f}` });
  if (typeof id !== "number" || !Number.isSafeInteger(id)) return bad("id");
  if (typeof name !== "string") return bad("name");
  if (typeof amount !== "number" || !Number.isFinite(amount)) return bad("amount");
  if (flag !== null && typeof flag !== "boolean") return bad("flag");
  const time = typeof at === "string" || typeof at === "number" ? parseEventTime(at) : undefined;
  if (time === undefined) return bad("at");
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((s) => typeof s === "string")))
    return bad("tags");
  if (payload === undefined) return bad("payload");

  // The key order of the pipeline's values: offset, then the schema's fields (an absent optional
  // field stays absent).
  const row: FuzzRow =
    tags === undefined
      ? { offset, id, name, amount, flag, at: new Date(time), payload }
      : { offset, id, name, amount, flag, at: new Date(time), tags: tags as string[], payload };
  const doubt = doubtful(row, store);
  return { ...rec, verdict: doubt === undefined ? "valid" : "doubtful", why: doubt ?? "ok", row };
}

/** What makes a schema-valid record one some store cannot keep exactly (see the file comment). */
function doubtful(row: FuzzRow, store: Store): string | undefined {
  const strings: string[] = [row.name, ...(row.tags ?? [])];
  const depth = walk(row.payload, strings);
  if (strings.some(hasLoneSurrogate)) return "lone surrogate";
  if (depth > SAFE_DEPTH) return `nested ${depth} levels`;
  if (Buffer.byteLength(row.name) > MAX_KEY_BYTES) return "long table key";
  if (row.at.getTime() < PG_MIN_TIME) return "time before 4714 BC (tables)";
  if (store === "postgres") {
    if (strings.some((s) => s.includes("\u0000"))) return "NUL (PostgreSQL)";
  }
  return undefined;
}

/** The nesting depth of a JSON value (iteratively: values may be thousands deep); collects its strings and keys. */
export function walk(value: unknown, strings: string[]): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v === "string") strings.push(v);
    if (typeof v !== "object" || v === null) continue;
    if (d + 1 > max) max = d + 1;
    if (Array.isArray(v)) for (const x of v) stack.push([x, d + 1]);
    else
      for (const [k, x] of Object.entries(v)) {
        strings.push(k);
        stack.push([x, d + 1]);
      }
  }
  return max;
}

export function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) i++;
      else return true;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/**
 * JSON text with object keys sorted, at any depth (iteratively): compares values whatever the key
 * order a store gives back (PostgreSQL's JSONB sorts them its own way). -0 prints as 0.
 */
export function canonicalJson(value: unknown): string {
  let out = "";
  type Frame = { items: Array<[string | undefined, unknown]>; i: number; close: string };
  const stack: Frame[] = [];
  const open = (v: unknown): void => {
    if (v !== null && typeof v === "object" && !(v instanceof Date)) {
      if (Array.isArray(v)) {
        out += "[";
        stack.push({ items: v.map((x) => [undefined, x]), i: 0, close: "]" });
      } else {
        out += "{";
        const keys = Object.keys(v).sort();
        stack.push({
          items: keys.map((k) => [k, (v as Record<string, unknown>)[k]]),
          i: 0,
          close: "}",
        });
      }
    } else out += JSON.stringify(v) ?? "null";
  };
  open(value);
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    if (f.i === f.items.length) {
      out += f.close;
      stack.pop();
      continue;
    }
    const [k, v] = f.items[f.i];
    if (f.i > 0) out += ",";
    f.i++;
    if (k !== undefined) out += JSON.stringify(k) + ":";
    open(v);
  }
  return out;
}
