/**
 * Connecting to a Kafka cluster: the `--broker kafka://host:port[,host:port]` URL, the admin
 * operations Weir needs (topics, offsets), and one-line errors when the cluster cannot be reached.
 *
 * The client is @platformatic/kafka (docs/dependencies.md says why). Keys are partitioned with
 * Weir's own murmur2 partitioner — the Java client's rule, the same as the embedded log — so a
 * key lands in the same partition whichever client wrote it.
 */
import {
  Admin,
  ConfigResourceTypes,
  ConnectionPool,
  Consumer,
  NetworkError,
  Producer,
  type ClusterTopicMetadata,
  type MessageToProduce,
} from "@platformatic/kafka";
import { WeirError } from "../errors.js";
import { Partitioner } from "../log/partitioner.js";

/**
 * @platformatic/kafka 1.35 looks a consumer group's coordinator up in its cached cluster metadata
 * and hands the result to ConnectionPool.get unchecked. When the coordinator has just died it is
 * missing from the metadata, and the pool's `broker.host` throws a TypeError from inside a socket
 * callback — an uncaught exception that kills the process (seen when the leader of a 3-node cluster
 * is killed). Give the caller the retriable network error it is instead; its retries, and then
 * Weir's recovery, take it from there.
 */
type PoolGet = (this: ConnectionPool, broker: unknown, callback?: (error: Error | null) => void) => unknown;
const poolGet = ConnectionPool.prototype.get as unknown as PoolGet;
(ConnectionPool.prototype as unknown as { get: PoolGet }).get = function (broker, callback) {
  if (broker !== undefined && broker !== null) return poolGet.call(this, broker, callback);
  const error = new NetworkError("the broker is not in the cluster metadata (it left the cluster)");
  if (callback === undefined) return Promise.reject(error);
  callback(error);
  return undefined;
};

export interface BrokerAddress {
  /** The URL as the user wrote it (for messages). */
  url: string;
  /** `host:port` of each bootstrap broker. */
  bootstrap: string[];
}

/** Parse `kafka://host:port[,host:port...]` (a bare `host:port` list is accepted too). */
export function parseBrokerUrl(url: string): BrokerAddress {
  const rest = url.startsWith("kafka://") ? url.slice("kafka://".length) : url;
  const parts = rest.replace(/\/+$/, "").split(",");
  const bootstrap: string[] = [];
  for (const part of parts) {
    const m = /^([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(part.trim());
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      throw new WeirError(
        "USAGE",
        `--broker ${url}: expected kafka://host:port (several brokers separated by commas), e.g. kafka://127.0.0.1:9092`,
      );
    }
    bootstrap.push(`${m[1]}:${port}`);
  }
  return { url, bootstrap };
}

/** Options every Weir client shares: bounded retries so an unreachable cluster becomes an error. */
export function clientOptions(address: BrokerAddress, clientId: string) {
  return {
    clientId,
    bootstrapBrokers: address.bootstrap,
    timeout: 10_000,
    retries: 5,
    retryDelay: 500,
  };
}

/**
 * The transactional producer's options. A transaction begun right after the previous one committed
 * can be refused with CONCURRENT_TRANSACTIONS while the broker writes the previous one's markers;
 * retry that quickly (1, 2, 4... ms) instead of after the usual 500 ms,
 * which would otherwise add half a second to the latency of the outputs it carries.
 */
export function transactionalClientOptions(address: BrokerAddress, clientId: string) {
  return {
    ...clientOptions(address, clientId),
    retries: 10,
    retryDelay: (_client: unknown, _operation: string, attempt: number, _retries: number, error: Error) =>
      isConcurrentTransactions(error) ? Math.min(2 ** Math.max(0, attempt - 1), 500) : 500,
  };
}

function isConcurrentTransactions(error: unknown): boolean {
  const e = error as { findBy?: (key: string, value: unknown) => unknown; apiId?: string } | null;
  if (e?.apiId === "CONCURRENT_TRANSACTIONS") return true;
  return typeof e?.findBy === "function" && Boolean(e.findBy("apiId", "CONCURRENT_TRANSACTIONS"));
}

/** Turn a client error into one line that names the cluster. */
export function brokerError(address: BrokerAddress, action: string, err: unknown): WeirError {
  if (err instanceof WeirError) return err;
  return new WeirError("BROKER", `kafka ${address.url}: ${action} failed: ${clientErrorText(err)}`, {
    cause: err,
    retryable: true,
  });
}

/**
 * One line for a client error. The client nests its errors (`metadata failed 6 times` → `Cannot
 * connect to any broker` → `Connection to h:p failed` → `connect ECONNREFUSED h:p`): follow the
 * latest attempt down to the root cause, naming Kafka's error code (NOT_LEADER_OR_FOLLOWER...) and
 * the broker's own message where there is one.
 */
export function clientErrorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const x = e as Error & { errors?: unknown[]; apiId?: string; serverErrorMessage?: string | null };
    let text = (x.message ?? String(e)).trim().replace(/\.+$/, "");
    if (typeof x.apiId === "string" && x.apiId !== "" && !text.includes(x.apiId))
      text = `${x.apiId} (${text})`;
    if (typeof x.serverErrorMessage === "string" && x.serverErrorMessage !== "")
      text += `: ${x.serverErrorMessage}`;
    if (text !== "" && !parts.includes(text)) parts.push(text);
    e = Array.isArray(x.errors) && x.errors.length > 0 ? x.errors[x.errors.length - 1] : x.cause;
  }
  return parts.join(": ") || String(err);
}

export interface KafkaTopicInfo {
  name: string;
  partitions: Array<{
    partition: number;
    earliest: number;
    latest: number;
    /** Node id of the partition's leader (-1: none right now). */
    leader: number;
    /** Node ids of the replicas and of those in sync. */
    replicas: number[];
    isr: number[];
  }>;
}

export interface TopicSettings {
  partitions?: number;
  /** Replication factor; the broker's default.replication.factor when absent. */
  replicas?: number;
  /** Broker-side topic configuration, e.g. {"cleanup.policy": "compact"}. */
  config?: Record<string, string>;
}

/** Admin operations on a cluster. One instance per command or runner; close() when done. */
export class KafkaCluster {
  private readonly admin: Admin;
  private offsetsClient: Consumer | undefined;

  constructor(readonly address: BrokerAddress) {
    this.admin = new Admin(clientOptions(address, "weir-admin"));
  }

  static connect(url: string): KafkaCluster {
    return new KafkaCluster(parseBrokerUrl(url));
  }

  async listTopics(): Promise<string[]> {
    try {
      return (await this.admin.listTopics({ includeInternals: false })).sort();
    } catch (err) {
      throw brokerError(this.address, "listing topics", err);
    }
  }

  /** Partition count of a topic, or undefined when it does not exist. */
  async partitionCount(topic: string): Promise<number | undefined> {
    return (await this.topicMetadata(topic))?.partitionsCount;
  }

  /**
   * A topic's metadata (partitions, leaders, replicas), or undefined when it does not exist. The
   * client retries UNKNOWN_TOPIC_OR_PARTITION (2.5 s with Weir's settings) before giving up, so a
   * missing topic is first looked for in the list of topics (one quick request).
   */
  async topicMetadata(topic: string): Promise<ClusterTopicMetadata | undefined> {
    if (!(await this.listTopics()).includes(topic)) return undefined;
    try {
      const md = await this.admin.metadata({ topics: [topic], forceUpdate: true });
      return md.topics.get(topic);
    } catch (err) {
      if (isUnknownTopic(err)) return undefined;
      throw brokerError(this.address, `reading the metadata of ${topic}`, err);
    }
  }

  /** The topic's configuration as the brokers report it (retention.ms, segment.bytes...). */
  async topicConfig(topic: string): Promise<Record<string, string>> {
    try {
      const [description] = await this.admin.describeConfigs({
        resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
      });
      const config: Record<string, string> = {};
      for (const c of description?.configs ?? []) if (typeof c.value === "string") config[c.name] = c.value;
      return config;
    } catch (err) {
      if (isUnknownTopic(err)) throw new WeirError("UNKNOWN_TOPIC", `topic ${topic} does not exist`);
      throw brokerError(this.address, `reading the configuration of ${topic}`, err);
    }
  }

  /** Create a topic; TOPIC_EXISTS when it is there already. */
  async createTopic(topic: string, settings: TopicSettings = {}): Promise<void> {
    const partitions = settings.partitions ?? 1;
    try {
      await this.admin.createTopics({
        topics: [topic],
        partitions,
        replicas: settings.replicas ?? -1,
        configs: Object.entries(settings.config ?? {}).map(([name, value]) => ({ name, value })),
      });
    } catch (err) {
      if (isTopicExists(err)) throw new WeirError("TOPIC_EXISTS", `topic ${topic} already exists`);
      throw brokerError(this.address, `creating topic ${topic}`, err);
    }
    await this.waitForTopic(topic, partitions);
  }

  /** Create the topic when it is missing; returns its partition count. */
  async ensureTopic(topic: string, settings: TopicSettings = {}): Promise<number> {
    const existing = await this.partitionCount(topic);
    if (existing !== undefined) return existing;
    try {
      await this.createTopic(topic, settings);
    } catch (err) {
      // Another process created it between our check and our request.
      if (!(err instanceof WeirError && err.code === "TOPIC_EXISTS")) throw err;
    }
    return (await this.partitionCount(topic)) ?? settings.partitions ?? 1;
  }

  /** Wait until every partition of a new topic has a leader (creation is asynchronous). */
  private async waitForTopic(topic: string, partitions: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const md = await this.admin.metadata({ topics: [topic], forceUpdate: true });
        const t = md.topics.get(topic);
        if (t && t.partitionsCount >= partitions && t.partitions.every((p) => p.leader >= 0)) return;
      } catch (err) {
        if (!isUnknownTopic(err)) throw brokerError(this.address, `reading the metadata of ${topic}`, err);
      }
      if (Date.now() > deadline)
        throw new WeirError("BROKER", `kafka ${this.address.url}: topic ${topic} has no leader after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async deleteTopic(topic: string): Promise<void> {
    if (!(await this.listTopics()).includes(topic))
      throw new WeirError("UNKNOWN_TOPIC", `topic ${topic} does not exist`);
    try {
      await this.admin.deleteTopics({ topics: [topic] });
    } catch (err) {
      if (isUnknownTopic(err)) throw new WeirError("UNKNOWN_TOPIC", `topic ${topic} does not exist`);
      throw brokerError(this.address, `deleting topic ${topic}`, err);
    }
  }

  /** How many members a consumer group has now (0 when it is empty or does not exist). */
  async groupMembers(group: string): Promise<number> {
    try {
      const groups = await this.admin.describeGroups({ groups: [group] });
      return groups.get(group)?.members.size ?? 0;
    } catch (err) {
      throw brokerError(this.address, `describing consumer group ${group}`, err);
    }
  }

  /** Earliest and latest (read-committed: last stable) offset of every partition of a topic. */
  async describeTopic(topic: string): Promise<KafkaTopicInfo | undefined> {
    const md = await this.topicMetadata(topic);
    if (md === undefined) return undefined;
    const [earliest, latest] = await Promise.all([this.offsets(topic, -2n), this.offsets(topic, -1n)]);
    const partitions = [];
    for (let p = 0; p < md.partitionsCount; p++) {
      const m = md.partitions[p];
      partitions.push({
        partition: p,
        earliest: earliest[p] ?? 0,
        latest: latest[p] ?? 0,
        leader: m?.leader ?? -1,
        replicas: [...(m?.replicas ?? [])],
        isr: [...(m?.isr ?? [])],
      });
    }
    return { name: topic, partitions };
  }

  /** End offsets of a topic (the last stable offset: where a read-committed reader stops). */
  async endOffsets(topic: string): Promise<number[]> {
    return this.offsets(topic, -1n);
  }

  /** The first retained offset of every partition of a topic. */
  async startOffsets(topic: string): Promise<number[]> {
    return this.offsets(topic, -2n);
  }

  /**
   * A consumer group's committed offsets for a topic: partition -> the next offset to read
   * (partitions without a commit are absent). Read without joining the group.
   */
  async committedOffsets(
    group: string,
    topic: string,
    partitions: readonly number[],
  ): Promise<Map<number, number>> {
    try {
      const [g] = await this.admin.listConsumerGroupOffsets({
        groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: [...partitions] }] }],
      });
      const out = new Map<number, number>();
      for (const t of g?.topics ?? []) {
        if (t.name !== topic) continue;
        for (const p of t.partitions)
          if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset));
      }
      return out;
    } catch (err) {
      throw brokerError(this.address, `reading the offsets of group ${group}`, err);
    }
  }

  /**
   * Commit a consumer group's offsets for a topic (partition -> next offset to read) without
   * joining the group, the way Kafka's admin tools do; Kafka refuses it while the group has
   * active members.
   */
  async commitOffsets(group: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    if (offsets.size === 0) return;
    try {
      await this.admin.alterConsumerGroupOffsets({
        groupId: group,
        topics: [
          {
            name: topic,
            partitionOffsets: [...offsets].map(([partition, offset]) => ({
              partition,
              offset: BigInt(offset),
            })),
          },
        ],
      });
    } catch (err) {
      throw brokerError(this.address, `committing the offsets of group ${group}`, err);
    }
  }

  private async offsets(topic: string, timestamp: bigint): Promise<number[]> {
    this.offsetsClient ??= new Consumer({
      ...clientOptions(this.address, "weir-admin"),
      groupId: "weir-offsets",
    });
    try {
      const offsets = await this.offsetsClient.listOffsets({
        topics: [topic],
        timestamp,
        isolationLevel: READ_COMMITTED,
      });
      return (offsets.get(topic) ?? []).map(Number);
    } catch (err) {
      throw brokerError(this.address, `reading the offsets of ${topic}`, err);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.admin.close(), this.offsetsClient?.close()]);
  }
}

/** Kafka's isolation levels as the protocol numbers them. */
export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

/**
 * Assigns each record its partition with the Java client's rule (murmur2 of the key bytes,
 * round-robin for records without a key), so the partition never depends on the client.
 */
export class KeyPartitioner {
  private readonly byTopic = new Map<string, Partitioner>();

  constructor(private readonly partitionsOf: (topic: string) => number) {}

  partition(topic: string, key: string | null): number {
    let p = this.byTopic.get(topic);
    if (p === undefined) {
      p = new Partitioner(this.partitionsOf(topic));
      this.byTopic.set(topic, p);
    }
    return p.partitionFor(key);
  }
}

export type KafkaMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

/** A producer with Weir's defaults: idempotent, acks=all, values as raw bytes. */
export function idempotentProducer(address: BrokerAddress, clientId: string): Producer {
  return new Producer({ ...clientOptions(address, clientId), idempotent: true, acks: -1 });
}

function errorText(err: unknown): string {
  const e = err as { message?: string; errors?: unknown[]; apiId?: string };
  const nested = Array.isArray(e.errors) ? e.errors.map(errorText).join(" ") : "";
  return `${e.message ?? ""} ${e.apiId ?? ""} ${nested} ${JSON.stringify(err, Object.getOwnPropertyNames(err ?? {}))}`;
}

export function isUnknownTopic(err: unknown): boolean {
  return /UNKNOWN_TOPIC_OR_PARTITION|unknown topic/i.test(errorText(err));
}

export function isTopicExists(err: unknown): boolean {
  return /TOPIC_ALREADY_EXISTS|already exists/i.test(errorText(err));
}

/** Bytes of records per produce request. */
const REQUEST_BYTES = 512 * 1024;

/** `messages` cut into runs of at most REQUEST_BYTES (a larger record alone). */
export function requestSized(messages: KafkaMessage[]): KafkaMessage[][] {
  let bytes = 0;
  for (const m of messages) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
  if (bytes <= REQUEST_BYTES) return [messages];
  const parts: KafkaMessage[][] = [];
  let part: KafkaMessage[] = [];
  bytes = 0;
  for (const m of messages) {
    const size = (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;
    if (part.length > 0 && bytes + size > REQUEST_BYTES) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(m);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
