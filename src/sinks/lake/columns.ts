/**
 * Column types of a lake dataset, learned from the rows as they are appended (one `typeof` per field)
 * and turned into DuckDB types when a batch is converted to Parquet or CSV:
 *
 * | values seen in the column                                   | type         |
 * |-------------------------------------------------------------|--------------|
 * | Date objects; ISO-8601 strings with a zone (`...T...Z`)     | TIMESTAMPTZ  |
 * | in a column named like a time (`date`, `ts`, `*_at`, `*_time`, `window_start`...): also zone-less `YYYY-MM-DD HH:MM:SS` strings (UTC) and integer epoch milliseconds (1973..2286) | TIMESTAMPTZ |
 * | integers / integers and fractions / bigints                 | BIGINT / DOUBLE / DECIMAL(38,0) |
 * | booleans                                                    | BOOLEAN      |
 * | objects or arrays (anywhere in the column)                  | JSON         |
 * | numbers or booleans mixed with other kinds (`1` and `"a"`, `1` and `true`) | JSON: each value keeps its kind |
 * | strings (also with timestamps mixed in), only nulls (the manifest says NULL) | VARCHAR |
 *
 * Names and text are written so that DuckDB takes them (see ColumnTracker.columnName; lone surrogates
 * in strings become U+FFFD), integers beyond BIGINT's range are DOUBLE, and a bigint beyond
 * DECIMAL(38,0) makes its column VARCHAR.
 *
 * Timestamps are UTC instants: Parquet `TIMESTAMP(isAdjustedToUTC=true, MICROS)`, which DuckDB,
 * Spark and BigQuery read as TIMESTAMP; CSV writes them as `2021-11-30T00:01:00.000Z`.
 */

import { wellFormed, wellFormedReplacer } from "../../util/text.js";

const BOOL = 1;
const INT = 2;
/** An integer in a time-named column, in the range of epoch milliseconds. */
const MS = 4;
const FLOAT = 8;
/** A string that looks like a timestamp. */
const TS = 16;
/** A Date. */
const DATE = 256;
const STR = 32;
const JSON_ = 64;
const BIG = 128;
const NUMERIC = INT | MS | FLOAT | BIG;

/** DECIMAL(38,0)'s range: (-10^38, 10^38). */
const DECIMAL_LIMIT = 10n ** 38n;
/** BIGINT's range: [-2^63, 2^63). */
const MIN_INT64 = -9223372036854775808;
const MAX_INT64 = 9223372036854775808;

/** 1973-03-03 .. 2286-11-20 in epoch milliseconds. */
const MIN_MS = 1e11;
const MAX_MS = 1e13;

const ISO_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/;
const ISO_LOCAL = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;
const TIME_NAME =
  /(?:^|_)(?:date|time|timestamp|datetime|ts|at|start|end)$|^(?:created|updated|modified|timestamp_ms|time_ms|ts_ms)$/i;

/** Is `name` a column name that reads as a point in time? */
export function isTimeName(name: string): boolean {
  return TIME_NAME.test(name);
}

interface ColumnState {
  /** The field's name in the rows. */
  readonly name: string;
  /** The column's name in the files: `name`, unless a reader could not take it (see columnName). */
  readonly column: string;
  flags: number;
  readonly timeNamed: boolean;
  /** `"column":` as JSON, ready to concatenate, and with a comma before it. */
  readonly prefix: string;
  readonly prefixComma: string;
}

/** How one column is read from the JSON lines and written out. */
/** The manifest's type of a column that held only nulls in a commit (its files have VARCHAR). */
export const NULL_COLUMN = "NULL";

export interface ColumnPlan {
  name: string;
  /** The DuckDB type of the written column. */
  type: string;
  /** The type given to read_json for the column. */
  readAs: string;
  /** SQL producing the written column from the read one. */
  expr: string;
  /**
   * Only nulls so far: written as VARCHAR, recorded in the manifest as NULL, so that a reader
   * takes the type of the column's other commits (which commit a value falls in depends on when
   * checkpoints came, and must not change what the dataset reads back as).
   */
  nullOnly: boolean;
}

export class ColumnTracker {
  private readonly columns = new Map<string, ColumnState>();
  /** The columns of the last rows, by position: rows of one shape skip the map lookup. */
  private readonly shape: ColumnState[] = [];
  /** Column names in use, lower-cased (DuckDB's names are case-insensitive). */
  private readonly taken = new Set<string>();

  private state(name: string): ColumnState {
    let state = this.columns.get(name);
    if (state === undefined) {
      const column = this.columnName(name);
      const prefix = JSON.stringify(column) + ":";
      state = { name, column, flags: 0, timeNamed: isTimeName(name), prefix, prefixComma: "," + prefix };
      this.columns.set(name, state);
    }
    return state;
  }

  /**
   * The column of field `name`: the name itself, unless DuckDB (which writes the files) or a reader
   * could not take it. Lone surrogates and U+0000 become U+FFFD, an empty name becomes `_`, and a
   * name equal to an earlier column's but for case (DuckDB's names are case-insensitive: `a` and
   * `A` would be one column) gets `_2`, `_3`...
   */
  private columnName(name: string): string {
    let base = wellFormed(name);
    if (base.includes("\0")) base = base.replace(/\0/g, "\ufffd");
    if (base === "") base = "_";
    let column = base;
    for (let n = 2; this.taken.has(column.toLowerCase()); n++) column = `${base}_${n}`;
    this.taken.add(column.toLowerCase());
    return column;
  }

  /**
   * The row as one JSON line (without the newline), recording the types of its fields on the way:
   * the lake's hot path. Gives what JSON.stringify gives (bigints become strings) at about half its
   * cost for rows with Dates: scalars and Dates are written here, nested values by JSON.stringify.
   */
  encode(row: Record<string, unknown>): string {
    if (typeof row.toJSON === "function") {
      const plain = JSON.parse(JSON.stringify(row, bigintAsString)) as unknown;
      return this.encode(
        plain !== null && typeof plain === "object" && !Array.isArray(plain)
          ? (plain as Record<string, unknown>)
          : { value: plain },
      );
    }
    const shape = this.shape;
    let out = "{";
    let i = 0;
    for (const name in row) {
      const v = row[name];
      let state = shape[i];
      if (state === undefined || state.name !== name) {
        state = this.state(name);
        shape[i] = state;
      }
      switch (typeof v) {
        case "number":
          if (Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64) {
            state.flags |= state.timeNamed && v >= MIN_MS && v < MAX_MS ? MS : INT;
            out += (i === 0 ? state.prefix : state.prefixComma) + v;
          } else if (Number.isFinite(v)) {
            // Fractions, and integers beyond BIGINT's range (DuckDB reads them as DOUBLE).
            state.flags |= FLOAT;
            out += (i === 0 ? state.prefix : state.prefixComma) + v;
          } else {
            out += (i === 0 ? state.prefix : state.prefixComma) + "null";
          }
          break;
        case "string":
          state.flags |= looksLikeTimestamp(v, state.timeNamed) ? TS : STR;
          out += (i === 0 ? state.prefix : state.prefixComma) + jsonString(v);
          break;
        case "boolean":
          state.flags |= BOOL;
          out += (i === 0 ? state.prefix : state.prefixComma) + (v ? "true" : "false");
          break;
        case "bigint":
          // DECIMAL(38,0) holds 38 digits: a longer bigint makes the column text.
          state.flags |= v < DECIMAL_LIMIT && v > -DECIMAL_LIMIT ? BIG : STR;
          out += (i === 0 ? state.prefix : state.prefixComma) + '"' + v + '"';
          break;
        case "object":
          if (v === null) {
            out += (i === 0 ? state.prefix : state.prefixComma) + "null";
          } else if (v instanceof Date) {
            state.flags |= DATE;
            out += (i === 0 ? state.prefix : state.prefixComma) + isoJson(v);
          } else {
            state.flags |= JSON_;
            let text = JSON.stringify(v, bigintAsString);
            if (text === undefined) continue; // an object whose toJSON gives undefined
            // A lone surrogate inside (JSON.stringify escapes it as \udXXX): DuckDB refuses it.
            if (text.includes("\\ud")) text = JSON.stringify(v, bigintAsWellFormed)!;
            out += (i === 0 ? state.prefix : state.prefixComma) + text;
          }
          break;
        default:
          continue; // undefined, functions, symbols: left out, as JSON.stringify does
      }
      i++;
    }
    return out + "}";
  }

  /** The column that field `name` is written to, once a row had it (see columnName). */
  columnOf(name: string): string | undefined {
    return this.columns.get(name)?.column;
  }

  /** A column whose strings looked like timestamps but did not all parse: keep it as text from now on. */
  demoteTimestamps(): void {
    for (const s of this.columns.values()) if (s.flags & TS) s.flags |= STR;
  }

  get size(): number {
    return this.columns.size;
  }

  /** The columns seen so far, in order of first appearance, with their types. */
  plan(): ColumnPlan[] {
    const out: ColumnPlan[] = [];
    for (const { column: name, flags } of this.columns.values()) {
      const id = quoteIdent(name);
      let type: string;
      let readAs: string;
      let expr = id;
      if (flags === 0) type = readAs = "VARCHAR";
      else if (flags & JSON_) type = readAs = "JSON";
      else if (flags === BOOL) type = readAs = "BOOLEAN";
      else if (flags === MS) {
        readAs = "BIGINT";
        type = "TIMESTAMPTZ";
        expr = `make_timestamptz(${id} * 1000)`;
      } else if ((flags & ~NUMERIC) === 0) {
        if (flags & FLOAT) type = readAs = "DOUBLE";
        else if (flags & BIG) {
          // bigints are written as JSON strings (JSON has no bigint): every digit through VARCHAR,
          // to DECIMAL(38,0) (Parquet has no 128-bit integer; DuckDB would write a HUGEINT as DOUBLE).
          readAs = "VARCHAR";
          type = "DECIMAL(38,0)";
          expr = `CAST(${id} AS DECIMAL(38,0))`;
        } else type = readAs = "BIGINT";
      } else if ((flags & ~(TS | DATE)) === 0) type = readAs = "TIMESTAMPTZ";
      else if ((flags & ~(STR | TS | DATE)) === 0) type = readAs = "VARCHAR";
      // Numbers or booleans mixed with other kinds: as VARCHAR, 12 and "12" would read back alike.
      else type = readAs = "JSON";
      out.push({ name, type, readAs, expr: expr === id ? id : `${expr} AS ${id}`, nullOnly: flags === 0 });
    }
    return out;
  }
}

/**
 * A string as JSON: quoted as it is when nothing needs escaping (the common case), else
 * JSON.stringify. A lone surrogate becomes U+FFFD: DuckDB refuses it ("no low surrogate").
 */
function jsonString(v: string): string {
  const n = v.length;
  if (n > 64) return JSON.stringify(wellFormed(v));
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff))
      return JSON.stringify(wellFormed(v));
  }
  return '"' + v + '"';
}

function bigintAsString(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

/** bigintAsString, and lone surrogates in strings and keys as U+FFFD. */
function bigintAsWellFormed(key: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : wellFormedReplacer(key, v);
}

let isoDay = Number.NaN;
let isoDayText = "";

/** A Date as a JSON string `"2021-11-30T00:01:00.000Z"` (null when invalid); the day part is cached. */
export function isoJson(d: Date): string {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) return "null";
  const day = Math.floor(ms / 86_400_000);
  if (day !== isoDay) {
    const iso = d.toISOString();
    // Years outside 0000..9999 (ISO-8601's expanded form, `+275760-09-13T...`, `-000044-...`):
    // DuckDB reads the negative form but not the `+`, so a later year is written without it.
    if (iso.length !== 24) return `"${iso.charCodeAt(0) === 43 ? iso.slice(1) : iso}"`;
    isoDay = day;
    isoDayText = '"' + iso.slice(0, 11);
  }
  let t = ms - day * 86_400_000;
  const milli = t % 1000;
  t = (t - milli) / 1000;
  const sec = t % 60;
  t = (t - sec) / 60;
  const min = t % 60;
  const hour = (t - min) / 60;
  return (
    isoDayText +
    (hour < 10 ? "0" : "") +
    hour +
    (min < 10 ? ":0" : ":") +
    min +
    (sec < 10 ? ":0" : ":") +
    sec +
    (milli < 10 ? ".00" : milli < 100 ? ".0" : ".") +
    milli +
    'Z"'
  );
}

function looksLikeTimestamp(v: string, timeNamed: boolean): boolean {
  const n = v.length;
  if (n < 16 || n > 35) return false;
  const c = v.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  return ISO_ZONED.test(v) || (timeNamed && ISO_LOCAL.test(v));
}

/** A DuckDB identifier in double quotes. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A DuckDB string literal in single quotes. */
export function quoteString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
