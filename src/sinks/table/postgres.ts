/**
 * The server versioned table store: PostgreSQL through a `pg` Pool, with the same schema as the
 * SQLite store (event_time TIMESTAMPTZ, value JSONB; see common.ts and docs/tables.md).
 *
 * - `pg` is imported on first use, so users of the embedded store never load it.
 * - A batch is ONE statement (INSERT ... SELECT FROM unnest(arrays)): one round trip, atomic by
 *   itself. It only inserts updates with seq > the table's current max(seq), so running it again
 *   after an ambiguous failure (the connection dropped before the COMMIT's answer arrived) is a
 *   no-op: the retry of a committed batch writes nothing, of an uncommitted one writes it all.
 * - A server that is down, restarting or unreachable gives WeirError IO with `retryable: true`
 *   (the runner waits and retries); a bad URL, a refused login or a missing database give a
 *   non-retryable WeirError USAGE. Every wait is bounded: connect 5 s, statements 60 s
 *   (server side) and 90 s (client side).
 */
import type { Pool, PoolClient, PoolConfig } from "pg";
import { WeirError } from "../../errors.js";
import type {
  TableReadOptions,
  TableSpec,
  TableUpdate,
  TableVersion,
  VersionedTableStore,
} from "../types.js";
import {
  CATALOG,
  checkBatch,
  checkSpec,
  checkTableName,
  postgresTime,
  jsonText,
  sqlNames,
  toVersion,
  unknownTable,
  versionsOption,
  type VersionRow,
} from "./common.js";

export interface PostgresTableStoreOptions {
  /** Connections in the pool (default 4). */
  poolSize?: number;
  /** Give up connecting after this long (default 5000 ms); the error is retryable. */
  connectTimeoutMs?: number;
  /** Server-side statement_timeout (default 60000 ms). */
  statementTimeoutMs?: number;
}

interface Row extends VersionRow {
  event_ms: string;
}

const COLUMNS = "key, version, event_time, value, source_topic, source_partition, source_offset, seq";
const SELECT_COLUMNS =
  "key, version, (extract(epoch FROM event_time) * 1000)::int8 AS event_ms, value, source_topic, source_partition, source_offset";

/** Serialises DDL of concurrent processes (CREATE TABLE IF NOT EXISTS races in PostgreSQL). */
const DDL_LOCK = 0x7765_6972; // "weir"

/** `text` with every U+0000 as U+FFFD. */
function withoutNul(text: string): string {
  return text.includes("\0") ? text.replace(/\0/g, "\ufffd") : text;
}

/** JSON text with every U+0000 in its strings and keys as U+FFFD (when `\u0000` is escaped text, nothing changes). */
function withoutNulInJson(json: string): string {
  if (!json.includes("\\u0000")) return json;
  return JSON.stringify(JSON.parse(json), (_key, v: unknown) => {
    if (typeof v === "string") return withoutNul(v);
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    let nul = false;
    for (const k in v) if (k.includes("\0")) nul = true;
    if (!nul) return v;
    const fixed: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) fixed[withoutNul(k)] = x;
    return fixed;
  });
}

/** Parse and check a postgres:// URL; returns it with the password hidden, for messages. */
export function describePostgresUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badUrl(url, "not a URL");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") throw badUrl(url, `scheme ${u.protocol}`);
  if (u.hostname === "" && !u.searchParams.has("host")) throw badUrl(url, "no host");
  if (u.port !== "" && !(Number(u.port) > 0 && Number(u.port) < 65536)) throw badUrl(url, `port ${u.port}`);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (db.includes("/")) throw badUrl(url, `database name ${JSON.stringify(db)}`);
  const user = u.username === "" ? "" : `${decodeURIComponent(u.username)}@`;
  return `postgres://${user}${u.host}/${db}`;
}

function badUrl(url: string, why: string): WeirError {
  const shown = url.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@");
  return new WeirError(
    "USAGE",
    `invalid PostgreSQL URL ${JSON.stringify(shown)} (${why}): expected postgres://user[:password]@host[:port]/database`,
  );
}

interface TableInfo {
  versions: number;
  insert: string;
  lastSeq: string;
}

export class PostgresTableStore implements VersionedTableStore {
  readonly location: string;
  private readonly url: string;
  private readonly options: PostgresTableStoreOptions;
  private pool: Promise<Pool> | undefined;
  private catalogReady: Promise<void> | undefined;
  private readonly tables = new Map<string, TableInfo>();
  private closed = false;

  constructor(url: string, options: PostgresTableStoreOptions = {}) {
    this.location = describePostgresUrl(url);
    this.url = url;
    this.options = options;
  }

  async ensureTable(spec: TableSpec): Promise<void> {
    checkSpec(spec);
    const n = sqlNames(spec.name);
    await this.ensureCatalog();
    await this.transaction(`create table ${spec.name}`, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [DDL_LOCK]);
      const existing = await c.query<{ name: string }>(
        `SELECT name FROM ${CATALOG} WHERE lower(name) = lower($1) AND name <> $1`,
        [spec.name],
      );
      if (existing.rows.length > 0) {
        throw new WeirError(
          "USAGE",
          `table ${spec.name}: a table ${existing.rows[0].name} exists (names differing only in case are not allowed: the SQLite store could not tell them apart)`,
        );
      }
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${n.table} (
           key TEXT NOT NULL,
           version INTEGER NOT NULL,
           event_time TIMESTAMPTZ NOT NULL,
           value JSONB NOT NULL,
           source_topic TEXT,
           source_partition INTEGER,
           source_offset BIGINT,
           seq BIGINT NOT NULL,
           PRIMARY KEY (key, version)
         )`,
      );
      await c.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${n.seqIndex} ON ${n.table} (seq)`);
      await c.query(
        `CREATE OR REPLACE VIEW ${n.latest} AS
           SELECT DISTINCT ON (key) ${COLUMNS} FROM ${n.table} ORDER BY key, version DESC`,
      );
      // A changed `versions` makes the next compaction look at every key again.
      await c.query(
        `INSERT INTO ${CATALOG} AS c (name, versions) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET
           versions = excluded.versions,
           compacted_seq = CASE WHEN c.versions = excluded.versions THEN c.compacted_seq ELSE 0 END`,
        [spec.name, spec.versions],
      );
    });
    this.tables.delete(spec.name);
  }

  async writeBatch(table: string, updates: readonly TableUpdate[]): Promise<void> {
    const info = await this.info(table);
    if (updates.length === 0) return;
    checkBatch(table, updates, 0);
    const n = updates.length;
    const keys = new Array<string>(n);
    const times = new Array<string>(n);
    const values = new Array<string>(n);
    const topics = new Array<string>(n);
    const partitions = new Array<number>(n);
    const offsets = new Array<number>(n);
    const seqs = new Array<number>(n);
    let replaced = 0;
    for (let i = 0; i < n; i++) {
      const u = updates[i];
      keys[i] = u.key;
      times[i] = postgresTime(u.eventTime);
      values[i] = jsonText(u);
      // TEXT and JSONB cannot hold U+0000 (JSON.stringify writes it as \u0000): U+FFFD instead.
      if (keys[i].includes("\0") || values[i].includes("\\u0000")) {
        const key = withoutNul(keys[i]);
        const value = withoutNulInJson(values[i]);
        if (key !== keys[i] || value !== values[i]) replaced++;
        keys[i] = key;
        values[i] = value;
      }
      topics[i] = u.topic;
      partitions[i] = u.partition;
      offsets[i] = u.offset;
      seqs[i] = u.seq;
    }
    const last = seqs[n - 1];
    if (replaced > 0) this.nulReplaced.set(table, (this.nulReplaced.get(table) ?? 0) + replaced);
    try {
      await this.query(`write to table ${table}`, info.insert, [
        keys,
        times,
        values,
        topics,
        partitions,
        offsets,
        seqs,
      ]);
    } catch (err) {
      // Another session (e.g. an earlier attempt of this batch whose connection was cut while the
      // server still ran it) committed the same rows first: the batch is stored.
      if (err instanceof WeirError && pgCode(err.cause) === "23505") {
        if ((await this.lastSeq(table)) >= last) return;
      }
      throw err;
    }
  }

  async lastSeq(table: string): Promise<number> {
    const info = await this.info(table);
    const r = await this.query<{ s: string | null }>(`read table ${table}`, info.lastSeq);
    return Number(r.rows[0]?.s ?? 0);
  }

  async rollbackTo(table: string, seq: number): Promise<void> {
    await this.info(table);
    const n = sqlNames(table);
    // One statement: atomic without a transaction block.
    await this.query(
      `roll back table ${table}`,
      `WITH removed AS (DELETE FROM ${n.table} WHERE seq > $1)
       UPDATE ${CATALOG} SET compacted_seq = LEAST(compacted_seq, $1) WHERE name = $2`,
      [Math.max(0, seq), table],
    );
  }

  async compact(table: string, seq: number): Promise<void> {
    await this.info(table);
    const n = sqlNames(table);
    await this.transaction(`compact table ${table}`, async (c) => {
      const cat = await c.query<{ versions: number; compacted_seq: string; last: string | null }>(
        `SELECT versions, compacted_seq, (SELECT max(seq) FROM ${n.table}) AS last
         FROM ${CATALOG} WHERE name = $1 FOR UPDATE`,
        [table],
      );
      const row = cat.rows[0];
      if (row === undefined) throw unknownTable(table, this.location, await this.listTables());
      const after = Number(row.compacted_seq);
      const upTo = Math.min(seq, Number(row.last ?? 0));
      if (upTo <= after) return;
      // Keys with updates in (compacted_seq, upTo]; for each, rows with seq <= upTo older than the
      // key's `versions` newest such rows. Rows after `upTo` are not counted, so a rollback to
      // `upTo` still finds each key's state at `upTo`. (Versions grow with seq within a key.)
      // (`seq + 0` keeps the planner on the primary key per key: with stale statistics it would
      // otherwise intersect with a scan of the seq index for every key.)
      await c.query(
        `WITH keys AS (SELECT DISTINCT key FROM ${n.table} WHERE seq > $1 AND seq <= $2),
         old AS (
           SELECT k.key, o.version FROM keys AS k
           CROSS JOIN LATERAL (
             SELECT version FROM ${n.table}
             WHERE key = k.key AND seq + 0 <= $2
             ORDER BY version DESC OFFSET $3) AS o)
         DELETE FROM ${n.table} AS t USING old
         WHERE t.key = old.key AND t.version = old.version`,
        [after, upTo, row.versions],
      );
      await c.query(`UPDATE ${CATALOG} SET compacted_seq = $1 WHERE name = $2`, [upTo, table]);
    });
  }

  async read(table: string, options: TableReadOptions = {}): Promise<TableVersion[]> {
    await this.info(table);
    const n = sqlNames(table);
    const versions = versionsOption(options.versions);
    // Never more than the table keeps, compacted or not: the catalog's `versions`, read by the same
    // statement (an InitPlan, evaluated once), so a change by another process is seen at once.
    // `$i`: the number of versions asked for; `$i+1`: the table's name.
    const limit = (i: number) =>
      options.raw === true
        ? `$${i}::int8`
        : `LEAST($${i}::int8, (SELECT versions FROM ${CATALOG} WHERE name = $${i + 1}))`;
    const params = options.raw === true ? [versions] : [versions, table];
    let r;
    if (options.key !== undefined) {
      r = await this.query<Row>(
        `read table ${table}`,
        `SELECT ${SELECT_COLUMNS} FROM ${n.table} WHERE key = $1 ORDER BY version DESC LIMIT ${limit(2)}`,
        [options.key, ...params],
      );
    } else if (versions === 1) {
      r = await this.query<Row>(
        `read table ${table}`,
        `SELECT ${SELECT_COLUMNS} FROM ${n.latest} ORDER BY key COLLATE "C"`,
      );
    } else {
      r = await this.query<Row>(
        `read table ${table}`,
        `SELECT ${SELECT_COLUMNS} FROM (
           SELECT *, row_number() OVER (PARTITION BY key ORDER BY version DESC) AS rn FROM ${n.table}
         ) AS v WHERE rn <= ${limit(1)} ORDER BY key COLLATE "C", version DESC`,
        params,
      );
    }
    return r.rows.map((row) => toVersion(row, Number(row.event_ms), row.value));
  }

  /** Tables whose updates had U+0000 replaced since the last takeNotices(), with how many. */
  private readonly nulReplaced = new Map<string, number>();

  takeNotices(): string[] {
    const out: string[] = [];
    for (const [table, n] of this.nulReplaced)
      out.push(
        `table ${table}: ${n} update(s) held U+0000 (NUL), which PostgreSQL cannot store in text or JSONB: written with U+FFFD in its place`,
      );
    this.nulReplaced.clear();
    return out;
  }

  async listTables(): Promise<string[]> {
    const r = await this.catalogQuery<{ name: string }>(
      "list tables",
      `SELECT name FROM ${CATALOG} ORDER BY name COLLATE "C"`,
    );
    return r.rows.map((row) => row.name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) {
      try {
        await (await pool).end();
      } catch {
        // the pool was never created, or the server is gone: nothing left to release
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  private getPool(): Promise<Pool> {
    if (this.closed) throw new WeirError("CLOSED", `table store ${this.location} is closed`);
    if (this.pool === undefined) {
      this.pool = (async () => {
        const { default: pg } = await import("pg");
        const config: PoolConfig = {
          connectionString: this.url,
          max: this.options.poolSize ?? 4,
          connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
          idleTimeoutMillis: 10_000,
          statement_timeout: this.options.statementTimeoutMs ?? 60_000,
          query_timeout: (this.options.statementTimeoutMs ?? 60_000) + 30_000,
          keepAlive: true,
          keepAliveInitialDelayMillis: 10_000,
          application_name: "weir",
          allowExitOnIdle: true,
        };
        const pool = new pg.Pool(config);
        // An idle connection the server closes (shutdown, restart) is reported here; the pool
        // drops it and the next query connects again. Without a listener it would crash the process.
        pool.on("error", () => {});
        return pool;
      })();
    }
    return this.pool;
  }

  private async query<R extends object = Record<string, unknown>>(
    what: string,
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[] }> {
    const pool = await this.getPool();
    try {
      return await pool.query<R & Record<string, unknown>>(text, params);
    } catch (err) {
      throw pgError(err, this.location, what);
    }
  }

  /** A query of the catalog; a database without one (no table created yet) has no rows. */
  private async catalogQuery<R extends object>(
    what: string,
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[] }> {
    try {
      return await this.query<R>(what, text, params);
    } catch (err) {
      if (err instanceof WeirError && pgCode(err.cause) === "42P01") return { rows: [] };
      throw err;
    }
  }

  private async transaction<T>(what: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const pool = await this.getPool();
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw pgError(err, this.location, what);
    }
    const onError = () => {}; // reported by the failing query; without a listener it would crash
    client.on("error", onError);
    let broken: unknown;
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      broken = err;
      try {
        await client.query("ROLLBACK");
        broken = undefined; // the connection is still good
      } catch {
        // the connection is gone; release(err) below discards it
      }
      throw pgError(err, this.location, what);
    } finally {
      client.off("error", onError);
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }

  private ensureCatalog(): Promise<void> {
    if (this.catalogReady === undefined) {
      const ready = this.transaction(`create the catalog table ${CATALOG}`, async (c) => {
        await c.query("SELECT pg_advisory_xact_lock($1)", [DDL_LOCK]);
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${CATALOG} (
             name TEXT PRIMARY KEY,
             versions INTEGER NOT NULL,
             created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
             compacted_seq BIGINT NOT NULL DEFAULT 0
           )`,
        );
      });
      this.catalogReady = ready;
      // Try again next time when the server was down.
      ready.catch(() => {
        if (this.catalogReady === ready) this.catalogReady = undefined;
      });
    }
    return this.catalogReady;
  }

  /** The table's catalog entry and statements (and a check that it exists). */
  private async info(table: string): Promise<TableInfo> {
    const cached = this.tables.get(table);
    if (cached !== undefined) return cached;
    checkTableName(table);
    const r = await this.catalogQuery<{ versions: number }>(
      `read table ${table}`,
      `SELECT versions FROM ${CATALOG} WHERE name = $1`,
      [table],
    );
    if (r.rows.length === 0) throw unknownTable(table, this.location, await this.listTables());
    const n = sqlNames(table);
    const info: TableInfo = {
      versions: r.rows[0].versions,
      lastSeq: `SELECT max(seq) AS s FROM ${n.table}`,
      // Versions: the key's current max version + its rank among the batch's updates of that key.
      insert: `WITH last AS (SELECT coalesce(max(seq), 0) AS s FROM ${n.table}),
        input AS (
          SELECT u.* FROM unnest($1::text[], $2::timestamptz[], $3::jsonb[], $4::text[], $5::int4[], $6::int8[], $7::int8[])
            AS u(key, event_time, value, source_topic, source_partition, source_offset, seq), last
          WHERE u.seq > last.s),
        base AS (
          SELECT k.key, coalesce((SELECT max(t.version) FROM ${n.table} AS t WHERE t.key = k.key), 0) AS v
          FROM (SELECT DISTINCT key FROM input) AS k)
        INSERT INTO ${n.table} (${COLUMNS})
        SELECT i.key, b.v + row_number() OVER (PARTITION BY i.key ORDER BY i.seq), i.event_time, i.value,
               i.source_topic, i.source_partition, i.source_offset, i.seq
        FROM input AS i JOIN base AS b ON b.key = i.key`,
    };
    this.tables.set(table, info);
    return info;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

/** SQLSTATEs after which the same request can succeed later. */
function retryableSqlState(code: string): boolean {
  return (
    code.startsWith("08") || // connection exception
    code.startsWith("53") || // insufficient resources (too many connections, disk full)
    code === "57P01" || // admin shutdown
    code === "57P02" || // crash shutdown
    code === "57P03" || // cannot connect now (starting up, shutting down)
    code === "57014" || // query canceled (statement_timeout)
    code === "40001" || // serialization failure
    code === "40P01" || // deadlock
    code === "55P03" // lock not available
  );
}

const RETRYABLE_MESSAGES =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|query read timeout|server closed the connection|socket hang up|terminating connection/i;

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A pg failure as a WeirError: retryable when the server is down or unreachable. */
export function pgError(err: unknown, location: string, what: string): WeirError {
  if (err instanceof WeirError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = pgCode(err) ?? "";
  if (NETWORK_CODES.has(code) || retryableSqlState(code) || RETRYABLE_MESSAGES.test(message)) {
    return new WeirError(
      "IO",
      `PostgreSQL at ${location} is unavailable (${message || code}); could not ${what}`,
      { cause: err, retryable: true },
    );
  }
  if (code.startsWith("28") || /password must be a string|SASL|SCRAM/.test(message)) {
    return new WeirError(
      "USAGE",
      `PostgreSQL at ${location} refused the login: ${message} (check the user and password in the URL)`,
      { cause: err },
    );
  }
  if (code === "3D000") {
    return new WeirError(
      "USAGE",
      `PostgreSQL at ${location}: ${message} (create it, e.g. createdb, or name another database in the URL)`,
      { cause: err },
    );
  }
  if (code === "22P05" || code === "22021") {
    return new WeirError(
      "IO",
      `PostgreSQL at ${location} cannot store a value (${message}): JSONB has no \\u0000 in strings; could not ${what}`,
      { cause: err },
    );
  }
  return new WeirError(
    "IO",
    `PostgreSQL at ${location}: could not ${what}: ${message}${code ? ` (${code})` : ""}`,
    {
      cause: err,
    },
  );
}
