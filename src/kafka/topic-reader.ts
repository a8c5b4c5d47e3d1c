/**
 * Reading a Kafka topic's partitions from given offsets, read-committed, without joining a consumer
 * group: one Fetch request per partition leader, positions kept by the caller.
 *
 * Why not the client's MessagesStream: its consume() always joins a consumer group first (a new
 * group waits group.initial.rebalance.delay.ms, 3 s by default, before its first assignment), it
 * never ends (it polls past the end of the topic, with no way to say "stop at these offsets"), and
 * it hands out partitions in whatever order the responses arrive.
 *
 * Transactions: Weir's pipelines write their outputs in transactions. Records of aborted
 * transactions are dropped here with the Java consumer's algorithm (the broker's list of aborted
 * transactions, walked batch by batch until each one's abort marker). The client's own filter
 * keeps the records of an aborted transaction whose abort marker is not in the same response (a
 * transaction larger than one fetch), and remembers one aborted transaction per producer.
 */
import { Consumer } from "@platformatic/kafka";
import { WeirError } from "../errors.js";
import { brokerError, clientOptions, READ_COMMITTED, type BrokerAddress } from "./connection.js";
import type { RecordHeader } from "../log/types.js";

/** Record batch attribute bits (Kafka's DefaultRecordBatch). */
const LOG_APPEND_TIME = 1 << 3;
const TRANSACTIONAL = 1 << 4;
const CONTROL = 1 << 5;

export interface FetchedRecord {
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The record's headers (undefined when it has none). A header without a value has an empty one. */
  readonly headers: RecordHeader[] | undefined;
}

export interface PartitionPosition {
  readonly partition: number;
  /** The next offset to read. */
  readonly offset: number;
}

export interface PartitionFetch {
  readonly partition: number;
  /** Records at or after the requested offset, in offset order (committed data only). */
  readonly records: FetchedRecord[];
  /**
   * Where to fetch next: after the last batch returned (which may be a transaction marker or an
   * aborted batch, so it can move without records); the requested offset when nothing came.
   */
  readonly next: number;
  /** The requested offset is not in the log (deleted by retention, or past the end). */
  readonly outOfRange: boolean;
  /** The partition's last stable offset: the end a read-committed reader can reach now (-1: unknown). */
  readonly endOffset: number;
}

export interface TopicReaderOptions {
  clientId?: string;
  /** Bytes per partition per request (default 4 MiB). */
  partitionMaxBytes?: number;
  /** Give up after the partition leaders have been unreachable for this long (default 30 s). */
  unavailableTimeoutMs?: number;
}

/**
 * READ_COMMITTED for the broker (the request encodes it as the number 1), but not `=== 1` for the
 * client, which then skips its own aborted-transaction filter. That filter is not only weaker than
 * ours (see above): @platformatic/kafka 1.35 throws a TypeError from inside its socket callback —
 * crashing the process — when a response holds an abort marker of a producer missing from the
 * response's aborted-transaction list, which happens when a takeover aborts a task's transaction.
 */
const UNFILTERED_READ_COMMITTED = Object(READ_COMMITTED) as number;

interface RawBatch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  attributes: number;
  producerId: bigint;
  records: Array<{
    offsetDelta: number;
    timestampDelta: bigint;
    key: Buffer | null;
    value: Buffer | null;
    headers?: Array<[Buffer | null, Buffer | null]>;
  }>;
}

interface RawPartition {
  partitionIndex: number;
  errorCode: number;
  lastStableOffset?: bigint;
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }>;
  records?: RawBatch[];
}

interface RawResponse {
  responses: Array<{ topicId: string; partitions: RawPartition[] }>;
}

const OFFSET_OUT_OF_RANGE = 1;

export class KafkaTopicReader {
  private readonly consumer: Consumer;
  private readonly partitionMaxBytes: number;
  private readonly unavailableTimeoutMs: number;
  private staleMetadata = true;
  private failingSince: number | undefined;
  private lastFailure: unknown;

  constructor(
    private readonly address: BrokerAddress,
    readonly topic: string,
    options: TopicReaderOptions = {},
  ) {
    // A group id is required by the client's constructor; the reader never joins it.
    this.consumer = new Consumer({
      ...clientOptions(address, options.clientId ?? "weir-reader"),
      groupId: "weir-reader",
    });
    this.partitionMaxBytes = options.partitionMaxBytes ?? 4 * 1024 * 1024;
    this.unavailableTimeoutMs = options.unavailableTimeoutMs ?? 30_000;
  }

  /**
   * Fetch the given partitions from their positions: one request per leader, concurrently. Returns
   * what came (partitions whose leader is unavailable right now are missing: call again).
   * `maxWaitMs` is how long a broker may wait for data when it has none.
   */
  async fetch(positions: readonly PartitionPosition[], maxWaitMs: number): Promise<PartitionFetch[]> {
    if (positions.length === 0) return [];
    let md;
    try {
      md = await this.consumer.metadata({ topics: [this.topic], forceUpdate: this.staleMetadata });
    } catch (err) {
      throw brokerError(this.address, `reading the metadata of ${this.topic}`, err);
    }
    this.staleMetadata = false;
    const topicMd = md.topics.get(this.topic);
    if (topicMd === undefined) throw new WeirError("UNKNOWN_TOPIC", `topic ${this.topic} does not exist`);

    const byLeader = new Map<number, PartitionPosition[]>();
    for (const pos of positions) {
      const leader = topicMd.partitions[pos.partition]?.leader ?? -1;
      if (leader < 0 || !md.brokers.has(leader)) {
        this.failed(new Error(`partition ${pos.partition} of ${this.topic} has no leader`));
        continue;
      }
      let list = byLeader.get(leader);
      if (list === undefined) byLeader.set(leader, (list = []));
      list.push(pos);
    }

    const results: PartitionFetch[] = [];
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        const requested = new Map(list.map((p) => [p.partition, p.offset]));
        let response: RawResponse | undefined;
        try {
          response = (await this.consumer.fetch({
            node: leader,
            topics: [
              {
                topicId: topicMd.id,
                partitions: list.map((p) => ({
                  partition: p.partition,
                  fetchOffset: BigInt(p.offset),
                  partitionMaxBytes: this.partitionMaxBytes,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              },
            ],
            maxWaitTime: maxWaitMs,
            minBytes: 1,
            // (brokers cap a response at fetch.max.bytes, 55 MB by default)
            maxBytes: Math.min(this.partitionMaxBytes * list.length, 32 * 1024 * 1024),
            isolationLevel: UNFILTERED_READ_COMMITTED,
          })) as unknown as RawResponse;
        } catch (err) {
          // A response with errors for some partitions still carries the others' data.
          response = (err as { response?: RawResponse }).response;
          if (response === undefined || !Array.isArray(response.responses)) {
            this.failed(err);
            return;
          }
        }
        for (const t of response.responses) {
          for (const p of t.partitions) {
            const offset = requested.get(p.partitionIndex);
            if (offset === undefined) continue;
            if (p.errorCode === OFFSET_OUT_OF_RANGE) {
              results.push({
                partition: p.partitionIndex,
                records: [],
                next: offset,
                outOfRange: true,
                endOffset: -1,
              });
            } else if (p.errorCode !== 0) {
              // NOT_LEADER_OR_FOLLOWER, a leader election...: ask again with fresh metadata.
              this.failed(Object.assign(new Error(`error code ${p.errorCode}`), { errorCode: p.errorCode }));
            } else {
              results.push(decodePartition(p, offset));
            }
          }
        }
      }),
    );
    if (results.length > 0) this.failingSince = undefined;
    else if (this.failingSince !== undefined) {
      if (Date.now() - this.failingSince > this.unavailableTimeoutMs)
        throw brokerError(this.address, `reading ${this.topic}`, this.lastFailure);
      // Do not spin while the cluster elects leaders.
      await new Promise((r) => setTimeout(r, 200));
    }
    return results;
  }

  private failed(err: unknown): void {
    this.staleMetadata = true;
    this.failingSince ??= Date.now();
    this.lastFailure = err;
  }

  async close(): Promise<void> {
    await this.consumer.close().catch(() => {});
  }
}

/** The committed records of one partition's response, and where to read next. */
function decodePartition(p: RawPartition, requested: number): PartitionFetch {
  const records: FetchedRecord[] = [];
  let next = requested;
  const aborted = [...(p.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset - b.firstOffset));
  let ai = 0;
  const abortedProducers = new Set<bigint>();
  const partition = p.partitionIndex;
  for (const batch of p.records ?? []) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (Number(lastOffset) + 1 > next) next = Number(lastOffset) + 1;
    const transactional = (batch.attributes & TRANSACTIONAL) !== 0;
    const control = (batch.attributes & CONTROL) !== 0;
    if (transactional) {
      while (ai < aborted.length && aborted[ai].firstOffset <= lastOffset)
        abortedProducers.add(aborted[ai++].producerId);
      if (control) {
        // The marker's key: version (int16), type (int16; 0 = abort, 1 = commit).
        const key = batch.records[0]?.key;
        if (key && key.length >= 4 && key.readInt16BE(2) === 0) abortedProducers.delete(batch.producerId);
        continue;
      }
      if (abortedProducers.has(batch.producerId)) continue;
    }
    if (control) continue;
    const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
    for (const r of batch.records) {
      const offset = Number(batch.firstOffset) + r.offsetDelta;
      if (offset < requested) continue; // a batch starts before the requested offset
      records.push({
        partition,
        offset,
        timestamp: Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + r.timestampDelta),
        key: r.key ?? null,
        value: r.value ?? null,
        headers: r.headers !== undefined && r.headers.length > 0 ? r.headers.map(toHeader) : undefined,
      });
    }
  }
  const endOffset = p.lastStableOffset === undefined ? -1 : Number(p.lastStableOffset);
  return { partition, records, next, outOfRange: false, endOffset };
}

const NO_BYTES = Buffer.alloc(0);

function toHeader([key, value]: [Buffer | null, Buffer | null]): RecordHeader {
  return { key: key === null ? "" : key.toString("utf8"), value: value ?? NO_BYTES };
}
