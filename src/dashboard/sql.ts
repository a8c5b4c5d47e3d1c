/**
 * `POST /api/sql`: one query over the lake and the versioned tables, in a fresh warehouse (DuckDB,
 * as `weir query` opens it), so every query sees the files published up to now.
 *
 * The SQL comes from someone else (a browser, a token holder), so the warehouse is sandboxed
 * (src/warehouse/sandbox.ts, docs/security.md): DuckDB is locked down before the query is parsed —
 * it may read exactly the files the lake views list, change no setting and write nothing — and its
 * parser must see a single SELECT over the views and tables. At most MAX_ROWS rows come back; a
 * query running longer than the timeout is interrupted.
 */
import type { DuckDBResult, DuckDBValue } from "@duckdb/node-api";
import { isMissingFile, tableOptions } from "../warehouse/options.js";
import { ApiError, badRequest, oneLine } from "./api-error.js";

export const MAX_ROWS = 1000;
/** A query running longer than this is interrupted, ms. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface SqlResult {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  truncated: boolean;
  elapsedMs: number;
}

export interface SqlOptions {
  /** A `--table-store` value (undefined: `<dataDir>/tables.db`). */
  tableStore?: string;
  /** Interrupt the query after this long, ms. Default DEFAULT_TIMEOUT_MS (30 s). */
  timeoutMs?: number;
  maxRows?: number;
}

/** At most `n` queries at a time (each opens its own DuckDB). */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

const slots = new Semaphore(2);

/** Run one read-only query in the warehouse of `dataDir`. ApiError 400 for a bad or refused query. */
export function runSql(dataDir: string, sql: string, options: SqlOptions = {}): Promise<SqlResult> {
  if (sql.trim() === "") throw badRequest('no SQL given: send {"sql": "SELECT ..."}');
  return slots.run(() => runSqlNow(dataDir, sql, options));
}

async function runSqlNow(dataDir: string, sql: string, options: SqlOptions): Promise<SqlResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const [{ openWarehouse, QueryRefused }, { duckMessage }] = await Promise.all([
    import("../warehouse/index.js"),
    import("../sinks/lake/duck.js"),
  ]);
  const tables = await tableOptions(options.tableStore, dataDir);
  try {
    // A compaction that finishes between reading a manifest and reading its files deletes files the
    // views list: read the manifests again, once (as `weir query` does).
    for (let attempt = 1; ; attempt++) {
      let wh;
      try {
        wh = await openWarehouse(dataDir, {
          tables: "lazy",
          sandbox: true,
          checkFirst: sql,
          ...tables.options,
        });
      } catch (err) {
        if (err instanceof QueryRefused) throw badRequest(err.message);
        if (attempt === 1 && isMissingFile(err)) continue;
        throw new ApiError(500, `cannot open the lake and tables in ${dataDir}: ${duckMessage(err)}`);
      }
      const timer = setTimeout(() => wh.connection.interrupt(), timeoutMs);
      try {
        let result: DuckDBResult;
        try {
          result = await wh.query(sql);
        } catch (err) {
          if (err instanceof QueryRefused) throw badRequest(err.message);
          if (attempt === 1 && isMissingFile(err)) continue;
          throw queryFailed(err, duckMessage, timeoutMs);
        }
        try {
          return { ...(await collect(result, options.maxRows ?? MAX_ROWS)), elapsedMs: elapsed(started) };
        } catch (err) {
          throw queryFailed(err, duckMessage, timeoutMs);
        }
      } finally {
        clearTimeout(timer);
        wh.close();
      }
    }
  } finally {
    await tables.close();
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function queryFailed(err: unknown, duckMessage: (err: unknown) => string, timeoutMs: number): ApiError {
  const text = duckMessage(err);
  if (/INTERRUPT/i.test(text))
    return badRequest(
      `the query ran longer than ${timeoutMs / 1000} s and was stopped: narrow it down (or run it with \`weir query\`)`,
    );
  return badRequest(oneLine(text));
}

async function collect(result: DuckDBResult, maxRows: number): Promise<Omit<SqlResult, "elapsedMs">> {
  const names = result.deduplicatedColumnNames();
  const types = names.map((_, i) => result.columnType(i));
  const columns = names.map((name, i) => ({ name, type: types[i].alias ?? types[i].toString() }));
  const json = types.map((t) => t.alias === "JSON");
  const { toApiValue } = await valueConverter();
  const rows: unknown[][] = [];
  let truncated = false;
  outer: for await (const chunk of result.yieldRows()) {
    for (const row of chunk) {
      if (rows.length >= maxRows) {
        truncated = true;
        break outer;
      }
      rows.push(row.map((v, i) => toApiValue(v, json[i])));
    }
  }
  return { columns, rows, truncated };
}

let converter: Promise<{ toApiValue: (v: DuckDBValue, json: boolean) => unknown }> | undefined;

/** DuckDB values as JSON values: big integers as numbers when exact (else strings), timestamps as ISO text. */
function valueConverter(): Promise<{ toApiValue: (v: DuckDBValue, json: boolean) => unknown }> {
  converter ??= (async () => {
    const duck = await import("@duckdb/node-api");
    const { toText } = await import("../warehouse/format.js");
    const toApiValue = (v: DuckDBValue, json: boolean): unknown => {
      if (v === null) return null;
      switch (typeof v) {
        case "string":
          if (json) {
            try {
              return JSON.parse(v);
            } catch {
              return v;
            }
          }
          return v;
        case "number":
          return Number.isFinite(v) ? v : toText(v);
        case "bigint":
          return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(v)
            : v.toString();
        case "boolean":
          return v;
      }
      if (v instanceof duck.DuckDBDecimalValue) {
        const n = v.toDouble();
        return Number.isSafeInteger(Number(v.value)) ? n : v.toString();
      }
      if (v instanceof duck.DuckDBListValue || v instanceof duck.DuckDBArrayValue)
        return v.items.map((x) => toApiValue(x, false));
      if (v instanceof duck.DuckDBStructValue)
        return Object.fromEntries(Object.entries(v.entries).map(([k, x]) => [k, toApiValue(x, false)]));
      if (v instanceof duck.DuckDBMapValue) {
        if (v.entries.every((e) => ["string", "number", "bigint"].includes(typeof e.key)))
          return Object.fromEntries(v.entries.map((e) => [String(e.key), toApiValue(e.value, false)]));
        return v.entries.map((e) => ({ key: toApiValue(e.key, false), value: toApiValue(e.value, false) }));
      }
      if (v instanceof duck.DuckDBUnionValue) return toApiValue(v.value, false);
      return toText(v); // timestamps (ISO-8601 UTC), dates, times, intervals, UUIDs, blobs
    };
    return { toApiValue };
  })();
  return converter;
}
