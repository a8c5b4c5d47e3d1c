/**
 * `POST /api/sql`: one query over the lake and the versioned tables, in a fresh warehouse (DuckDB,
 * as `weir query` opens it), so every query sees the files published up to now.
 *
 * The API only reads: one statement, a query (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN...), and DuckDB
 * may open files under `<data dir>/lake` only (no `read_csv('/etc/passwd')`, no COPY, no ATTACH).
 * At most MAX_ROWS rows come back; a query running longer than the timeout is interrupted.
 */
import { join, sep } from "node:path";
import type { DuckDBResult, DuckDBValue } from "@duckdb/node-api";
import { isMissingFile, tableOptions } from "../warehouse/options.js";
import { ApiError, badRequest, oneLine } from "./api-error.js";

export const MAX_ROWS = 1000;

export interface SqlResult {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  truncated: boolean;
  elapsedMs: number;
}

export interface SqlOptions {
  /** A `--table-store` value (undefined: `<dataDir>/tables.db`). */
  tableStore?: string;
  /** Interrupt the query after this long, ms. Default 30 000. */
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

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Run one read-only query in the warehouse of `dataDir`. ApiError 400 for a bad or refused query. */
export function runSql(dataDir: string, sql: string, options: SqlOptions = {}): Promise<SqlResult> {
  if (sql.trim() === "") throw badRequest('no SQL given: send {"sql": "SELECT ..."}');
  return slots.run(() => runSqlNow(dataDir, sql, options));
}

async function runSqlNow(dataDir: string, sql: string, options: SqlOptions): Promise<SqlResult> {
  const started = performance.now();
  const [{ openWarehouse }, { duckMessage }] = await Promise.all([
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
        wh = await openWarehouse(dataDir, { tables: "lazy", ...tables.options });
      } catch (err) {
        if (attempt === 1 && isMissingFile(err)) continue;
        throw new ApiError(500, `cannot open the lake and tables in ${dataDir}: ${duckMessage(err)}`);
      }
      const timer = setTimeout(() => wh.connection.interrupt(), options.timeoutMs ?? 30_000);
      try {
        try {
          await checkReadOnly(wh.connection, sql, duckMessage);
        } catch (err) {
          if (attempt === 1 && isMissingFile(err)) continue;
          throw err instanceof ApiError ? err : queryFailed(err, duckMessage);
        }
        await wh.connection.run(
          `SET allowed_directories = [${quote(join(dataDir, "lake") + sep)}]; SET enable_external_access = false`,
        );
        let result: DuckDBResult;
        try {
          result = await wh.stream(sql);
        } catch (err) {
          if (attempt === 1 && isMissingFile(err)) continue;
          throw queryFailed(err, duckMessage);
        }
        try {
          return { ...(await collect(result, options.maxRows ?? MAX_ROWS)), elapsedMs: elapsed(started) };
        } catch (err) {
          throw queryFailed(err, duckMessage);
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

function queryFailed(err: unknown, duckMessage: (err: unknown) => string): ApiError {
  const text = duckMessage(err);
  if (/INTERRUPT/i.test(text)) return badRequest("the query ran too long and was stopped; narrow it down");
  return badRequest(oneLine(text));
}

/** One statement that only reads (DuckDB's SELECT covers WITH, VALUES, SHOW, DESCRIBE, SUMMARIZE). */
async function checkReadOnly(
  connection: import("@duckdb/node-api").DuckDBConnection,
  sql: string,
  duckMessage: (err: unknown) => string,
): Promise<void> {
  const { StatementType } = await import("@duckdb/node-api");
  let statements;
  try {
    statements = await connection.extractStatements(sql);
  } catch (err) {
    throw badRequest(oneLine(duckMessage(err)));
  }
  if (statements.count === 0) throw badRequest('no SQL given: send {"sql": "SELECT ..."}');
  if (statements.count > 1)
    throw badRequest(`${statements.count} statements given: send one query at a time`);
  let prepared;
  try {
    prepared = await statements.prepare(0);
  } catch (err) {
    if (isMissingFile(err)) throw err; // a file compacted away meanwhile: the caller tries again
    throw badRequest(oneLine(duckMessage(err)));
  }
  try {
    const type = prepared.statementType;
    if (type !== StatementType.SELECT && type !== StatementType.EXPLAIN)
      throw badRequest(
        `only queries (SELECT ...) run here, not ${StatementType[type] ?? "this statement"}; use \`weir query\` for other statements`,
      );
  } finally {
    prepared.destroySync();
  }
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
