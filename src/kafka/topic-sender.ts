/**
 * Sending records to one Kafka topic: batches through the idempotent producer (acks=all), each
 * record's partition chosen by Weir's murmur2 partitioner (the Java client's rule, the same as the
 * embedded log), several batches in flight.
 *
 * At most ONE batch per partition is in flight. @platformatic/kafka stamps a batch with its
 * idempotence sequence number when it builds the request and advances the number only when the
 * response arrives, so two concurrent sends to one partition carry the same sequence: the broker
 * takes the second for a retry of the first and drops it while acknowledging it (records lost
 * silently), or rejects it with OUT_OF_ORDER_SEQUENCE_NUMBER. Batches of different partitions are
 * independent and go concurrently.
 */
import type { Producer } from "@platformatic/kafka";
import { Partitioner } from "../log/partitioner.js";
import { brokerError, type BrokerAddress, type KafkaMessage } from "./connection.js";
import type { RecordHeader } from "../log/types.js";
import { WeirError } from "../errors.js";

export interface OutgoingRecord {
  key?: Buffer | string | null;
  value: Buffer | string;
  /** Milliseconds since the epoch; defaults to the time the record is queued. */
  timestamp?: number;
  headers?: readonly RecordHeader[];
  /** Explicit partition (instead of murmur2 of the key, or round-robin without one). */
  partition?: number;
}

export interface TopicSenderOptions {
  /** Records per batch (one Produce request per batch). Default 1000. */
  batchSize?: number;
  /** Requests in flight at once (each with at most one batch per partition). Default 8. */
  maxInFlight?: number;
  /**
   * Bytes of keys and values per batch (default 512 KiB): brokers reject a batch larger than
   * message.max.bytes (1 MiB by default).
   */
  batchBytes?: number;
}

interface PartitionQueue {
  readonly partition: number;
  queued: KafkaMessage[];
  inFlight: boolean;
}

/**
 * Records as Kafka messages of `topic`, each with its partition: the explicit one (checked), or
 * murmur2 of the key, or, for records without a key, one round-robin partition for the whole call.
 */
export function kafkaMessages(
  topic: string,
  partitions: number,
  partitioner: Partitioner,
  records: readonly OutgoingRecord[],
): KafkaMessage[] {
  const now = BigInt(Date.now());
  const out: KafkaMessage[] = [];
  let sticky = -1;
  for (const r of records) {
    const key = r.key === null || r.key === undefined ? undefined : Buffer.from(r.key);
    let partition: number;
    if (r.partition !== undefined) {
      if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= partitions)
        throw new WeirError(
          "USAGE",
          `topic ${topic} has ${partitions} partition(s) (0-${partitions - 1}); there is no partition ${r.partition}`,
        );
      partition = r.partition;
    } else if (key === undefined) partition = sticky >= 0 ? sticky : (sticky = partitioner.nextRoundRobin());
    else partition = partitioner.partitionFor(key);
    const message: KafkaMessage = {
      topic,
      partition,
      key,
      value: typeof r.value === "string" ? Buffer.from(r.value) : r.value,
      timestamp: r.timestamp === undefined ? now : BigInt(r.timestamp),
    };
    if (r.headers !== undefined && r.headers.length > 0)
      message.headers = new Map(r.headers.map((h) => [Buffer.from(h.key), h.value]));
    out.push(message);
  }
  return out;
}

export class KafkaTopicSender {
  private readonly partitioner: Partitioner;
  private readonly queues: PartitionQueue[];
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly batchBytes: number;
  /** Records queued or in flight: append() waits while this is above the limit. */
  private pending = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];
  /** Records the cluster acknowledged. */
  acknowledged = 0;

  constructor(
    private readonly producer: Producer,
    private readonly address: BrokerAddress,
    readonly topic: string,
    readonly partitions: number,
    options: TopicSenderOptions = {},
  ) {
    this.partitioner = new Partitioner(partitions);
    this.batchSize = options.batchSize ?? 1000;
    this.maxInFlight = options.maxInFlight ?? 8;
    this.batchBytes = options.batchBytes ?? 512 * 1024;
    this.queues = Array.from({ length: partitions }, (_, partition) => ({
      partition,
      queued: [],
      inFlight: false,
    }));
  }

  /**
   * Queue records (records without key stick to one round-robin partition per call, like the
   * embedded log's appends). Resolves once they are queued, waiting while too many records are
   * unacknowledged; rejects with the first failed send.
   */
  async append(records: readonly OutgoingRecord[]): Promise<void> {
    this.throwIfFailed();
    for (const m of kafkaMessages(this.topic, this.partitions, this.partitioner, records))
      this.queues[m.partition!].queued.push(m);
    this.pending += records.length;
    this.pump();
    const limit = this.batchSize * this.maxInFlight * 2;
    while (this.pending > limit && this.failure === undefined) await this.progress();
    this.throwIfFailed();
  }

  /** Wait until every queued record is acknowledged; rejects with the first failed send. */
  async flush(): Promise<void> {
    this.pump();
    while (this.pending > 0 && this.failure === undefined) await this.progress();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private progress(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * Send what is queued: one request takes up to batchSize records from every partition that has
   * none in flight (the client sends one request per leader, and with the idempotent producer it
   * keeps one request per connection in flight, so a request should carry all it can).
   */
  private pump(): void {
    while (this.failure === undefined && this.inFlight < this.maxInFlight) {
      const messages: KafkaMessage[] = [];
      const taken: PartitionQueue[] = [];
      for (const q of this.queues) {
        if (q.inFlight || q.queued.length === 0) continue;
        const max = Math.min(this.batchSize, q.queued.length);
        let n = 0;
        for (let bytes = 0; n < max; n++) {
          const m = q.queued[n];
          const size = (m.value?.length ?? 0) + (m.key?.length ?? 0);
          if (n > 0 && bytes + size > this.batchBytes) break;
          bytes += size;
          messages.push(m);
        }
        q.queued = n === q.queued.length ? [] : q.queued.slice(n);
        q.inFlight = true;
        taken.push(q);
      }
      if (messages.length === 0) return;
      this.send(messages, taken);
    }
  }

  private send(messages: KafkaMessage[], taken: PartitionQueue[]): void {
    this.inFlight++;
    const settle = () => {
      for (const q of taken) q.inFlight = false;
      this.inFlight--;
    };
    this.producer.send({ messages }).then(
      () => {
        settle();
        this.pending -= messages.length;
        this.acknowledged += messages.length;
        this.pump();
        this.wake();
      },
      (err: unknown) => {
        settle();
        this.failure ??= brokerError(
          this.address,
          `producing to ${this.topic} (${this.acknowledged} records acknowledged before)`,
          err,
        );
        this.wake();
      },
    );
  }
}
