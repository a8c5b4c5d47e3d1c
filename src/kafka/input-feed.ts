/**
 * The records of a pipeline's input partitions, read from Kafka (read-committed) into one queue per
 * partition. The runner takes records partition by partition, so what it reads can be written down
 * as a short list of segments and read again in exactly that order after a failure.
 */
import { Consumer, type Message, type MessagesStream } from "@platformatic/kafka";
import type { TopicPositions } from "../runtime/checkpoint.js";
import { brokerError, clientOptions, READ_COMMITTED, type BrokerAddress } from "./connection.js";

export type InputMessage = Message<Buffer, Buffer, Buffer, Buffer>;

class PartitionQueue {
  items: InputMessage[] = [];
  head = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
  get size(): number {
    return this.items.length - this.head;
  }
  compact(): void {
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export class InputFeed {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly order: PartitionQueue[] = [];
  private nextQueue = 0;
  private queued = 0;
  private paused = false;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  /** Pause fetching above this many queued records (off while recovering: see `unbounded`). */
  highWater = 50_000;
  unbounded = false;

  constructor(
    private readonly address: BrokerAddress,
    readonly groupId: string,
  ) {
    this.consumer = new Consumer({
      ...clientOptions(address, `weir-${groupId}`),
      groupId,
      isolationLevel: READ_COMMITTED,
      autocommit: false,
      maxWaitTime: 500,
      minBytes: 1,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 10_000,
    });
  }

  /** Start reading every partition of `partitions` from `positions` (a missing partition from 0). */
  async start(partitions: Record<string, number>, positions: TopicPositions): Promise<void> {
    const offsets = [];
    for (const [topic, count] of Object.entries(partitions)) {
      for (let p = 0; p < count; p++) {
        const q = new PartitionQueue(topic, p);
        this.queues.set(`${topic}/${p}`, q);
        this.order.push(q);
        offsets.push({ topic, partition: p, offset: BigInt(positions[topic]?.[p] ?? 0) });
      }
    }
    try {
      this.stream = await this.consumer.consume({
        topics: Object.keys(partitions),
        mode: "manual",
        offsets,
        isolationLevel: READ_COMMITTED,
        autocommit: false,
      });
    } catch (err) {
      throw brokerError(this.address, "subscribing to the input topics", err);
    }
    this.stream.on("data", (m: InputMessage) => {
      const q = this.queues.get(`${m.topic}/${m.partition}`);
      if (q === undefined) return; // a partition added after the start: read from the next run on
      q.items.push(m);
      this.queued++;
      if (!this.unbounded && !this.paused && this.queued >= this.highWater) {
        this.paused = true;
        this.stream!.pause();
      }
      this.wakeUp();
    });
    this.stream.on("error", (err: Error) => {
      this.failure = brokerError(this.address, "reading the input topics", err);
      this.wakeUp();
    });
  }

  /** The error that stopped reading, if any (the runner recovers from it). */
  get error(): Error | undefined {
    return this.failure;
  }

  get size(): number {
    return this.queued;
  }

  /** Records of one partition waiting to be taken. */
  queuedOf(topic: string, partition: number): number {
    return this.queues.get(`${topic}/${partition}`)?.size ?? 0;
  }

  /** The offset the next fetch of a partition starts at (past any transaction markers read). */
  fetchedTo(topic: string, partition: number): number {
    return Number(this.stream?.offsetsToFetch.get(`${topic}:${partition}`) ?? 0n);
  }

  /**
   * Up to `max` records of one partition, taking partitions in turn. Empty when nothing is queued.
   * `into` is filled and returned (reused by the caller to avoid allocating per batch).
   */
  take(max: number, into: InputMessage[]): InputMessage[] {
    into.length = 0;
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const q = this.order[(this.nextQueue + i) % n];
      if (q.size === 0) continue;
      this.nextQueue = (this.nextQueue + i + 1) % n;
      this.takeFrom(q, max, into);
      break;
    }
    return into;
  }

  /** Up to `max` queued records of one partition whose offsets are below `endOffset`. */
  takeUpTo(
    topic: string,
    partition: number,
    endOffset: number,
    max: number,
    into: InputMessage[],
  ): InputMessage[] {
    into.length = 0;
    const q = this.queues.get(`${topic}/${partition}`);
    if (q === undefined) return into;
    while (into.length < max && q.size > 0 && Number(q.items[q.head].offset) < endOffset) {
      into.push(q.items[q.head++]);
      this.queued--;
    }
    q.compact();
    this.maybeResume();
    return into;
  }

  private takeFrom(q: PartitionQueue, max: number, into: InputMessage[]): void {
    const stop = Math.min(q.items.length, q.head + max);
    for (let i = q.head; i < stop; i++) into.push(q.items[i]);
    this.queued -= stop - q.head;
    q.head = stop;
    q.compact();
    this.maybeResume();
  }

  private maybeResume(): void {
    if (this.paused && this.queued < this.highWater / 2) {
      this.paused = false;
      this.stream?.resume();
    }
  }

  /** Resolves when records arrive, reading fails, `ms` pass or `signal` aborts. */
  waitForData(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.queued > 0 || this.failure !== undefined || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.waiter = done;
    });
  }

  private wakeUp(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async close(): Promise<void> {
    try {
      await this.stream?.close();
    } catch {
      // closing a broken stream
    }
    try {
      await this.consumer.close(true);
    } catch {
      // closing a consumer whose broker is gone
    }
  }
}
