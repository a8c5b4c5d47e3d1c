/**
 * The records of a pipeline's input partitions, read from Kafka (read-committed, through
 * KafkaTopicReader, which drops aborted transactions the way the Java consumer does) into one
 * queue per partition. A background loop keeps the queues filled; the runner takes records
 * partition by partition, so what it reads can be written down as a short list of segments and
 * read again in exactly that order after a failure.
 */
import type { TopicPositions } from "../runtime/checkpoint.js";
import type { ChosenInput, StagingTask } from "../runtime/input-chooser.js";
import { StagedRecord } from "../runtime/task.js";
import type { BrokerAddress } from "./connection.js";
import { KafkaTopicReader, type FetchedRecord } from "./topic-reader.js";

class PartitionQueue {
  items: FetchedRecord[] = [];
  head = 0;
  /** Where the next fetch starts (past transaction markers and aborted batches). */
  next: number;
  /** The partition's last stable offset as of the latest fetch (-1 before the first). */
  end = -1;
  constructor(
    readonly topic: string,
    readonly partition: number,
    start: number,
  ) {
    this.next = start;
  }
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
  private readonly readers = new Map<string, KafkaTopicReader>();
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly order: PartitionQueue[] = [];
  /** Queues the input chooser takes from (`chooserInput`): `take` passes them over. */
  private readonly chosen = new Set<PartitionQueue>();
  private nextQueue = 0;
  private queued = 0;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  private loops: Promise<void>[] = [];
  /** Stop fetching a partition above this many queued records (off while recovering: `unbounded`). */
  highWater = 20_000;
  unbounded = false;

  constructor(private readonly address: BrokerAddress) {}

  /** Start reading `partitions` (topic -> partition numbers) from `positions` (a missing one from 0). */
  start(partitions: Record<string, number[]>, positions: TopicPositions): void {
    for (const [topic, numbers] of Object.entries(partitions)) {
      if (numbers.length === 0) continue;
      const reader = new KafkaTopicReader(this.address, topic, { clientId: "weir-input" });
      this.readers.set(topic, reader);
      const mine = new Map<number, PartitionQueue>();
      for (const p of numbers) {
        const q = new PartitionQueue(topic, p, positions[topic]?.[p] ?? 0);
        this.queues.set(`${topic}/${p}`, q);
        this.order.push(q);
        mine.set(p, q);
      }
      this.loops.push(this.fetchLoop(reader, mine));
    }
  }

  private async fetchLoop(reader: KafkaTopicReader, queues: Map<number, PartitionQueue>): Promise<void> {
    try {
      while (!this.closed) {
        const wanted = [...queues.values()].filter((q) => this.unbounded || q.size < this.highWater);
        if (wanted.length === 0) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const fetched = await reader.fetch(
          wanted.map((q) => ({ partition: q.partition, offset: q.next })),
          200,
        );
        let got = 0;
        for (const f of fetched) {
          const q = queues.get(f.partition)!;
          if (f.outOfRange) {
            throw new Error(
              `offset ${q.next} of ${q.topic}/${f.partition} is no longer in the log (deleted by retention?)`,
            );
          }
          for (let i = 0; i < f.records.length; i++) q.items.push(f.records[i]);
          got += f.records.length;
          q.next = f.next;
          if (f.endOffset > q.end) q.end = f.endOffset;
        }
        if (got > 0) {
          this.queued += got;
          this.wakeUp();
        }
      }
    } catch (err) {
      if (!this.closed) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.wakeUp();
      }
    }
  }

  /** The error that stopped reading, if any (the runner recovers from it). */
  get error(): Error | undefined {
    return this.failure;
  }

  get size(): number {
    return this.queued;
  }

  /**
   * Records the pipeline has not taken yet, over every partition: each partition's end (its last
   * stable offset at the latest fetch) minus `positions` (the runner's next offsets); null before
   * every partition has been fetched once. `topics` limits it to some topics.
   */
  lag(positions: TopicPositions, topics?: readonly string[]): number | null {
    let lag = 0;
    for (const q of this.order) {
      if (topics !== undefined && !topics.includes(q.topic)) continue;
      if (q.end < 0) return null;
      lag += Math.max(0, q.end - (positions[q.topic]?.[q.partition] ?? 0));
    }
    return lag;
  }

  /** Records of one partition waiting to be taken. */
  queuedOf(topic: string, partition: number): number {
    return this.queues.get(`${topic}/${partition}`)?.size ?? 0;
  }

  /** The offset the next fetch of a partition starts at (past any transaction markers read). */
  fetchedTo(topic: string, partition: number): number {
    return this.queues.get(`${topic}/${partition}`)?.next ?? 0;
  }

  /**
   * Up to `max` records of one partition, taking partitions in turn; returns the topic, or
   * undefined when nothing is queued. `into` is filled (reused by the caller).
   */
  take(max: number, into: FetchedRecord[]): string | undefined {
    into.length = 0;
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const q = this.order[(this.nextQueue + i) % n];
      if (q.size === 0 || this.chosen.has(q)) continue;
      this.nextQueue = (this.nextQueue + i + 1) % n;
      const stop = Math.min(q.items.length, q.head + max);
      for (let j = q.head; j < stop; j++) into.push(q.items[j]);
      this.queued -= stop - q.head;
      q.head = stop;
      q.compact();
      return q.topic;
    }
    return undefined;
  }

  /**
   * One partition as the input chooser sees it (runtime/input-chooser.ts): its next record staged,
   * and whether records still to fetch must be waited for. `take` no longer hands out its records.
   */
  chooserInput(topic: string, partition: number): FeedInput {
    const q = this.queues.get(`${topic}/${partition}`);
    if (q === undefined) throw new Error(`${topic}/${partition} is not read by this feed`);
    this.chosen.add(q);
    return new FeedInput(q, () => {
      q.head++;
      this.queued--;
      q.compact();
    });
  }

  /** Up to `max` queued records of one partition whose offsets are below `endOffset`. */
  takeUpTo(topic: string, partition: number, endOffset: number, max: number, into: FetchedRecord[]): void {
    into.length = 0;
    const q = this.queues.get(`${topic}/${partition}`);
    if (q === undefined) return;
    while (into.length < max && q.size > 0 && q.items[q.head].offset < endOffset) {
      into.push(q.items[q.head++]);
      this.queued--;
    }
    q.compact();
  }

  /** Resolves when records are queued, reading fails, `ms` pass or `signal` aborts. */
  waitForData(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.queued > 0 || this.failure !== undefined || signal?.aborted) return Promise.resolve();
    return this.waitForFetch(ms, signal);
  }

  /**
   * Resolves when the next fetch brings records (to any partition), reading fails, or `ms` pass —
   * whatever is queued already: for a reader waiting on one partition while others hold records.
   */
  waitForFetch(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.failure !== undefined) return Promise.resolve();
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
    this.closed = true;
    this.wakeUp();
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.readers.values()].map((r) => r.close()));
  }
}

/** The value of a record without one (a tombstone): read as an empty line, a dead letter. */
export const NO_BYTES = Buffer.alloc(0);

/** A partition of the feed taken from by the input chooser. */
export class FeedInput implements ChosenInput {
  head: StagedRecord | null = null;
  private readonly staged = new StagedRecord();

  constructor(
    private readonly q: PartitionQueue,
    private readonly dropHead: () => void,
  ) {}

  /**
   * Nothing queued, and the partition not fetched to its end yet (or not fetched at all): its next
   * record may come first, so the chooser waits for it (Kafka Streams waits for partitions with
   * records on the broker the same way). A partition fetched to its last stable offset is passed over.
   */
  get waiting(): boolean {
    const q = this.q;
    return this.head === null && !(q.end >= 0 && q.next >= q.end);
  }

  /** Drop the staged record (processed) and stage the next queued one, if any. */
  advance(task: StagingTask): void {
    const q = this.q;
    if (this.head !== null) this.dropHead();
    if (q.size === 0) {
      this.head = null;
      return;
    }
    const r = q.items[q.head];
    task.stage(this.staged, q.topic, r.partition, r.offset, r.timestamp, r.value ?? NO_BYTES, r.headers);
    this.head = this.staged;
  }
}
