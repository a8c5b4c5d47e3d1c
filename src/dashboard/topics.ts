/**
 * Reading topics for the dashboard, one implementation for both backends over the one log
 * interface (src/log/contract.ts): the embedded log in the data directory, or a Kafka cluster.
 *
 * - Embedded: readers take no lock, so the dashboard reads while pipelines and producers in other
 *   processes (or in this one) append. A data directory that does not exist (or has no topics
 *   yet) is not created: the log is opened once it has topics.
 * - Kafka: committed records only (the log's readers are read-committed), without joining a
 *   consumer group.
 *
 * The dashboard holds one TopicLog (closed with it); each request for records opens a reader and
 * closes it before answering. `latest` reads a bounded window at the end of each partition — the
 * last `limit` records, or the last 10,000 when searching for a key — so a request costs the same
 * on a topic of any size.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { WeirError } from "../errors.js";
import type { FetchPosition, LogBackendKind, LogEntry, LogTopic, TopicLog } from "../log/contract.js";
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

/** Records per partition searched for a key (docs/api.md). */
export const KEY_SEARCH_WINDOW = 10_000;
/** How long one `latest` request may spend fetching (a Kafka leader may be unavailable for a while), ms. */
const FETCH_BUDGET_MS = 10_000;

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

/** A topic as the backend describes it, with what only the embedded log tells: its bytes on disk. */
interface Described {
  readonly topic: LogTopic;
  readonly bytes: number | null;
}

/** The log the dashboard reads, and the one thing read from a backend's own description. */
interface OpenLog {
  readonly log: TopicLog;
  /** The topic's partitions and offsets (and bytes on disk); undefined when it does not exist. */
  describe(topic: string): Promise<Described | undefined>;
}

/** Open the embedded log of `dataDir` for reading; undefined while it has no topics (nothing is created). */
async function openEmbedded(dataDir: string): Promise<OpenLog | undefined> {
  if (!existsSync(join(dataDir, "topics"))) return undefined;
  const [{ EmbeddedLog }, { EmbeddedTopicLog }] = await Promise.all([
    import("../log/index.js"),
    import("../log/embedded-topic-log.js"),
  ]);
  const embedded = EmbeddedLog.open(dataDir, { logger: () => {} });
  return {
    log: new EmbeddedTopicLog(embedded, () => embedded.close()),
    // The embedded log's own description: the offsets of log.describeTopic() and the sizes of the files.
    async describe(topic) {
      if (!embedded.hasTopic(topic)) return undefined;
      let d;
      try {
        d = embedded.describeTopic(topic);
      } catch (err) {
        if (err instanceof WeirError && err.code === "UNKNOWN_TOPIC") return undefined; // deleted meanwhile
        throw err;
      }
      return { topic: d, bytes: d.partitions.reduce((sum, p) => sum + p.sizeBytes, 0) };
    },
  };
}

/** Connect to the cluster at `url` (kafka://host:port[,host:port]); throws WeirError USAGE for a bad URL. */
async function openKafka(url: string): Promise<OpenLog> {
  const { KafkaTopicLog } = await import("../kafka/kafka-topic-log.js");
  const log = KafkaTopicLog.connect(url);
  return {
    log,
    async describe(topic) {
      const d = await log.describeTopic(topic);
      return d === undefined ? undefined : { topic: d, bytes: null };
    },
  };
}

/** A record as `latest` keeps it, its value parsed only once it is among the records returned. */
type KeptRecord = Omit<TopicRecordView, "value"> & { raw: Buffer | null };

/**
 * A record read from a partition as `latest` keeps it; undefined when `keyBytes` (a key searched
 * for) is given and the record has another key.
 */
function keep(r: LogEntry, keyBytes: Buffer | undefined): KeptRecord | undefined {
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

function checkPartition(topic: string, partition: number | undefined, count: number): void {
  if (partition !== undefined && (partition < 0 || partition >= count))
    throw badRequest(
      `topic ${topic} has no partition ${partition} (it has ${count}: 0..${count - 1}); fix ?partition=`,
    );
}

/** One partition's window: where the next fetch starts, where the window ends, the records kept. */
interface Window {
  position: number;
  readonly end: number;
  readonly tail: Ring<KeptRecord>;
}

export class TopicBrowser {
  /** Opened on first use (embedded: once the data directory has topics); undefined after close(). */
  private opening: Promise<OpenLog | undefined> | undefined;
  private closed = false;

  private constructor(
    readonly engine: LogBackendKind,
    /** "in <dataDir>" or "on <broker>", for messages. */
    private readonly where: string,
    private readonly open: () => Promise<OpenLog | undefined>,
    /** A log opened already (a cluster, connected at start): close() closes it even if no request came. */
    opened?: OpenLog,
  ) {
    if (opened !== undefined) this.opening = Promise.resolve(opened);
  }

  /** The browser of a data directory's embedded log, or of a cluster (`broker` given: connected now, a bad URL throws). */
  static async open(dataDir: string, broker: string | undefined): Promise<TopicBrowser> {
    if (broker === undefined)
      return new TopicBrowser("embedded", `in ${dataDir}`, () => openEmbedded(dataDir));
    const kafka = await openKafka(broker);
    return new TopicBrowser("kafka", `on ${broker}`, async () => kafka, kafka);
  }

  /** The log, or undefined while there is nothing to read. */
  private async log(): Promise<OpenLog | undefined> {
    if (this.closed) throw new WeirError("CLOSED", "the dashboard is closed");
    const opening = (this.opening ??= this.open());
    try {
      const opened = await opening;
      // Nothing to read yet: look again at the next request.
      if (opened === undefined && this.opening === opening) this.opening = undefined;
      return opened;
    } catch (err) {
      if (this.opening === opening) this.opening = undefined;
      throw err;
    }
  }

  /** The topics' names. */
  async names(): Promise<string[]> {
    const open = await this.log();
    return open === undefined ? [] : open.log.listTopics();
  }

  async list(): Promise<TopicSummary[]> {
    const open = await this.log();
    if (open === undefined) return [];
    const described = await Promise.all((await open.log.listTopics()).map((name) => open.describe(name)));
    const out: TopicSummary[] = [];
    for (const d of described) {
      if (d === undefined) continue; // deleted meanwhile
      let records = 0;
      for (const p of d.topic.partitions) records += Math.max(0, p.endOffset - p.startOffset);
      out.push({ name: d.topic.name, partitions: d.topic.partitions.length, records, bytes: d.bytes });
    }
    return out;
  }

  /** The newest records; ApiError 404 for an unknown topic, 400 for a partition it does not have. */
  async latest(topic: string, options: LatestOptions): Promise<TopicRecordView[]> {
    const unknown = () => notFound(`unknown topic ${JSON.stringify(topic)} ${this.where}`);
    const open = await this.log();
    const d = open === undefined ? undefined : await open.describe(topic);
    if (open === undefined || d === undefined) throw unknown();
    const { partitions } = d.topic;
    checkPartition(topic, options.partition, partitions.length);
    const keyBytes = options.key === undefined ? undefined : Buffer.from(options.key, "utf8");
    const size = keyBytes === undefined ? options.limit : KEY_SEARCH_WINDOW;
    const windows = new Map<number, Window>();
    for (const p of partitions) {
      if (options.partition !== undefined && p.partition !== options.partition) continue;
      const from = Math.max(p.startOffset, p.endOffset - size);
      if (from < p.endOffset)
        windows.set(p.partition, { position: from, end: p.endOffset, tail: new Ring(options.limit) });
    }
    if (windows.size > 0) {
      let reader;
      try {
        reader = await open.log.openReader(topic);
      } catch (err) {
        if (err instanceof WeirError && err.code === "UNKNOWN_TOPIC") throw unknown(); // deleted meanwhile
        throw err;
      }
      try {
        // Read each window to its end; a partition missing from an answer (its Kafka leader is not
        // available right now) is asked for again, within the budget.
        let reading = [...windows.keys()];
        const deadline = Date.now() + FETCH_BUDGET_MS;
        while (reading.length > 0 && Date.now() < deadline) {
          const positions: FetchPosition[] = [];
          // Ask for the rest of the largest window (a Kafka fetch is cut by bytes anyway).
          let maxRecords = 1;
          for (const partition of reading) {
            const w = windows.get(partition)!;
            positions.push({ partition, offset: w.position });
            maxRecords = Math.max(maxRecords, w.end - w.position);
          }
          const fetched = await reader.fetch(positions, { maxWaitMs: 0, maxRecords });
          for (const { partition } of positions) {
            const f = fetched.find((x) => x.partition === partition);
            if (f === undefined) continue;
            const w = windows.get(partition)!;
            for (const r of f.records) {
              if (r.offset >= w.end) break;
              const kept = keep(r, keyBytes);
              if (kept !== undefined) w.tail.push(kept);
            }
            // Done at the window's end, when nothing more comes (retention, an open transaction),
            // or when the offset is gone.
            w.position = f.outOfRange || f.next <= w.position ? w.end : f.next;
          }
          reading = reading.filter((p) => windows.get(p)!.position < windows.get(p)!.end);
        }
      } finally {
        await reader.close();
      }
    }
    return newest(
      [...windows.values()].flatMap((w) => w.tail.toArray()),
      options.limit,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    const open = await opening?.catch(() => undefined);
    await open?.log.close();
  }
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
