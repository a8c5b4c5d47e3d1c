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
import { leaseLog } from "./shared-log.js";

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

/**
 * The records of `topic` from its start to its end as of the call, partition by partition, each in
 * offset order (on Kafka: committed records only). Breaking out of the loop closes what was opened.
 *
 *   for await (const r of readTopic("paid_user", { dataDir })) console.log(JSON.parse(r.value));
 */
export function readTopic(topic: string, options: ReadTopicOptions = {}): AsyncIterableIterator<TopicRecord> {
  const broker = options.broker?.trim() || undefined;
  return broker === undefined ? readEmbedded(topic, options) : readKafka(topic, broker, options.partition);
}

async function* readEmbedded(topic: string, options: ReadTopicOptions): AsyncIterableIterator<TopicRecord> {
  const dataDir = dataDirOf(options);
  // Reading never creates a data directory.
  if (!existsSync(dataDir)) throw unknownTopic(topic, `(no data directory at ${dataDir})`);
  const lease = await leaseLog(dataDir);
  try {
    const { log } = lease;
    if (!log.hasTopic(topic)) throw unknownTopic(topic, `in ${dataDir}`);
    const { partitions } = log.describeTopic(topic);
    checkPartition(topic, options.partition, partitions.length);
    for (const p of partitions) {
      if (options.partition !== undefined && p.partition !== options.partition) continue;
      const reader = log.reader(topic, p.partition, p.startOffset);
      try {
        while (reader.position < p.endOffset) {
          const batch = reader.poll(1000);
          if (batch.length === 0) break;
          for (const r of batch) {
            if (r.offset >= p.endOffset) break;
            yield {
              topic,
              partition: r.partition,
              offset: r.offset,
              timestamp: r.timestamp,
              key: r.key === null ? null : r.key.toString("utf8"),
              value: r.value.toString("utf8"),
            };
          }
        }
      } finally {
        reader.close();
      }
    }
  } finally {
    lease.release();
  }
}

function checkPartition(topic: string, partition: number | undefined, count: number): void {
  if (partition !== undefined && !(Number.isInteger(partition) && partition >= 0 && partition < count))
    throw new WeirError(
      "USAGE",
      `topic ${topic} has no partition ${partition} (it has ${count}: 0..${count - 1})`,
    );
}

async function* readKafka(
  topic: string,
  broker: string,
  partition: number | undefined,
): AsyncIterableIterator<TopicRecord> {
  const [{ KafkaCluster }, { KafkaTopicReader }] = await Promise.all([
    import("../kafka/connection.js"),
    import("../kafka/topic-reader.js"),
  ]);
  const cluster = KafkaCluster.connect(broker);
  let reader: InstanceType<typeof KafkaTopicReader> | undefined;
  try {
    if ((await cluster.partitionCount(topic)) === undefined) throw unknownTopic(topic, `on ${broker}`);
    const [starts, ends] = await Promise.all([cluster.startOffsets(topic), cluster.endOffsets(topic)]);
    checkPartition(topic, partition, ends.length);
    reader = new KafkaTopicReader(cluster.address, topic, { clientId: "weir-reader" });
    for (let p = 0; p < ends.length; p++) {
      if (partition !== undefined && p !== partition) continue;
      const end = ends[p];
      let offset = starts[p] ?? 0;
      while (offset < end) {
        const [f] = (await reader.fetch([{ partition: p, offset }], 500)).filter((x) => x.partition === p);
        if (f === undefined) continue; // its leader is not available right now: ask again
        for (const r of f.records) {
          if (r.offset >= end) break;
          yield {
            topic,
            partition: p,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key === null ? null : r.key.toString("utf8"),
            value: r.value === null ? "" : r.value.toString("utf8"),
          };
        }
        // Nothing more to come below `end`: deleted by retention, or an open transaction's records
        // (read-committed stops at the last stable offset).
        if (f.outOfRange || f.next <= offset) break;
        offset = f.next;
      }
    }
  } finally {
    await Promise.allSettled([reader?.close(), cluster.close()]);
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
