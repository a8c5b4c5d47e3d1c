/**
 * Reading what pipelines wrote, from code: a topic (embedded log or Kafka), the versioned tables
 * (SQLite or PostgreSQL) and the warehouse (SQL over the lake and the tables). What `weir consume`,
 * `weir table` and `weir query` read, without their printing.
 *
 * Each opens what it needs lazily (the runtime's modules are loaded on first use) and reads the
 * state as of the call: a topic up to its end when reading starts, tables and lake as committed.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { WeirError } from "../errors.js";
import type { TableVersion, VersionedTableStore } from "../sinks/types.js";
import { openTopicLog, type LogTopicReader, type TopicLog } from "./topic-log.js";

export type { TableVersion } from "../sinks/types.js";

/** Where to read: the data directory (default `.weir`), or a Kafka cluster for topics. */
export interface ReadTopicOptions {
  dataDir?: string;
  /** Read the topic on this Kafka cluster (`kafka://host:port`) instead of the embedded log. */
  broker?: string;
  /** Only this partition. */
  partition?: number;
}

export interface TopicRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly key: string | null;
  /** The value as UTF-8 text (pipelines write JSON: `JSON.parse(r.value)`). */
  readonly value: string;
}

function dataDirOf(options: { dataDir?: string }): string {
  return resolve(options.dataDir === undefined || options.dataDir === "" ? ".weir" : options.dataDir);
}

function unknownTopic(topic: string, where: string): WeirError {
  return new WeirError("UNKNOWN_TOPIC", `unknown topic ${JSON.stringify(topic)} ${where}`);
}

/** How long one fetch may wait before the end taken at start (the records are there: it answers at once). */
const FETCH_WAIT_MS = 500;

/**
 * The records of `topic` from its start to its end as of the call, partition by partition, each in
 * offset order (on Kafka: committed records only). Breaking out of the loop closes what was opened.
 *
 *   for await (const r of readTopic("paid_user", { dataDir })) console.log(JSON.parse(r.value));
 */
export async function* readTopic(
  topic: string,
  options: ReadTopicOptions = {},
): AsyncIterableIterator<TopicRecord> {
  const broker = options.broker?.trim() || undefined;
  let log: TopicLog;
  let where: string;
  if (broker !== undefined) {
    log = await openTopicLog({ broker });
    where = `on ${broker}`;
  } else {
    const dataDir = dataDirOf(options);
    // Reading never creates a data directory.
    if (!existsSync(dataDir)) throw unknownTopic(topic, `(no data directory at ${dataDir})`);
    log = await openTopicLog({ dataDir });
    where = `in ${dataDir}`;
  }
  let reader: LogTopicReader | undefined;
  try {
    const description = await log.describeTopic(topic);
    if (description === undefined) throw unknownTopic(topic, where);
    const { partition } = options;
    const count = description.partitions.length;
    if (partition !== undefined && !(Number.isInteger(partition) && partition >= 0 && partition < count))
      throw new WeirError(
        "USAGE",
        `topic ${topic} has no partition ${partition} (it has ${count}: 0..${count - 1})`,
      );
    reader = await log.openReader(topic);
    for (const p of description.partitions) {
      if (partition !== undefined && p.partition !== partition) continue;
      const end = p.endOffset;
      let offset = p.startOffset;
      while (offset < end) {
        const fetched = await reader.fetch([{ partition: p.partition, offset }], {
          maxWaitMs: FETCH_WAIT_MS,
        });
        const f = fetched.find((x) => x.partition === p.partition);
        if (f === undefined) continue; // its Kafka leader is not available right now: ask again
        if (f.outOfRange) {
          // Deleted by retention meanwhile: go on at the oldest record still there.
          const now = (await log.describeTopic(topic))?.partitions.find((x) => x.partition === p.partition);
          if (now === undefined || now.startOffset <= offset) break;
          offset = now.startOffset;
          continue;
        }
        for (const r of f.records) {
          if (r.offset >= end) break;
          yield {
            topic,
            partition: p.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key === null ? null : r.key.toString("utf8"),
            value: r.value === null ? "" : r.value.toString("utf8"),
          };
        }
        // Nothing more to come below `end` (an open transaction's records: read-committed stops at
        // the last stable offset).
        if (f.next <= offset) break;
        offset = f.next;
      }
    }
  } finally {
    await Promise.allSettled([reader?.close(), log.close()]);
  }
}

// ---------------------------------------------------------------------------------------------
// Versioned tables

export interface TablesOptions {
  dataDir?: string;
  /** "sqlite" (default: `<dataDir>/tables.db`), "sqlite:/path.db" or "postgres://user@host:port/db". */
  tableStore?: string;
}

export interface TableReader {
  /** Where the tables are, e.g. "sqlite:/data/.weir/tables.db". */
  readonly location: string;
  /** The tables' names. */
  list(): Promise<string[]>;
  /**
   * The latest version of every key (or of `key`), or up to `versions` newest versions of each,
   * newest first. A name that is not a table is a USAGE error listing the tables.
   */
  read(table: string, options?: { key?: string; versions?: number }): Promise<TableVersion[]>;
  close(): Promise<void>;
}

/** The versioned tables pipelines write with `.toTable()`; PostgreSQL connects on first use. */
export async function openTables(options: TablesOptions = {}): Promise<TableReader> {
  const dataDir = dataDirOf(options);
  const { openTableStore } = await import("../sinks/table/index.js");
  const store: VersionedTableStore = openTableStore(options.tableStore, dataDir);
  return {
    location: store.location,
    list: () => store.listTables(),
    read: (table, o = {}) =>
      store.read(table, {
        ...(o.key === undefined ? {} : { key: o.key }),
        ...(o.versions === undefined ? {} : { versions: o.versions }),
      }),
    close: () => store.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// The warehouse

export interface WarehouseReader {
  /** The lake datasets (each a view of its name). */
  readonly datasets: readonly string[];
  /** The versioned tables (each a table of its name, and `NAME_latest`). */
  readonly tables: readonly string[];
  /**
   * Rows as objects, values as DuckDB gives them to JavaScript: BIGINT (`count(*)`) is a bigint,
   * TIMESTAMP a Date-like value, JSON text; `Number(row.n)` for a count.
   */
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * SQL over the lake and the versioned tables (in-memory DuckDB; the same views and tables `weir
 * query` sees, docs/lake.md). Opened as of the call: open another for newer data.
 */
export async function openWarehouse(options: TablesOptions = {}): Promise<WarehouseReader> {
  const dataDir = dataDirOf(options);
  if (!existsSync(dataDir))
    throw new WeirError("BAD_DATA_DIR", `there is no data directory at ${dataDir}: nothing to query`);
  const [{ tableOptions }, warehouse] = await Promise.all([
    import("../warehouse/options.js"),
    import("../warehouse/index.js"),
  ]);
  const tables = await tableOptions(options.tableStore, dataDir);
  let wh;
  try {
    wh = await warehouse.openWarehouse(dataDir, tables.options);
  } catch (err) {
    await tables.close();
    throw err;
  }
  const open = wh;
  return {
    datasets: open.datasets.map((d) => d.name),
    tables: [...open.tables],
    async query(sql) {
      const reader = await open.run(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    },
    async close() {
      open.close();
      await tables.close();
    },
  };
}
