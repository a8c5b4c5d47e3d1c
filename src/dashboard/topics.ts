/**
 * Reading topics for the dashboard: the embedded log in the data directory, or a Kafka cluster.
 *
 * - Embedded: the log is opened like `weir consume` opens it. Readers take no lock, so the
 *   dashboard reads while pipelines and producers in other processes (or in this one) append. A
 *   data directory that does not exist (or has no topics yet) is not created.
 * - Kafka: KafkaCluster for the list and the offsets, KafkaTopicReader for records: committed
 *   records only (read-committed), without joining a consumer group.
 *
 * `latest` reads a bounded window at the end of each partition — the last `limit` records, or the
 * last 10,000 when searching for a key — so a request costs the same on a topic of any size.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { WeirError } from "../errors.js";
import type { EmbeddedLog } from "../log/index.js";
import type { KafkaCluster } from "../kafka/connection.js";
import type { KafkaTopicReader, PartitionPosition } from "../kafka/topic-reader.js";
import { Ring } from "../util/ring.js";
import { badRequest, notFound } from "./api-error.js";

export interface TopicSummary {
  name: string;
  partitions: number;
  /** Sum over partitions of end - start offsets. */
  records: number;
  /** Bytes on disk (embedded log); null when unknown (Kafka). */
  bytes: number | null;
}

export interface TopicRecordView {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  /** The value parsed as JSON when it is JSON, else the text (null: a Kafka record without value). */
  value: unknown;
}

export interface LatestOptions {
  /** At most this many records (newest first). */
  limit: number;
  /** Only records whose key (as UTF-8 text) equals this. */
  key?: string;
  /** Only this partition. */
  partition?: number;
}

export interface TopicBrowser {
  readonly engine: "embedded" | "kafka";
  readonly broker: string | null;
  list(): Promise<TopicSummary[]>;
  /** The newest records; ApiError 404 for an unknown topic, 400 for a partition it does not have. */
  latest(topic: string, options: LatestOptions): Promise<TopicRecordView[]>;
  close(): Promise<void>;
}

/** Records per partition searched for a key (docs/api.md). */
export const KEY_SEARCH_WINDOW = 10_000;

/** A value as the API shows it: parsed JSON, else the text. */
export function parseValue(bytes: Buffer | null): unknown {
  if (bytes === null) return null;
  const text = bytes.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A record as `latest` keeps it, its value parsed only once it is among the records returned. */
type KeptRecord = Omit<TopicRecordView, "value"> & { raw: Buffer | null };

/**
 * A record read from a partition as `latest` keeps it; undefined when `keyBytes` (a key searched
 * for) is given and the record has another key.
 */
function keep(
  r: { partition: number; offset: number; timestamp: number; key: Buffer | null; value: Buffer | null },
  keyBytes: Buffer | undefined,
): KeptRecord | undefined {
  if (keyBytes !== undefined && (r.key === null || !keyBytes.equals(r.key))) return undefined;
  return {
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString("utf8"),
    raw: r.value,
  };
}

/** The newest `limit` of `found` (across partitions: by timestamp, then partition, then offset), values parsed. */
function newest(found: KeptRecord[], limit: number): TopicRecordView[] {
  found.sort((a, b) => b.timestamp - a.timestamp || a.partition - b.partition || b.offset - a.offset);
  return found.slice(0, limit).map(({ raw, ...r }) => ({ ...r, value: parseValue(raw) }));
}

function unknownTopic(topic: string, where: string): never {
  throw notFound(`unknown topic ${JSON.stringify(topic)} ${where}`);
}

function checkPartition(topic: string, partition: number | undefined, count: number): void {
  if (partition !== undefined && (partition < 0 || partition >= count))
    throw badRequest(
      `topic ${topic} has no partition ${partition} (it has ${count}: 0..${count - 1}); fix ?partition=`,
    );
}

// ---------------------------------------------------------------------------------------------
// Embedded log

export class EmbeddedTopicBrowser implements TopicBrowser {
  readonly engine = "embedded";
  readonly broker = null;
  private log: EmbeddedLog | undefined;

  constructor(readonly dataDir: string) {}

  /** The log, opened once the data directory has topics (undefined before: nothing to read). */
  private async open(): Promise<EmbeddedLog | undefined> {
    if (this.log !== undefined) return this.log;
    if (!existsSync(join(this.dataDir, "topics"))) return undefined;
    const { EmbeddedLog } = await import("../log/index.js");
    this.log = EmbeddedLog.open(this.dataDir, { logger: () => {} });
    return this.log;
  }

  async list(): Promise<TopicSummary[]> {
    const log = await this.open();
    if (log === undefined) return [];
    const out: TopicSummary[] = [];
    for (const name of log.listTopics()) {
      let d;
      try {
        d = log.describeTopic(name);
      } catch (err) {
        if (err instanceof WeirError && err.code === "UNKNOWN_TOPIC") continue; // deleted meanwhile
        throw err;
      }
      let records = 0;
      let bytes = 0;
      for (const p of d.partitions) {
        records += Math.max(0, p.endOffset - p.startOffset);
        bytes += p.sizeBytes;
      }
      out.push({ name, partitions: d.partitions.length, records, bytes });
    }
    return out;
  }

  async latest(topic: string, options: LatestOptions): Promise<TopicRecordView[]> {
    const log = await this.open();
    if (log === undefined || !log.hasTopic(topic)) unknownTopic(topic, `in ${this.dataDir}`);
    let d;
    try {
      d = log.describeTopic(topic);
    } catch (err) {
      if (err instanceof WeirError && err.code === "UNKNOWN_TOPIC") unknownTopic(topic, `in ${this.dataDir}`);
      throw err;
    }
    checkPartition(topic, options.partition, d.partitions.length);
    const keyBytes = options.key === undefined ? undefined : Buffer.from(options.key, "utf8");
    const window = keyBytes === undefined ? options.limit : KEY_SEARCH_WINDOW;
    const found: KeptRecord[] = [];
    for (const p of d.partitions) {
      if (options.partition !== undefined && p.partition !== options.partition) continue;
      const reader = log.reader(topic, p.partition);
      try {
        const end = reader.endOffset();
        const from = Math.max(reader.startOffset(), end - window);
        if (from >= end) continue;
        reader.seek(from);
        const tail = new Ring<KeptRecord>(options.limit);
        while (reader.position < end) {
          const records = reader.poll(Math.min(2000, end - reader.position));
          if (records.length === 0) break;
          for (const r of records) {
            if (r.offset >= end) break;
            const kept = keep(r, keyBytes);
            if (kept !== undefined) tail.push(kept);
          }
        }
        found.push(...tail.toArray());
      } finally {
        reader.close();
      }
    }
    return newest(found, options.limit);
  }

  async close(): Promise<void> {
    this.log?.close();
    this.log = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Kafka

/** How long one `latest` request may spend fetching from the cluster, ms. */
const KAFKA_FETCH_BUDGET_MS = 10_000;

export class KafkaTopicBrowser implements TopicBrowser {
  readonly engine = "kafka";
  private readonly readers = new Map<string, KafkaTopicReader>();
  private readerClass: typeof KafkaTopicReader | undefined;

  private constructor(
    private readonly cluster: KafkaCluster,
    readonly broker: string,
  ) {}

  /** Connect to the cluster at `url` (kafka://host:port[,host:port]); throws WeirError USAGE for a bad URL. */
  static async connect(url: string): Promise<KafkaTopicBrowser> {
    const { KafkaCluster } = await import("../kafka/connection.js");
    return new KafkaTopicBrowser(KafkaCluster.connect(url), url);
  }

  async list(): Promise<TopicSummary[]> {
    const names = await this.cluster.listTopics();
    return Promise.all(
      names.map(async (name) => {
        const [starts, ends] = await Promise.all([
          this.cluster.startOffsets(name),
          this.cluster.endOffsets(name),
        ]);
        let records = 0;
        ends.forEach((end, p) => (records += Math.max(0, end - (starts[p] ?? 0))));
        return { name, partitions: ends.length, records, bytes: null };
      }),
    );
  }

  async latest(topic: string, options: LatestOptions): Promise<TopicRecordView[]> {
    if (!(await this.cluster.listTopics()).includes(topic)) unknownTopic(topic, `on ${this.broker}`);
    const [starts, ends] = await Promise.all([
      this.cluster.startOffsets(topic),
      this.cluster.endOffsets(topic),
    ]);
    checkPartition(topic, options.partition, ends.length);
    const window = options.key === undefined ? options.limit : KEY_SEARCH_WINDOW;
    const keyBytes = options.key === undefined ? undefined : Buffer.from(options.key, "utf8");
    const tails = new Map<number, Ring<KeptRecord>>();
    let positions: PartitionPosition[] = [];
    ends.forEach((end, partition) => {
      if (options.partition !== undefined && partition !== options.partition) return;
      const from = Math.max(starts[partition] ?? 0, end - window);
      if (from < end) positions.push({ partition, offset: from });
      tails.set(partition, new Ring(options.limit));
    });
    const reader = await this.reader(topic);
    const deadline = Date.now() + KAFKA_FETCH_BUDGET_MS;
    while (positions.length > 0 && Date.now() < deadline) {
      const fetched = await reader.fetch(positions, 0);
      const next: PartitionPosition[] = [];
      for (const pos of positions) {
        const f = fetched.find((x) => x.partition === pos.partition);
        if (f === undefined) {
          next.push(pos); // its leader is not available right now: ask again
          continue;
        }
        const end = ends[pos.partition];
        const tail = tails.get(pos.partition)!;
        for (const r of f.records) {
          if (r.offset >= end) break;
          const kept = keep(r, keyBytes);
          if (kept !== undefined) tail.push(kept);
        }
        if (!f.outOfRange && f.next > pos.offset && f.next < end)
          next.push({ partition: pos.partition, offset: f.next });
      }
      positions = next;
    }
    return newest(
      [...tails.values()].flatMap((t) => t.toArray()),
      options.limit,
    );
  }

  private async reader(topic: string): Promise<KafkaTopicReader> {
    let r = this.readers.get(topic);
    if (r === undefined) {
      this.readerClass ??= (await import("../kafka/topic-reader.js")).KafkaTopicReader;
      r = new this.readerClass(this.cluster.address, topic, { clientId: "weir-dashboard" });
      this.readers.set(topic, r);
    }
    return r;
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.allSettled([...readers.map((r) => r.close()), this.cluster.close()]);
  }
}

/** The browser for a data directory (embedded) or a cluster (`broker` given). */
export async function openTopicBrowser(dataDir: string, broker: string | undefined): Promise<TopicBrowser> {
  return broker === undefined ? new EmbeddedTopicBrowser(dataDir) : KafkaTopicBrowser.connect(broker);
}

/**
 * Records per second of each topic, from the change of its record count between two samples at
 * least `minIntervalMs` apart (0 for the first sample of a topic).
 */
export class TopicRates {
  private readonly last = new Map<string, { t: number; records: number; rate: number }>();

  constructor(private readonly minIntervalMs = 1000) {}

  rate(name: string, records: number, now: number): number {
    const prev = this.last.get(name);
    if (prev === undefined) {
      this.last.set(name, { t: now, records, rate: 0 });
      return 0;
    }
    if (now - prev.t < this.minIntervalMs) return prev.rate;
    // A topic deleted and created again (fewer records): start over.
    const rate = records >= prev.records ? ((records - prev.records) * 1000) / (now - prev.t) : 0;
    this.last.set(name, { t: now, records, rate });
    return rate;
  }

  /** Forget topics that are gone. */
  retain(names: ReadonlySet<string>): void {
    for (const n of [...this.last.keys()]) if (!names.has(n)) this.last.delete(n);
  }
}
