/**
 * Query results as text: an aligned table, CSV with a header, or JSON lines (one object per row).
 * Timestamps print as ISO-8601 UTC with milliseconds (`2021-11-30T00:01:00.000Z`), like every
 * timestamp Weir prints; JSON columns are embedded as JSON; big integers and decimals keep every digit.
 */
import {
  DuckDBArrayValue,
  DuckDBDateValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  DuckDBUnionValue,
  DuckDBDecimalValue,
  type DuckDBResult,
  type DuckDBValue,
} from "@duckdb/node-api";

export type OutputFormat = "table" | "csv" | "json";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "csv", "json"];

/** Where formatted output goes (OutputBuffer in the CLI, an array of strings in tests). */
export interface TextSink {
  writeString(text: string): void;
  flushIfFull(): Promise<void>;
}

const NUMERIC = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.BIGNUM,
]);

interface ColumnInfo {
  name: string;
  json: boolean;
  numeric: boolean;
}

function columnsOf(result: DuckDBResult): ColumnInfo[] {
  const names = result.deduplicatedColumnNames();
  return names.map((name, i) => {
    const type = result.columnType(i);
    return { name, json: type.alias === "JSON", numeric: NUMERIC.has(result.columnTypeId(i)) };
  });
}

/** Write the whole result to `out` in `format`; returns the number of rows. */
export async function writeResult(
  result: DuckDBResult,
  format: OutputFormat,
  out: TextSink,
): Promise<number> {
  const cols = columnsOf(result);
  let n = 0;
  if (format === "table") {
    const rows: string[][] = [];
    for await (const chunk of result.yieldRows()) {
      for (const row of chunk)
        rows.push(row.map((v, i) => (v === null ? "NULL" : tableCell(toText(v, cols[i].json)))));
    }
    out.writeString(renderAligned(cols, rows));
    return rows.length;
  }
  if (format === "csv") out.writeString(cols.map((c) => csvCell(c.name)).join(",") + "\n");
  for await (const chunk of result.yieldRows()) {
    for (const row of chunk) {
      if (format === "csv") {
        out.writeString(
          row.map((v, i) => (v === null ? "" : csvCell(toText(v, cols[i].json)))).join(",") + "\n",
        );
      } else {
        let line = "{";
        for (let i = 0; i < cols.length; i++) {
          if (i > 0) line += ",";
          line += JSON.stringify(cols[i].name) + ":" + toJson(row[i], cols[i].json);
        }
        out.writeString(line + "}\n");
      }
      n++;
    }
    await out.flushIfFull();
  }
  return n;
}

function renderAligned(cols: readonly ColumnInfo[], rows: readonly string[][]): string {
  const widths = cols.map((c, i) => rows.reduce((w, r) => Math.max(w, r[i].length), c.name.length));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (cols[i].numeric ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd() + "\n";
  let text = line(cols.map((c) => c.name));
  for (const r of rows) text += line(r);
  return text;
}

/** A cell of the aligned table on one line: control characters escaped. */
function tableCell(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

function csvCell(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A value as text (table and CSV cells). */
export function toText(v: DuckDBValue, json = false): string {
  if (v === null) return "";
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return numberText(v);
    case "bigint":
    case "boolean":
      return String(v);
  }
  const ts = timestampText(v);
  if (ts !== undefined) return ts;
  if (
    v instanceof DuckDBListValue ||
    v instanceof DuckDBArrayValue ||
    v instanceof DuckDBStructValue ||
    v instanceof DuckDBMapValue ||
    v instanceof DuckDBUnionValue
  ) {
    return toJson(v, json);
  }
  return String(v);
}

/** A value as JSON text. */
export function toJson(v: DuckDBValue, json = false): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return json && isJsonText(v) ? v : JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : JSON.stringify(numberText(v));
    case "bigint":
      return v.toString();
    case "boolean":
      return String(v);
  }
  const ts = timestampText(v);
  if (ts !== undefined) return JSON.stringify(ts);
  if (v instanceof DuckDBDecimalValue) return v.toString();
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) {
    return `[${v.items.map((x) => toJson(x)).join(",")}]`;
  }
  if (v instanceof DuckDBStructValue) {
    return `{${Object.entries(v.entries)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(",")}}`;
  }
  if (v instanceof DuckDBMapValue) {
    if (
      v.entries.every(
        (e) => typeof e.key === "string" || typeof e.key === "number" || typeof e.key === "bigint",
      )
    ) {
      return `{${v.entries.map((e) => `${JSON.stringify(String(e.key))}:${toJson(e.value)}`).join(",")}}`;
    }
    return `[${v.entries.map((e) => `{"key":${toJson(e.key)},"value":${toJson(e.value)}}`).join(",")}]`;
  }
  if (v instanceof DuckDBUnionValue) return toJson(v.value);
  return JSON.stringify(String(v));
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  return String(v);
}

/** Timestamps as ISO-8601 UTC with milliseconds; dates as YYYY-MM-DD; undefined for other values. */
function timestampText(v: object): string | undefined {
  let ms: bigint;
  if (v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue) {
    if (!v.isFinite) return v.toString();
    ms = floorDiv(v.micros, 1000n);
  } else if (v instanceof DuckDBTimestampMillisecondsValue) {
    if (!v.isFinite) return v.toString();
    ms = v.millis;
  } else if (v instanceof DuckDBTimestampSecondsValue) {
    if (!v.isFinite) return v.toString();
    ms = v.seconds * 1000n;
  } else if (v instanceof DuckDBTimestampNanosecondsValue) {
    if (!v.isFinite) return v.toString();
    ms = floorDiv(v.nanos, 1_000_000n);
  } else if (v instanceof DuckDBDateValue) {
    return v.toString();
  } else {
    return undefined;
  }
  const n = Number(ms);
  if (Math.abs(n) > 8.64e15) return v.toString();
  return new Date(n).toISOString();
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
