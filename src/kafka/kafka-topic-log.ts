/**
 * A Kafka cluster behind the one log interface (src/log/contract.ts).
 *
 * - Readers fetch read-committed through KafkaTopicReader (no group membership, positions kept by
 *   the caller); writers send through the idempotent producer (KafkaTopicSender, acks=all).
 * - A committed writer is a transactional producer whose transactional id is the writer's id.
 *   Each commit is one transaction: the records sent since the last commit, then the commit entry
 *   (positions and state) in the writer's own one-partition compacted topic
 *   `weir.commits.<id>`. The entry can be large, so it is cut into chunks (`chunk/<i>`) followed
 *   by a head (`head`) naming its sequence and chunk count; all of it commits or none of it does.
 *   Opening the writer initializes the producer, which fences an older holder of the id and aborts
 *   its open transaction, then reads the commit topic to its stable end for the last commit.
 * - Records are sent at commit time, not before: nothing of an uncommitted batch reaches the
 *   cluster unless the batch grows past `sendAheadBytes`, when send() begins the transaction and
 *   sends ahead (the transaction stays open until commit or abort).
 */
import { Producer } from "@platformatic/kafka";
import { WeirError } from "../errors.js";
import type {
  CommittedState,
  CommittedWriter,
  CreateTopicOptions,
  FetchOptions,
  FetchPosition,
  FetchedPartition,
  GroupMember,
  JoinGroupOptions,
  LogPositions,
  LogTopic,
  LogTopicReader,
  LogTopicWriter,
  TopicLog,
} from "../log/contract.js";
import { Partitioner } from "../log/partitioner.js";
import type { ProducerRecord } from "../log/types.js";
import { CHECKPOINT_TOPIC_CONFIG } from "./checkpoint-log.js";
import {
  KafkaCluster,
  brokerError,
  idempotentProducer,
  parseBrokerUrl,
  requestSized,
  transactionalClientOptions,
  type BrokerAddress,
  type KafkaMessage,
} from "./connection.js";
import { KafkaTopicReader } from "./topic-reader.js";
import { PipelineMembership, leaderTakesAll, tasksAcrossMembers } from "./membership.js";
import { KafkaTopicSender, kafkaMessages } from "./topic-sender.js";

/** Characters of state per commit-topic record: well under Kafka's default 1 MB message limit. */
const STATE_CHUNK_CHARS = 256 * 1024;

/** The compacted topic a committed writer keeps its commits in. */
export function commitTopicOf(id: string): string {
  return `weir.commits.${id}`;
}

export class KafkaTopicLog implements TopicLog {
  readonly kind = "kafka" as const;
  readonly location: string;
  readonly cluster: KafkaCluster;

  constructor(readonly address: BrokerAddress) {
    this.location = address.url;
    this.cluster = new KafkaCluster(address);
  }

  static connect(url: string): KafkaTopicLog {
    return new KafkaTopicLog(parseBrokerUrl(url));
  }

  async listTopics(): Promise<string[]> {
    return this.cluster.listTopics();
  }

  async describeTopic(topic: string): Promise<LogTopic | undefined> {
    const info = await this.cluster.describeTopic(topic);
    if (info === undefined) return undefined;
    return {
      name: topic,
      partitions: info.partitions.map((p) => ({
        partition: p.partition,
        startOffset: p.earliest,
        endOffset: p.latest,
      })),
    };
  }

  async createTopic(topic: string, options: CreateTopicOptions = {}): Promise<void> {
    await this.cluster.createTopic(topic, { partitions: options.partitions ?? 1 });
  }

  async ensureTopic(topic: string, options: CreateTopicOptions = {}): Promise<number> {
    return this.cluster.ensureTopic(topic, { partitions: options.partitions ?? 1 });
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.cluster.deleteTopic(topic);
  }

  async openReader(topic: string): Promise<LogTopicReader> {
    await this.partitionsOf(topic);
    return new KafkaLogReader(new KafkaTopicReader(this.address, topic, { clientId: "weir-reader" }), topic);
  }

  async openWriter(topic: string): Promise<LogTopicWriter> {
    const partitions = await this.partitionsOf(topic);
    return new KafkaLogWriter(
      idempotentProducer(this.address, "weir-writer"),
      this.address,
      topic,
      partitions,
    );
  }

  async openCommittedWriter(id: string, topics: readonly string[]): Promise<CommittedWriter> {
    const partitions = new Map<string, number>();
    for (const t of topics) partitions.set(t, await this.partitionsOf(t));
    return KafkaCommittedWriter.open(this.address, this.cluster, id, partitions);
  }

  async joinGroup(
    group: string,
    topics: readonly string[],
    options: JoinGroupOptions = {},
  ): Promise<GroupMember> {
    for (const t of topics) await this.partitionsOf(t);
    const membership = new PipelineMembership(this.address, group, {
      assigner: options.assignment === "tasks-across-members" ? tasksAcrossMembers : leaderTakesAll,
      ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
    });
    try {
      await membership.join([...topics]);
    } catch (err) {
      await membership.close();
      throw err;
    }
    return new KafkaGroupMember(group, membership);
  }

  async groupOffsets(group: string, topic: string): Promise<Map<number, number>> {
    const n = await this.partitionsOf(topic);
    return this.cluster.committedOffsets(
      group,
      topic,
      Array.from({ length: n }, (_, p) => p),
    );
  }

  async commitGroupOffsets(
    group: string,
    topic: string,
    offsets: ReadonlyMap<number, number>,
  ): Promise<void> {
    await this.cluster.commitOffsets(group, topic, offsets);
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }

  private async partitionsOf(topic: string): Promise<number> {
    const n = await this.cluster.partitionCount(topic);
    if (n === undefined)
      throw new WeirError(
        "UNKNOWN_TOPIC",
        `topic ${JSON.stringify(topic)} does not exist on ${this.address.url}`,
      );
    return n;
  }
}

class KafkaLogReader implements LogTopicReader {
  constructor(
    private readonly reader: KafkaTopicReader,
    readonly topic: string,
  ) {}

  async fetch(positions: readonly FetchPosition[], options: FetchOptions): Promise<FetchedPartition[]> {
    if (options.signal?.aborted) return [];
    const fetching = this.reader.fetch(positions, options.maxWaitMs);
    const fetched =
      options.signal === undefined ? await fetching : await untilAborted(fetching, options.signal);
    if (fetched === undefined) return [];
    const max = options.maxRecords;
    if (max === undefined) return fetched;
    return fetched.map((f) =>
      f.records.length <= max
        ? f
        : { ...f, records: f.records.slice(0, max), next: f.records[max - 1].offset + 1 },
    );
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

class KafkaLogWriter implements LogTopicWriter {
  private readonly sender: KafkaTopicSender;

  constructor(
    private readonly producer: Producer,
    address: BrokerAddress,
    readonly topic: string,
    readonly partitions: number,
  ) {
    this.sender = new KafkaTopicSender(producer, address, topic, partitions);
  }

  async append(records: readonly ProducerRecord[]): Promise<void> {
    await this.sender.append(records);
  }

  async flush(): Promise<void> {
    await this.sender.flush();
  }

  async close(): Promise<void> {
    try {
      await this.sender.flush();
    } finally {
      await new Promise<void>((resolve) => this.producer.close(true, () => resolve()));
    }
  }
}

class KafkaGroupMember implements GroupMember {
  private left = false;

  constructor(
    readonly group: string,
    private readonly membership: PipelineMembership,
  ) {}

  assignment(): Record<string, number[]> {
    return this.left ? {} : this.membership.assignment();
  }

  async nextChange(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.left || signal?.aborted) return;
    const change = this.membership.nextChange(ms);
    if (signal === undefined) await change;
    else await untilAborted(change, signal);
  }

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    await this.membership.close();
  }
}

type Transaction = Awaited<ReturnType<Producer["beginTransaction"]>>;

/** A commit-topic record: a chunk of the state, or the head that completes a commit. */
type CommitEntry =
  | { kind: "chunk"; sequence: number; index: number; text: string }
  | { kind: "head"; sequence: number; chunks: number; positions: LogPositions };

export interface KafkaCommittedWriterOptions {
  /** Begin the transaction and send ahead once this many bytes are waiting (default 4 MiB). */
  sendAheadBytes?: number;
}

export class KafkaCommittedWriter implements CommittedWriter {
  private readonly partitioners = new Map<string, { partitioner: Partitioner; count: number }>();
  private pending: KafkaMessage[] = [];
  private pendingBytes = 0;
  private transaction: Transaction | undefined;
  /** Sends of the open transaction, in order; the first failure is kept for commit() to throw. */
  private sending: Promise<void> = Promise.resolve();
  private sendFailure: unknown;
  private sequence: number;
  private closed = false;
  private readonly sendAheadBytes: number;

  private constructor(
    private readonly address: BrokerAddress,
    private readonly producer: Producer,
    readonly id: string,
    private readonly commitTopic: string,
    partitions: ReadonlyMap<string, number>,
    readonly recovered: CommittedState | undefined,
    options: KafkaCommittedWriterOptions,
  ) {
    for (const [topic, count] of partitions)
      this.partitioners.set(topic, { partitioner: new Partitioner(count), count });
    this.sequence = recovered?.sequence ?? 0;
    this.sendAheadBytes = options.sendAheadBytes ?? 4 * 1024 * 1024;
  }

  static async open(
    address: BrokerAddress,
    cluster: KafkaCluster,
    id: string,
    partitions: ReadonlyMap<string, number>,
    options: KafkaCommittedWriterOptions = {},
  ): Promise<KafkaCommittedWriter> {
    const commitTopic = commitTopicOf(id);
    await cluster.ensureTopic(commitTopic, { partitions: 1, config: CHECKPOINT_TOPIC_CONFIG });
    const producer = new Producer({
      ...transactionalClientOptions(address, `weir-${id}`),
      transactionalId: id,
      idempotent: true,
      acks: -1,
    });
    try {
      // Initializing the producer fences an older holder and aborts its open transaction, which
      // is what lets the commit topic be read to its stable end.
      const fence = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await fence.cancel();
      const recovered = await readLastCommit(address, cluster, commitTopic);
      return new KafkaCommittedWriter(address, producer, id, commitTopic, partitions, recovered, options);
    } catch (err) {
      await new Promise<void>((resolve) => producer.close(true, () => resolve()));
      throw brokerError(address, `opening committed writer ${id}`, err);
    }
  }

  send(topic: string, records: readonly ProducerRecord[]): void {
    this.checkOpen();
    const target = this.partitioners.get(topic);
    if (target === undefined)
      throw new WeirError("USAGE", `committed writer ${this.id} was not opened for topic ${topic}`);
    for (const m of kafkaMessages(topic, target.count, target.partitioner, records)) {
      this.pending.push(m);
      this.pendingBytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
    }
    if (this.pendingBytes >= this.sendAheadBytes) this.sendAhead();
  }

  /** Begin the transaction (when not yet) and send what is pending, in the background. */
  private sendAhead(): void {
    const messages = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.sending = this.sending.then(async () => {
      if (this.sendFailure !== undefined) return;
      try {
        this.transaction ??= await this.producer.beginTransaction();
        for (const part of requestSized(messages)) await this.transaction.send({ messages: part });
      } catch (err) {
        this.sendFailure = err;
      }
    });
  }

  async commit(checkpoint: { positions: LogPositions; state: string }): Promise<CommittedState> {
    this.checkOpen();
    const sequence = this.sequence + 1;
    const entries: CommitEntry[] = [];
    const chunks = Math.max(1, Math.ceil(checkpoint.state.length / STATE_CHUNK_CHARS));
    for (let i = 0; i < chunks; i++)
      entries.push({
        kind: "chunk",
        sequence,
        index: i,
        text: checkpoint.state.slice(i * STATE_CHUNK_CHARS, (i + 1) * STATE_CHUNK_CHARS),
      });
    entries.push({ kind: "head", sequence, chunks, positions: checkpoint.positions });
    for (const e of entries)
      this.pending.push({
        topic: this.commitTopic,
        partition: 0,
        key: Buffer.from(e.kind === "head" ? "head" : `chunk/${e.index}`),
        value: Buffer.from(JSON.stringify(e)),
      });
    this.sendAhead();
    await this.sending;
    const tx = this.transaction;
    this.transaction = undefined;
    try {
      if (this.sendFailure !== undefined) throw this.sendFailure;
      if (tx === undefined) throw new Error("internal: no transaction to commit");
      await tx.commit();
    } catch (err) {
      const failure = err;
      this.sendFailure = undefined;
      await tx?.abort().catch(() => undefined);
      throw brokerError(this.address, `committing writer ${this.id}`, failure);
    }
    this.sequence = sequence;
    return { sequence, positions: checkpoint.positions, state: checkpoint.state };
  }

  async abort(): Promise<void> {
    this.checkOpen();
    await this.dropPending();
  }

  private async dropPending(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    await this.sending;
    this.sendFailure = undefined;
    const tx = this.transaction;
    this.transaction = undefined;
    if (tx !== undefined) {
      try {
        await tx.abort();
      } catch (err) {
        throw brokerError(this.address, `aborting the transaction of writer ${this.id}`, err);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.dropPending();
    } finally {
      await new Promise<void>((resolve) => this.producer.close(true, () => resolve()));
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new WeirError("USAGE", `committed writer ${this.id} is closed`);
  }
}

/** Read the commit topic to its stable end: the last complete commit, or undefined. */
async function readLastCommit(
  address: BrokerAddress,
  cluster: KafkaCluster,
  topic: string,
): Promise<CommittedState | undefined> {
  const [[start], [end]] = await Promise.all([cluster.startOffsets(topic), cluster.endOffsets(topic)]);
  if ((end ?? 0) <= (start ?? 0)) return undefined;
  const reader = new KafkaTopicReader(address, topic, { clientId: "weir-commits" });
  const chunks = new Map<number, { sequence: number; text: string }>();
  let last: CommittedState | undefined;
  try {
    let next = start;
    while (next < end) {
      for (const f of await reader.fetch([{ partition: 0, offset: next }], 200)) {
        if (f.outOfRange) throw new Error(`offset ${next} of ${topic} is not in the log`);
        for (const r of f.records) {
          if (r.value === null || r.value.length === 0) continue;
          const e = JSON.parse(r.value.toString("utf8")) as CommitEntry;
          if (e.kind === "chunk") chunks.set(e.index, { sequence: e.sequence, text: e.text });
          else {
            const parts: string[] = [];
            for (let i = 0; i < e.chunks; i++) {
              const chunk = chunks.get(i);
              if (chunk?.sequence !== e.sequence)
                throw new Error(`commit ${e.sequence} of ${topic} misses chunk ${i}`);
              parts.push(chunk.text);
            }
            last = { sequence: e.sequence, positions: e.positions, state: parts.join("") };
          }
        }
        next = Math.max(next, f.next);
      }
    }
  } catch (err) {
    throw brokerError(address, `reading the commits of ${topic}`, err);
  } finally {
    await reader.close();
  }
  return last;
}

/** `promise`, or undefined as soon as `signal` fires (the promise is left to settle). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
