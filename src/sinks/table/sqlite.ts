/**
 * The embedded versioned table store: one SQLite file (`<dataDir>/tables.db` by default) through
 * better-sqlite3. The methods return promises to fit VersionedTableStore, but do their work
 * synchronously (better-sqlite3 is synchronous; a batch of 1000 upserts takes a few milliseconds).
 *
 * - WAL mode: readers (`weir table`, `weir query`) never block the writer, nor the writer them.
 * - synchronous=FULL by default: each committed batch is on disk (one fsync of the WAL per batch),
 *   so a checkpoint that records a table's last seq can trust that the rows are there even after a
 *   power failure. `synchronous: "normal"` keeps kill -9 safety but may lose the last batches on
 *   power loss (see docs/tables.md for the measured difference).
 * - One transaction per writeBatch, prepared statements cached per table.
 * - Rows are stored in arrival order (a rowid table): a batch appends to the end of the table and
 *   only the (key, version) primary-key index is written at random places. (Clustered by
 *   (key, version) — WITHOUT ROWID — every batch rewrote most of the table's pages: 2.3x slower.)
 *
 * Schema: see common.ts and docs/tables.md. event_time is ISO-8601 UTC text with milliseconds,
 * value is JSON text (use json_extract(value, '$.field') in sqlite3).
 */
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import type { Database as Db, Statement } from "better-sqlite3";
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
  isoTime,
  jsonText,
  sqlNames,
  toVersion,
  unknownTable,
  versionsOption,
  type VersionRow,
} from "./common.js";

/** The file name of the embedded store in the data directory. */
export const TABLES_DB_FILE = "tables.db";

export interface SqliteTableStoreOptions {
  /** "full" (default): every batch fsynced; "normal": durable against crashes of the process only. */
  synchronous?: "full" | "normal";
  /** How long a write waits for another connection's write lock before failing (retryable). Default 5000 ms. */
  busyTimeoutMs?: number;
}

interface Row extends VersionRow {
  event_time: string;
  value: string;
}

/** The prepared statements of one table. */
interface TableStatements {
  versions: number;
  lastSeq: Statement<[], number | null>;
  maxVersion: Statement<[string], number | null>;
  insert: Statement<[string, number, string, string, string, number, number, number]>;
  rollback: Statement<[number]>;
  compactKeys: Statement<[{ after: number; upTo: number; keep: number }]>;
  readKey: Statement<[string, number], Row>;
  readAll: Statement<[number], Row>;
}

const COLUMNS = "key, version, event_time, value, source_topic, source_partition, source_offset, seq";

export class SqliteTableStore implements VersionedTableStore {
  readonly location: string;
  readonly path: string;
  private db: Db | undefined;
  private readonly tables = new Map<string, TableStatements>();
  private readonly catalogGet: Statement<[string], { name: string; versions: number; compacted_seq: number }>;
  private readonly catalogList: Statement<[], string>;

  constructor(path: string, options: SqliteTableStoreOptions = {}) {
    this.path = resolve(path);
    this.location = `sqlite:${this.path}`;
    let db: Db;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      db = new Database(this.path);
    } catch (err) {
      throw sqliteError(err, this.location, "open the table store");
    }
    try {
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
      db.pragma("cache_size = -32768"); // 32 MiB of pages: the (key, version) index is written at random places
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${CATALOG} (
           name TEXT PRIMARY KEY,
           versions INTEGER NOT NULL,
           created_at TEXT NOT NULL,
           compacted_seq BIGINT NOT NULL DEFAULT 0
         )`,
      );
      this.catalogGet = db.prepare(
        `SELECT name, versions, compacted_seq FROM ${CATALOG} WHERE lower(name) = lower(?)`,
      );
      this.catalogList = db.prepare(`SELECT name FROM ${CATALOG} ORDER BY name`).pluck() as Statement<
        [],
        string
      >;
    } catch (err) {
      db.close();
      throw sqliteError(err, this.location, "open the table store");
    }
    this.db = db;
  }

  /** `<dataDir>/tables.db`. */
  static inDataDir(dataDir: string, options: SqliteTableStoreOptions = {}): SqliteTableStore {
    return new SqliteTableStore(join(dataDir, TABLES_DB_FILE), options);
  }

  async ensureTable(spec: TableSpec): Promise<void> {
    checkSpec(spec);
    const db = this.open();
    const n = sqlNames(spec.name);
    this.run("create table " + spec.name, () => {
      db.transaction(() => {
        const existing = this.catalogGet.get(spec.name);
        if (existing !== undefined && existing.name !== spec.name) {
          throw new WeirError(
            "USAGE",
            `table ${spec.name}: a table ${existing.name} exists (table names are case-insensitive in SQLite)`,
          );
        }
        db.exec(
          `CREATE TABLE IF NOT EXISTS ${n.table} (
             key TEXT NOT NULL,
             version INTEGER NOT NULL,
             event_time TEXT NOT NULL,
             value TEXT NOT NULL,
             source_topic TEXT,
             source_partition INTEGER,
             source_offset BIGINT,
             seq BIGINT NOT NULL,
             PRIMARY KEY (key, version)
           );
           CREATE UNIQUE INDEX IF NOT EXISTS ${n.seqIndex} ON ${n.table} (seq);
           CREATE VIEW IF NOT EXISTS ${n.latest} AS
             SELECT ${COLUMNS} FROM ${n.table} AS l
             WHERE l.version = (SELECT max(m.version) FROM ${n.table} AS m WHERE m.key = l.key);`,
        );
        // A changed `versions` makes the next compaction look at every key again.
        db.prepare(
          `INSERT INTO ${CATALOG} (name, versions, created_at, compacted_seq) VALUES (?, ?, ?, 0)
           ON CONFLICT (name) DO UPDATE SET
             versions = excluded.versions,
             compacted_seq = CASE WHEN versions = excluded.versions THEN compacted_seq ELSE 0 END`,
        ).run(spec.name, spec.versions, new Date().toISOString());
      })();
    });
    this.tables.delete(spec.name);
  }

  async writeBatch(table: string, updates: readonly TableUpdate[]): Promise<void> {
    const s = this.statements(table);
    if (updates.length === 0) return;
    this.run(`write to table ${table}`, () => {
      this.db!.transaction(() => {
        const first = checkBatch(table, updates, s.lastSeq.get() ?? 0);
        const versions = new Map<string, number>();
        for (let i = first; i < updates.length; i++) {
          const u = updates[i];
          const version = (versions.get(u.key) ?? s.maxVersion.get(u.key) ?? 0) + 1;
          versions.set(u.key, version);
          s.insert.run(
            u.key,
            version,
            isoTime(u.eventTime),
            jsonText(u),
            u.topic,
            u.partition,
            u.offset,
            u.seq,
          );
        }
      })();
    });
  }

  async lastSeq(table: string): Promise<number> {
    const s = this.statements(table);
    return this.run(`read table ${table}`, () => s.lastSeq.get() ?? 0);
  }

  async rollbackTo(table: string, seq: number): Promise<void> {
    const s = this.statements(table);
    this.run(`roll back table ${table}`, () => {
      this.db!.transaction(() => {
        s.rollback.run(seq);
        this.db!.prepare(`UPDATE ${CATALOG} SET compacted_seq = min(compacted_seq, ?) WHERE name = ?`).run(
          Math.max(0, seq),
          table,
        );
      })();
    });
  }

  async compact(table: string, seq: number): Promise<void> {
    const s = this.statements(table);
    this.run(`compact table ${table}`, () => {
      this.db!.transaction(() => {
        const cat = this.catalogGet.get(table)!;
        // Every key keeps its `versions` newest rows among those with seq <= `seq`: rows written
        // after `seq` are not counted, so a rollback to `seq` still finds each key's state at `seq`.
        // Only keys updated since the last compaction can have more (compacted_seq).
        const upTo = Math.min(seq, s.lastSeq.get() ?? 0);
        if (upTo <= cat.compacted_seq) return;
        s.compactKeys.run({ after: cat.compacted_seq, upTo, keep: cat.versions });
        this.db!.prepare(`UPDATE ${CATALOG} SET compacted_seq = ? WHERE name = ?`).run(upTo, table);
      })();
    });
  }

  async read(table: string, options: TableReadOptions = {}): Promise<TableVersion[]> {
    const s = this.statements(table);
    const asked = versionsOption(options.versions);
    return this.run(`read table ${table}`, () => {
      // Never more than the table keeps, compacted or not. The catalog is read each time: another
      // process (the pipeline) may have changed `versions` since these statements were prepared.
      const kept = options.raw === true ? undefined : this.catalogGet.get(table)?.versions;
      const versions = kept === undefined ? asked : Math.min(asked, kept);
      const rows = options.key !== undefined ? s.readKey.all(options.key, versions) : s.readAll.all(versions);
      return rows.map((r) => toVersion(r, Date.parse(r.event_time), JSON.parse(r.value)));
    });
  }

  async listTables(): Promise<string[]> {
    this.open();
    return this.run("list tables", () => this.catalogList.all());
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.tables.clear();
    db?.close();
  }

  private open(): Db {
    if (this.db === undefined) throw new WeirError("CLOSED", `table store ${this.location} is closed`);
    return this.db;
  }

  private run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw sqliteError(err, this.location, what);
    }
  }

  /** The table's statements (and a check that it exists). */
  private statements(table: string): TableStatements {
    const db = this.open();
    const cached = this.tables.get(table);
    if (cached !== undefined) return cached;
    checkTableName(table);
    const cat = this.run(`read table ${table}`, () => this.catalogGet.get(table));
    if (cat === undefined || cat.name !== table) {
      throw unknownTable(
        table,
        this.location,
        this.run("list tables", () => this.catalogList.all()),
      );
    }
    const n = sqlNames(table);
    const s = this.run(`read table ${table}`, () => ({
      versions: cat.versions,
      lastSeq: db.prepare(`SELECT max(seq) FROM ${n.table}`).pluck() as Statement<[], number | null>,
      maxVersion: db.prepare(`SELECT max(version) FROM ${n.table} WHERE key = ?`).pluck() as Statement<
        [string],
        number | null
      >,
      insert: db.prepare(`INSERT INTO ${n.table} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`) as Statement<
        [string, number, string, string, string, number, number, number]
      >,
      rollback: db.prepare(`DELETE FROM ${n.table} WHERE seq > ?`) as Statement<[number]>,
      // Keys with updates in (compacted_seq, upTo]; for each, rows with seq <= upTo older than the
      // key's `versions` newest such rows. (Versions grow with seq within a key.)
      compactKeys: db.prepare(
        `DELETE FROM ${n.table}
         WHERE key IN (SELECT DISTINCT key FROM ${n.table} WHERE seq > @after AND seq <= @upTo)
           AND seq <= @upTo
           AND version <= (SELECT o.version FROM ${n.table} AS o
                           WHERE o.key = ${n.table}.key AND o.seq <= @upTo
                           ORDER BY o.version DESC LIMIT 1 OFFSET @keep)`,
      ) as Statement<[{ after: number; upTo: number; keep: number }]>,
      readKey: db.prepare(
        `SELECT ${COLUMNS} FROM ${n.table} WHERE key = ? ORDER BY version DESC LIMIT ?`,
      ) as Statement<[string, number], Row>,
      readAll: db.prepare(
        `SELECT ${COLUMNS} FROM (
           SELECT *, row_number() OVER (PARTITION BY key ORDER BY version DESC) AS rn FROM ${n.table}
         ) WHERE rn <= ? ORDER BY key, version DESC`,
      ) as Statement<[number], Row>,
    }));
    this.tables.set(table, s);
    return s;
  }
}

/** SQLite's failures as WeirErrors: a locked or full database is worth retrying, the rest is not. */
function sqliteError(err: unknown, location: string, what: string): Error {
  if (err instanceof WeirError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code !== "string") return err instanceof Error ? err : new Error(message);
  const text = `cannot ${what} in ${location}: ${message} (${code})`;
  if (
    code === "SQLITE_BUSY" ||
    code.startsWith("SQLITE_BUSY_") ||
    code === "SQLITE_LOCKED" ||
    code === "SQLITE_FULL"
  ) {
    return new WeirError("IO", text, { cause: err, retryable: true });
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
    return new WeirError("CORRUPT", text, { cause: err });
  }
  if (code.startsWith("SQLITE_") || code.startsWith("E")) {
    return new WeirError("IO", text, { cause: err });
  }
  return err instanceof Error ? err : new Error(message);
}
