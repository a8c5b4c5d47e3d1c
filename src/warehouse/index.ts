/**
 * The warehouse: SQL over the lake and the versioned tables with an in-memory DuckDB.
 *
 *   const wh = await openWarehouse(dataDir);
 *   const reader = await wh.run("SELECT date, count(*) FROM interactions GROUP BY ALL");
 *   wh.close();
 *
 * - Every lake dataset is a view named after it (`lake.NAME`, and `NAME` when no table has that
 *   name) over exactly the files its manifest lists: unpublished, rolled-back or stray files are
 *   never read. Hive partition folders become columns (`date`), except when the rows have a field of
 *   that name (NoBroker's `date` timestamp), which then keeps its own value.
 * - Every versioned table is a table `tables.NAME` holding the versions each key keeps (key,
 *   version, event_time, value JSON, source_topic, source_partition, source_offset, seq): at most
 *   the table's `versions` newest, also before compaction has removed older ones; and a view
 *   `tables.NAME_latest` with the newest version per key; both also without the schema prefix.
 * - Timestamps are UTC (the session time zone is UTC).
 * - With `sandbox: true` the instance is locked down before anything else happens and `query` runs
 *   SQL written by someone else: it reads the views and tables only and writes nothing (sandbox.ts).
 */
import { realpathSync } from "node:fs";
import { join } from "node:path";
import type { DuckDBConnection, DuckDBInstance, DuckDBResult, DuckDBResultReader } from "@duckdb/node-api";
import type { VersionedTableStore } from "../sinks/types.js";
import { quoteIdent } from "../sinks/lake/columns.js";
import { createLakeViewSql, lakeViews, type LakeView } from "./lake-views.js";
import { TABLES_DB, createTable, fillTable, sqliteTables, storeTables, type TableSource } from "./tables.js";
import { promotedNames, readPromotions } from "../runtime/promotions.js";
import { lakeDir } from "../sinks/lake/manifest.js";
import { quoteString } from "../sinks/lake/columns.js";
import {
  LOCK_SQL,
  QueryRefused,
  SANDBOX_CONFIG,
  checkQuery,
  lockDownSql,
  notAQuery,
  queryableRelations,
  unconfinedReason,
} from "./sandbox.js";
import { keepLeadingByteOrderMarks } from "./duckdb-strings.js";

export { lakeViews, lakeView, type LakeView } from "./lake-views.js";
export { TABLES_DB } from "./tables.js";
export { QueryRefused } from "./sandbox.js";

export const LAKE_SCHEMA = "lake";
export const TABLES_SCHEMA = "tables";

export interface WarehouseOptions {
  /** Read the versioned tables through this store (e.g. PostgreSQL), instead of a SQLite file. */
  tableStore?: VersionedTableStore;
  /** The SQLite table store file to read (default `<dataDir>/tables.db`; none when it does not exist). */
  sqlitePath?: string;
  /**
   * "eager" (default): copy every table into DuckDB now. "lazy": create them empty and fill each
   * the first time `run`/`stream` is given SQL that names it (or on `loadTables`).
   */
  tables?: "eager" | "lazy";
  /**
   * Follow `weir promote` (default true): a promoted table's or dataset's v1 name is a view of the
   * promoted version (`lake.NAME` / `tables.NAME` still read v1).
   */
  followPromotions?: boolean;
  /**
   * Lock the instance down for SQL written by someone else (src/warehouse/sandbox.ts): it may read
   * exactly the files the lake views list and nothing else, change no setting and write nothing;
   * run such SQL with `query`. A dataset with a file that is not a regular file inside the lake (a
   * symbolic link pointing out) gets a view that fails with the reason. Default false.
   */
  sandbox?: boolean;
  /**
   * With `sandbox`: the SQL that `query` will be given, checked (QueryRefused) as soon as the
   * instance is locked down, before any view or table is built, so that a refused query costs little.
   */
  checkFirst?: string;
}

export class Warehouse {
  /** Unqualified names that are taken (lake datasets first); a table with such a name is only `tables.NAME`. */
  readonly notes: string[] = [];
  private readonly unloaded = new Map<string, TableSource>();
  /** v1 name -> promoted name (lower case), for loading the promoted table a query names by its v1 name. */
  private readonly promoted = new Map<string, string>();
  /** A sandboxed warehouse: the relations its queries may name (lower case); undefined otherwise. */
  private relations: Set<string> | undefined;

  private constructor(
    readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    /** The lake datasets with a view. */
    readonly datasets: readonly LakeView[],
    /** The versioned tables. */
    readonly tables: readonly string[],
    private readonly release: () => void,
  ) {}

  static async open(dataDir: string, options: WarehouseOptions = {}): Promise<Warehouse> {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    keepLeadingByteOrderMarks();
    const sandbox = options.sandbox === true;
    const instance = await DuckDBInstance.create(":memory:", sandbox ? { ...SANDBOX_CONFIG } : undefined);
    let connection: DuckDBConnection | undefined;
    let closeSources = () => {};
    try {
      connection = await instance.connect();
      await connection.run("SET TimeZone = 'UTC'");
      const views = lakeViews(dataDir).filter((v) => v.select !== undefined);
      const refused = new Map<string, string>();
      if (sandbox) {
        const allowed: string[] = [];
        const root = views.length === 0 ? "" : realpathSync(lakeDir(dataDir));
        for (const v of views) {
          const reason = v.paths.map((p) => unconfinedReason(p, root)).find((r) => r !== undefined);
          if (reason === undefined) allowed.push(...v.paths);
          else refused.set(v.name, reason);
        }
        for (const statement of lockDownSql(allowed)) await connection.run(statement);
        await connection.run(LOCK_SQL);
      }
      let sources: TableSource[];
      if (options.tableStore !== undefined) {
        sources = await storeTables(options.tableStore);
      } else {
        const sqlite = await sqliteTables(options.sqlitePath ?? join(dataDir, TABLES_DB));
        sources = sqlite.tables;
        closeSources = sqlite.close;
      }
      if (sandbox && options.checkFirst !== undefined) {
        // Every name the views and tables will have (a superset: `query` checks again, exactly).
        const names = [...views.map((v) => v.name), ...sources.flatMap((t) => [t.name, `${t.name}_latest`])];
        const promotions = readPromotions(dataDir);
        for (const [from] of promotedNames(promotions, "datasets")) names.push(from);
        for (const [from] of promotedNames(promotions, "tables")) names.push(from, `${from}_latest`);
        await checkQuery(connection, options.checkFirst, await queryableRelations(connection, names));
      }
      await connection.run(`CREATE SCHEMA ${LAKE_SCHEMA}; CREATE SCHEMA ${TABLES_SCHEMA}`);
      const taken = new Set<string>();
      for (const v of views) {
        const reason = refused.get(v.name);
        await connection.run(
          reason === undefined
            ? createLakeViewSql(LAKE_SCHEMA, v)!
            : refusedViewSql(LAKE_SCHEMA, v.name, `lake dataset ${v.name} is not read here: ${reason}`),
        );
        await connection.run(
          `CREATE VIEW main.${quoteIdent(v.name)} AS SELECT * FROM ${LAKE_SCHEMA}.${quoteIdent(v.name)}`,
        );
        taken.add(v.name.toLowerCase());
      }
      const wh = new Warehouse(
        instance,
        connection,
        views,
        sources.map((s) => s.name),
        () => closeSources(),
      );
      for (const t of sources) {
        const names = await createTable(connection, TABLES_SCHEMA, t);
        wh.unloaded.set(t.name.toLowerCase(), t);
        if (names.some((n) => taken.has(n.toLowerCase()))) {
          wh.notes.push(
            `table ${t.name} is only available as ${TABLES_SCHEMA}.${t.name} (a lake dataset has its name)`,
          );
          continue;
        }
        for (const n of names) {
          await connection.run(
            `CREATE VIEW main.${quoteIdent(n)} AS SELECT * FROM ${TABLES_SCHEMA}.${quoteIdent(n)}`,
          );
          taken.add(n.toLowerCase());
        }
      }
      if (options.followPromotions !== false) await wh.followPromotions(dataDir, taken);
      if (options.tables !== "lazy") await wh.loadTables();
      if (sandbox) wh.relations = await queryableRelations(connection);
      return wh;
    } catch (err) {
      closeSources();
      connection?.closeSync();
      instance.closeSync();
      throw err;
    }
  }

  /** Point each promoted v1 name (and a table's `_latest` view) at its promoted version. */
  private async followPromotions(dataDir: string, taken: Set<string>): Promise<void> {
    const promotions = readPromotions(dataDir);
    const aliases: Array<[string, string, string]> = [];
    for (const [from, to] of promotedNames(promotions, "datasets")) aliases.push([from, to, "dataset"]);
    for (const [from, to] of promotedNames(promotions, "tables")) {
      aliases.push([from, to, "table"]);
      aliases.push([`${from}_latest`, `${to}_latest`, "table"]);
    }
    for (const [from, to, what] of aliases) {
      if (!taken.has(to.toLowerCase())) continue; // the promoted version has written nothing yet
      await this.connection.run(
        `CREATE OR REPLACE VIEW main.${quoteIdent(from)} AS SELECT * FROM main.${quoteIdent(to)}`,
      );
      this.promoted.set(from.toLowerCase(), to.toLowerCase());
      if (!from.endsWith("_latest"))
        this.notes.push(
          `${from} reads ${what} ${to} (promoted with \`weir promote\`); ${what === "table" ? TABLES_SCHEMA : LAKE_SCHEMA}.${from} is the original`,
        );
    }
  }

  /** Copy tables into DuckDB: those named (or `NAME_latest`), or all. Each is loaded once. */
  async loadTables(names?: Iterable<string>): Promise<void> {
    const wanted =
      names === undefined
        ? [...this.unloaded.keys()]
        : [...names].map((n) => n.toLowerCase().replace(/_latest$/, "")).filter((n) => this.unloaded.has(n));
    for (const key of new Set(wanted)) {
      const t = this.unloaded.get(key);
      if (t === undefined) continue;
      this.unloaded.delete(key);
      await fillTable(this.connection, TABLES_SCHEMA, t);
    }
  }

  /**
   * Load the tables `sql` mentions: every word of the text that names a table or its `_latest`
   * view (a name inside a string literal loads it too — harmless). DuckDB's own getTableNames
   * comes back empty once views exist, so the text is scanned instead.
   */
  private async prepareFor(sql: string): Promise<void> {
    if (this.unloaded.size === 0) return;
    const words = (sql.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? []).map((w) => this.promoted.get(w) ?? w);
    await this.loadTables(words.filter((w) => this.unloaded.has(w.replace(/_latest$/, ""))));
  }

  /**
   * Run `sql` (one or more statements separated by `;`); the result of the last one is streamed:
   * read it with `fetchChunk()` / `yieldRows()`.
   */
  async stream(sql: string): Promise<DuckDBResult> {
    this.unsandboxed("stream");
    await this.prepareFor(sql);
    const statements = await this.connection.extractStatements(sql);
    if (statements.count === 0) throw new Error("no SQL statement given");
    for (let i = 0; i < statements.count - 1; i++) {
      const p = await statements.prepare(i);
      try {
        await p.run();
      } finally {
        p.destroySync();
      }
    }
    const last = await statements.prepare(statements.count - 1);
    return last.stream();
  }

  /** SQL of the warehouse's own user: a sandboxed warehouse runs SQL through `query` only. */
  private unsandboxed(method: string): void {
    if (this.relations !== undefined)
      throw new Error(`Warehouse.${method} runs any statement: a sandboxed warehouse runs SQL with query()`);
  }

  /**
   * Run one query written by someone else in a sandboxed warehouse (`sandbox: true`): QueryRefused
   * unless it is a single SELECT over the views and tables (src/warehouse/sandbox.ts); DuckDB's
   * errors otherwise. The result is streamed.
   */
  async query(sql: string): Promise<DuckDBResult> {
    const relations = this.relations;
    if (relations === undefined)
      throw new Error("Warehouse.query needs a warehouse opened with sandbox: true");
    await checkQuery(this.connection, sql, relations);
    await this.prepareFor(sql);
    const { StatementType } = await import("@duckdb/node-api");
    const statements = await this.connection.extractStatements(sql);
    const prepared = await statements.prepare(0);
    if (prepared.statementType !== StatementType.SELECT) {
      const type = StatementType[prepared.statementType] ?? "this statement";
      prepared.destroySync();
      throw new QueryRefused(notAQuery(type));
    }
    return prepared.stream();
  }

  /** Run `sql` and read the whole result of its last statement. */
  async run(sql: string): Promise<DuckDBResultReader> {
    this.unsandboxed("run");
    await this.prepareFor(sql);
    const statements = await this.connection.extractStatements(sql);
    if (statements.count === 0) throw new Error("no SQL statement given");
    let reader: DuckDBResultReader | undefined;
    for (let i = 0; i < statements.count; i++) {
      const p = await statements.prepare(i);
      try {
        reader = await p.runAndReadAll();
      } finally {
        p.destroySync();
      }
    }
    return reader!;
  }

  close(): void {
    try {
      this.release();
    } finally {
      this.connection.closeSync();
      this.instance.closeSync();
    }
  }
}

/** A view that fails with `message` when it is read. */
function refusedViewSql(schema: string, name: string, message: string): string {
  return (
    `CREATE OR REPLACE VIEW ${quoteIdent(schema)}.${quoteIdent(name)} AS ` +
    `SELECT * FROM (SELECT error(${quoteString(message)}) AS error) WHERE error IS NULL`
  );
}

/** Open an in-memory DuckDB with a view per lake dataset and per versioned table (see Warehouse). */
export function openWarehouse(dataDir: string, options: WarehouseOptions = {}): Promise<Warehouse> {
  return Warehouse.open(dataDir, options);
}
