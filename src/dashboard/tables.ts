/**
 * Reading the versioned tables for the dashboard: the SQLite file in the data directory (opened
 * read-only for each request, so a running pipeline keeps writing: WAL mode), or PostgreSQL
 * (`--table-store postgres://...`). The schema is the stores' own (src/sinks/table/common.ts):
 * the catalog `weir_tables(name, versions, ...)` and one table per name with
 * (key, version, event_time, value, source_topic, source_partition, source_offset, seq).
 */
import { existsSync } from "node:fs";
import type { Pool } from "pg";
import { CATALOG, sqlNames } from "../sinks/table/common.js";
import { notFound } from "./api-error.js";

export interface TableSummary {
  name: string;
  /** Versions kept per key. */
  versions: number;
  /** Distinct keys. */
  keys: number;
}

export interface TableRow {
  key: string;
  version: number;
  value: unknown;
  /** Event time of the update that made this version, ms since the epoch. */
  updatedAt: number;
  /** The table's update sequence number (the order in which versions were written). */
  seq: number;
  /** The input record that caused the update. */
  source: { topic: string; partition: number; offset: number };
}

export interface TableBrowser {
  readonly location: string;
  list(): Promise<TableSummary[]>;
  /**
   * With `key`: that key's kept versions (at most the table's `versions`, even before compaction),
   * newest first. Without: the latest version of the most recently updated keys. ApiError 404 for
   * an unknown table.
   */
  rows(table: string, options: { key?: string; limit: number }): Promise<TableRow[]>;
  close(): Promise<void>;
}

const COLUMNS = "key, version, event_time, value, source_topic, source_partition, source_offset, seq";

function unknownTable(name: string, location: string): never {
  throw notFound(`unknown table ${JSON.stringify(name)} in ${location}`);
}

/** The two reads, as SQL with `?`/`$n` placeholders written by the caller. */
function latestSql(t: string, limit: string): string {
  // Walks the seq index newest first and keeps a row when it is its key's latest version.
  return `SELECT ${COLUMNS} FROM ${t} AS l
          WHERE l.version = (SELECT max(m.version) FROM ${t} AS m WHERE m.key = l.key)
          ORDER BY l.seq DESC LIMIT ${limit}`;
}

interface RawRow {
  key: string;
  version: number | string;
  event_time: string | Date;
  value: unknown;
  source_topic: string | null;
  source_partition: number | string | null;
  source_offset: number | string | null;
  seq: number | string;
}

function toRow(r: RawRow, parseValue: boolean): TableRow {
  let value = r.value;
  if (parseValue && typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      // not JSON: shown as stored
    }
  }
  return {
    key: r.key,
    version: Number(r.version),
    value,
    updatedAt: r.event_time instanceof Date ? r.event_time.getTime() : Date.parse(r.event_time),
    seq: Number(r.seq),
    source: {
      topic: r.source_topic ?? "",
      partition: r.source_partition === null ? -1 : Number(r.source_partition),
      offset: r.source_offset === null ? -1 : Number(r.source_offset),
    },
  };
}

// ---------------------------------------------------------------------------------------------

export class SqliteTableBrowser implements TableBrowser {
  readonly location: string;

  constructor(readonly path: string) {
    this.location = `sqlite:${path}`;
  }

  /** Run `fn` on a read-only connection; undefined when the file or its catalog does not exist. */
  private async withDb<T>(fn: (db: import("better-sqlite3").Database) => T): Promise<T | undefined> {
    if (!existsSync(this.path)) return undefined;
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(this.path, { readonly: true, fileMustExist: true });
    try {
      db.pragma("busy_timeout = 2000");
      const catalog = db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        .get(CATALOG);
      if (catalog === undefined) return undefined;
      return fn(db);
    } finally {
      db.close();
    }
  }

  async list(): Promise<TableSummary[]> {
    const out = await this.withDb((db) => {
      const tables = db.prepare(`SELECT name, versions FROM ${CATALOG} ORDER BY name`).all() as Array<{
        name: string;
        versions: number;
      }>;
      return tables.map((t) => ({
        name: t.name,
        versions: t.versions,
        keys: db
          .prepare(`SELECT count(*) FROM (SELECT DISTINCT key FROM ${sqlNames(t.name).table})`)
          .pluck()
          .get() as number,
      }));
    });
    return out ?? [];
  }

  async rows(table: string, options: { key?: string; limit: number }): Promise<TableRow[]> {
    const rows = await this.withDb((db) => {
      const known = db.prepare(`SELECT 1 FROM ${CATALOG} WHERE name = ?`).get(table);
      if (known === undefined) return undefined;
      const t = sqlNames(table).table;
      // A key's versions: never more than the table keeps, compacted or not.
      const raw =
        options.key !== undefined
          ? db
              .prepare(
                `SELECT ${COLUMNS} FROM ${t} WHERE key = ? ORDER BY version DESC
                 LIMIT min(?, (SELECT versions FROM ${CATALOG} WHERE name = ?))`,
              )
              .all(options.key, options.limit, table)
          : db.prepare(latestSql(t, "?")).all(options.limit);
      return (raw as RawRow[]).map((r) => toRow(r, true));
    });
    if (rows === undefined) unknownTable(table, this.location);
    return rows;
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------

export class PostgresTableBrowser implements TableBrowser {
  readonly location: string;
  private pool: Promise<Pool> | undefined;

  constructor(
    private readonly url: string,
    location: string,
  ) {
    this.location = location;
  }

  private getPool(): Promise<Pool> {
    this.pool ??= (async () => {
      const { default: pg } = await import("pg");
      const pool = new pg.Pool({
        connectionString: this.url,
        max: 2,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 10_000,
        statement_timeout: 30_000,
        query_timeout: 40_000,
        application_name: "weir-dashboard",
        allowExitOnIdle: true,
      });
      pool.on("error", () => {}); // an idle connection the server closed: the pool drops it
      return pool;
    })();
    return this.pool;
  }

  private async query<R extends object>(what: string, text: string, params: unknown[] = []): Promise<R[]> {
    const pool = await this.getPool();
    try {
      return (await pool.query(text, params)).rows as R[];
    } catch (err) {
      const { pgError } = await import("../sinks/table/postgres.js");
      throw pgError(err, this.location, what);
    }
  }

  /** The catalog rows (none when the database has no catalog yet). */
  private async catalog(name?: string): Promise<Array<{ name: string; versions: number }>> {
    const exists = await this.query<{ t: string | null }>("read the catalog", "SELECT to_regclass($1) AS t", [
      CATALOG,
    ]);
    if (exists[0]?.t === null || exists[0]?.t === undefined) return [];
    return name === undefined
      ? this.query("list tables", `SELECT name, versions FROM ${CATALOG} ORDER BY name COLLATE "C"`)
      : this.query("read the catalog", `SELECT name, versions FROM ${CATALOG} WHERE name = $1`, [name]);
  }

  async list(): Promise<TableSummary[]> {
    const tables = await this.catalog();
    return Promise.all(
      tables.map(async (t) => {
        const r = await this.query<{ n: string }>(
          `count the keys of ${t.name}`,
          `SELECT count(DISTINCT key) AS n FROM ${sqlNames(t.name).table}`,
        );
        return { name: t.name, versions: t.versions, keys: Number(r[0]?.n ?? 0) };
      }),
    );
  }

  async rows(table: string, options: { key?: string; limit: number }): Promise<TableRow[]> {
    if ((await this.catalog(table)).length === 0) unknownTable(table, this.location);
    const t = sqlNames(table).table;
    const raw =
      options.key !== undefined
        ? await this.query<RawRow>(
            `read table ${table}`,
            `SELECT ${COLUMNS} FROM ${t} WHERE key = $1 ORDER BY version DESC
             LIMIT LEAST($2::int8, (SELECT versions FROM ${CATALOG} WHERE name = $3))`,
            [options.key, options.limit, table],
          )
        : await this.query<RawRow>(`read table ${table}`, latestSql(t, "$1"), [options.limit]);
    return raw.map((r) => toRow(r, false));
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) await (await pool).end().catch(() => {});
  }
}

/**
 * The tables at `location` (a `--table-store` value; undefined: `<dataDir>/tables.db`). Throws
 * WeirError USAGE for a location that is not a table store URL.
 */
export async function openTableBrowser(location: string | undefined, dataDir: string): Promise<TableBrowser> {
  const { parseTableStoreLocation, describePostgresUrl } = await import("../sinks/table/index.js");
  const where = parseTableStoreLocation(location, dataDir);
  if (where.kind === "sqlite") return new SqliteTableBrowser(where.path);
  return new PostgresTableBrowser(where.url, describePostgresUrl(where.url));
}
