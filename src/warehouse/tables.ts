/**
 * The versioned tables as DuckDB tables: `NAME` (the versions each key keeps: at most the table's
 * `versions` newest, even where compaction has not removed older ones yet) and the view
 * `NAME_latest` (the newest version per key).
 *
 * DuckDB's sqlite extension is not built into @duckdb/node-api and DuckDB downloads extensions from
 * the internet on first use, which a machine without network cannot do. So the tables are read with
 * better-sqlite3 (from `<dataDir>/tables.db`) or through a VersionedTableStore (any store, e.g.
 * PostgreSQL), and copied into DuckDB with an appender. Copying a large table takes time, so the
 * warehouse creates the tables empty and fills each one the first time a query names it.
 */
import { existsSync } from "node:fs";
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import type { VersionedTableStore } from "../sinks/types.js";
import { quoteIdent } from "../sinks/lake/columns.js";

export const TABLES_DB = "tables.db";

interface Column {
  name: string;
  /** DuckDB type. */
  type: "VARCHAR" | "JSON" | "BIGINT" | "INTEGER" | "DOUBLE" | "TIMESTAMPTZ";
}

/** Where a table's rows come from. */
export interface TableSource {
  readonly name: string;
  readonly columns: readonly Column[];
  /** Rows as arrays in `columns` order. */
  rows(): Iterable<unknown[]> | Promise<Iterable<unknown[]>>;
}

/** Columns of the SQL schema of a versioned table, with their DuckDB types. */
const KNOWN: Record<string, Column["type"]> = {
  key: "VARCHAR",
  version: "BIGINT",
  event_time: "TIMESTAMPTZ",
  value: "JSON",
  source_topic: "VARCHAR",
  source_partition: "INTEGER",
  source_offset: "BIGINT",
  seq: "BIGINT",
};

const STORE_COLUMNS: Column[] = Object.entries(KNOWN).map(([name, type]) => ({ name, type }));

/** The tables of a VersionedTableStore (the kept versions of every key, read through its API). */
export async function storeTables(store: VersionedTableStore): Promise<TableSource[]> {
  const names = await store.listTables();
  return names.map((name) => ({
    name,
    columns: STORE_COLUMNS,
    rows: async () =>
      (await store.read(name, { versions: Number.MAX_SAFE_INTEGER })).map((v) => [
        v.key,
        v.version,
        v.eventTime,
        JSON.stringify(v.value),
        v.source.topic,
        v.source.partition,
        v.source.offset,
        null,
      ]),
  }));
}

/** The tables of a SQLite table store file (none when the file does not exist). */
export async function sqliteTables(path: string): Promise<{ tables: TableSource[]; close: () => void }> {
  if (!existsSync(path)) return { tables: [], close: () => {} };
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const exists = (name: string) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?").get(name) !==
      undefined;
    let names: string[];
    /** Versions kept per key, by table (the catalog's `versions`). */
    const kept = new Map<string, number>();
    if (exists("weir_tables")) {
      const catalog = db.prepare("SELECT name, versions FROM weir_tables ORDER BY name").all() as {
        name: string;
        versions: number;
      }[];
      for (const r of catalog) kept.set(r.name, r.versions);
      names = catalog.map((r) => r.name);
    } else {
      names = (
        db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'weir_%' ORDER BY name",
          )
          .all() as { name: string }[]
      ).map((r) => r.name);
    }
    const tables: TableSource[] = [];
    for (const name of names) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !exists(name)) continue;
      const info = db.prepare(`PRAGMA table_info(${quoteIdent(name)})`).all() as {
        name: string;
        type: string;
      }[];
      const columns: Column[] = info.map((c) => ({ name: c.name, type: KNOWN[c.name] ?? affinity(c.type) }));
      const has = (column: string) => info.some((c) => c.name === column);
      const t = quoteIdent(name);
      const versions = kept.get(name);
      // Each key's `versions` newest rows only: a crash between a checkpoint and its compaction, or
      // the updates since the last checkpoint, may have left older ones. A row is kept when its
      // version is at least its key's versions-th newest (one search of the (key, version) index).
      const filter =
        versions !== undefined && has("key") && has("version")
          ? ` WHERE r.version >= coalesce((SELECT m.version FROM ${t} AS m WHERE m.key = r.key
               ORDER BY m.version DESC LIMIT 1 OFFSET ?), 0)`
          : "";
      const order = has("seq") ? " ORDER BY r.seq" : "";
      const select = db.prepare(`SELECT * FROM ${t} AS r${filter}${order}`).raw(true);
      const params = filter === "" ? [] : [versions! - 1];
      tables.push({ name, columns, rows: () => select.iterate(...params) as Iterable<unknown[]> });
    }
    return { tables, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

function affinity(declared: string): Column["type"] {
  const t = declared.toUpperCase();
  if (t.includes("INT")) return "BIGINT";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "DOUBLE";
  return "VARCHAR";
}

/** Create the (empty) table `schema.NAME` and the view `schema.NAME_latest`; returns the names created. */
export async function createTable(conn: DuckDBConnection, schema: string, t: TableSource): Promise<string[]> {
  const cols = t.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(", ");
  const table = `${quoteIdent(schema)}.${quoteIdent(t.name)}`;
  await conn.run(`CREATE OR REPLACE TABLE ${table} (${cols})`);
  const names = new Set(t.columns.map((c) => c.name));
  if (names.has("key") && names.has("version")) {
    await conn.run(
      `CREATE OR REPLACE VIEW ${quoteIdent(schema)}.${quoteIdent(`${t.name}_latest`)} AS ` +
        `SELECT * FROM ${table} QUALIFY row_number() OVER (PARTITION BY key ORDER BY version DESC) = 1`,
    );
    return [t.name, `${t.name}_latest`];
  }
  return [t.name];
}

/** Copy the rows of a table into the DuckDB table created by createTable. */
export async function fillTable(conn: DuckDBConnection, schema: string, t: TableSource): Promise<number> {
  const { timestampTZValue } = await import("@duckdb/node-api");
  const appender: DuckDBAppender = await conn.createAppender(t.name, schema);
  let n = 0;
  try {
    for (const row of await t.rows()) {
      t.columns.forEach((c, i) => appendValue(appender, c.type, row[i], timestampTZValue));
      appender.endRow();
      n++;
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return n;
}

function appendValue(
  a: DuckDBAppender,
  type: Column["type"],
  v: unknown,
  tz: typeof import("@duckdb/node-api").timestampTZValue,
): void {
  if (v === null || v === undefined) return a.appendNull();
  switch (type) {
    case "BIGINT":
    case "INTEGER": {
      const n =
        typeof v === "bigint" ? v : typeof v === "number" && Number.isInteger(v) ? BigInt(v) : toBigInt(v);
      if (n === null) return a.appendNull();
      return type === "BIGINT" ? a.appendBigInt(n) : a.appendInteger(Number(n));
    }
    case "DOUBLE": {
      const n = Number(v);
      return Number.isNaN(n) && typeof v !== "number" ? a.appendNull() : a.appendDouble(n);
    }
    case "TIMESTAMPTZ": {
      const ms = toEpochMs(v);
      return ms === null ? a.appendNull() : a.appendTimestampTZ(tz(BigInt(Math.round(ms * 1000))));
    }
    case "JSON": {
      if (typeof v === "string") return a.appendVarchar(v); // stored as JSON text
      return a.appendVarchar(JSON.stringify(typeof v === "bigint" ? v.toString() : v));
    }
    default:
      return a.appendVarchar(typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : String(v));
  }
}

function toBigInt(v: unknown): bigint | null {
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  if (typeof v === "number" && Number.isFinite(v)) return BigInt(Math.trunc(v));
  return null;
}

/** Epoch ms from a number (ms), a bigint, or a date-time string (zone-less means UTC). */
export function toEpochMs(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime();
  if (typeof v !== "string") return null;
  const s = v.trim();
  if (/^-?\d+$/.test(s)) return Number(s);
  const zoneLess = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(s);
  const ms = Date.parse(zoneLess ? `${s.replace(" ", "T")}${s.length > 10 ? "Z" : "T00:00:00Z"}` : s);
  return Number.isNaN(ms) ? null : ms;
}
