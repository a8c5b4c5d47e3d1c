/**
 * The producer side of a topic: partitions records, appends them (synchronously, one write per
 * partition touched), and makes them durable according to the flush policy.
 */
import { WeirError } from "../errors.js";
import { asWeirError } from "./fs-util.js";
import type { PartitionWriter } from "./partition-writer.js";
import { Partitioner } from "./partitioner.js";
import type { FlushPolicy, ProducerRecord, RecordPosition } from "./types.js";

export interface TopicWriter {
  readonly topic: string;
  readonly partitionCount: number;
  /** murmur2 of the key like Kafka's default partitioner; round-robin for a null key. */
  partitionFor(key: Buffer | string | null): number;
  /**
   * Appends records and returns where each went (same order). Synchronous; all or nothing. With the
   * `always` flush policy the records are on stable storage when it returns. Key-less records of one
   * call all go to the same partition (the next in round-robin order), like Kafka's sticky partitioner.
   */
  append(records: readonly ProducerRecord[]): RecordPosition[];
  /** Offset the next record appended to the partition gets. */
  endOffset(partition: number): number;
  /** Drops every record with offset >= endOffset from the partition, durably (rolls a pipeline's outputs back to its checkpoint). */
  truncate(partition: number, endOffset: number): void;
  /** fsyncs every partition now. */
  flush(): void;
  /** Flushes (unless the policy is `os`) and releases the partition locks. */
  close(): void;
}

export class LogTopicWriter implements TopicWriter {
  readonly partitionCount: number;
  private readonly partitioner: Partitioner;
  /** Scratch for grouping a batch by partition: partition of each record, then record indexes by partition. */
  private assigned = new Int32Array(0);
  private order = new Int32Array(0);
  private readonly counts: Int32Array;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Set when durability can no longer be promised (a failed fsync or rollback): every later call throws it. */
  private failure: WeirError | null = null;
  private closed = false;

  constructor(
    readonly topic: string,
    private readonly partitions: readonly PartitionWriter[],
    private readonly policy: FlushPolicy,
    private readonly logger: (message: string) => void,
    private readonly onClose: () => void,
  ) {
    this.partitionCount = partitions.length;
    this.partitioner = new Partitioner(partitions.length);
    this.counts = new Int32Array(partitions.length + 1);
  }

  partitionFor(key: Buffer | string | null): number {
    return this.partitioner.partitionFor(key);
  }

  append(records: readonly ProducerRecord[]): RecordPosition[] {
    this.checkUsable();
    const n = records.length;
    const positions = new Array<RecordPosition>(n);
    if (n === 0) return positions;
    const now = Date.now();
    try {
      if (this.partitionCount === 1) {
        for (let i = 0; i < n; i++) {
          if (records[i].partition !== undefined) this.partitioner.check(records[i].partition!);
        }
        this.partitions[0].append(records, null, 0, n, now, positions);
      } else {
        this.appendSpread(records, now, positions);
      }
    } catch (err) {
      const error = asWeirError(err, `appending to ${this.topic}`);
      if (this.failure === null && this.partitions.some((w) => w.broken)) this.failure = error;
      throw error;
    }
    this.afterAppend();
    return positions;
  }

  /** Groups the batch by partition (a counting sort into reused arrays), then appends partition by partition. */
  private appendSpread(records: readonly ProducerRecord[], now: number, positions: RecordPosition[]): void {
    const n = records.length;
    if (this.assigned.length < n) {
      this.assigned = new Int32Array(n * 2);
      this.order = new Int32Array(n * 2);
    }
    const { assigned, order, counts, partitioner } = this;
    counts.fill(0);
    let sticky = -1;
    for (let i = 0; i < n; i++) {
      const r = records[i];
      let p: number;
      if (r.partition !== undefined) p = partitioner.check(r.partition);
      else if (r.key === null || r.key === undefined)
        p = sticky >= 0 ? sticky : (sticky = partitioner.nextRoundRobin());
      else p = partitioner.partitionFor(r.key);
      assigned[i] = p;
      counts[p + 1]++;
    }
    for (let p = 0; p < this.partitionCount; p++) counts[p + 1] += counts[p];
    // counts[p] is now where partition p's records start in `order`; it advances while filling.
    for (let i = 0; i < n; i++) order[counts[assigned[i]]++] = i;
    // After filling, counts[p] is where partition p's records end: partition p spans [counts[p-1], counts[p]).
    const endsBefore = this.partitions.map((w) => w.endOffset);
    let from = 0;
    for (let p = 0; p < this.partitionCount; p++) {
      const to = counts[p];
      if (to === from) continue;
      try {
        this.partitions[p].append(records, order, from, to, now, positions);
      } catch (err) {
        this.undo(p, endsBefore);
        throw err;
      }
      from = to;
    }
  }

  /** A partition's append failed (and rolled itself back): roll back the partitions appended before it. */
  private undo(failed: number, endsBefore: readonly number[]): void {
    try {
      for (let p = 0; p < failed; p++) {
        if (this.partitions[p].endOffset > endsBefore[p]) this.partitions[p].truncate(endsBefore[p]);
      }
    } catch (err) {
      this.fail(`rolling back a failed append to ${this.topic} failed: ${String(err)}`, err);
    }
  }

  endOffset(partition: number): number {
    this.checkUsable();
    return this.partitions[this.partitioner.check(partition)].endOffset;
  }

  truncate(partition: number, endOffset: number): void {
    this.checkUsable();
    const writer = this.partitions[this.partitioner.check(partition)];
    try {
      writer.truncate(endOffset);
    } catch (err) {
      if (err instanceof WeirError && err.code === "OFFSET_OUT_OF_RANGE") throw err;
      this.fail(`truncating ${this.topic}/${partition} failed: ${String(err)}`, err);
    }
  }

  flush(): void {
    this.checkUsable();
    this.syncAll();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    let error: unknown = null;
    for (const w of this.partitions) {
      try {
        w.close(this.failure === null && this.policy.kind !== "os");
      } catch (err) {
        error ??= err;
      }
    }
    this.onClose();
    if (error !== null)
      throw new WeirError("IO", `closing the writer of ${this.topic} failed: ${String(error)}`, {
        cause: error,
      });
  }

  private afterAppend(): void {
    if (this.policy.kind === "always") this.syncAll();
    else if (this.policy.kind === "interval" && this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        if (this.closed || this.failure !== null) return;
        try {
          this.syncAll();
        } catch (err) {
          this.logger(`flushing ${this.topic} failed: ${String(err)}`);
        }
      }, this.policy.ms);
      this.flushTimer.unref();
    }
  }

  private syncAll(): void {
    try {
      for (const w of this.partitions) w.flush();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: nothing written since the
      // last good sync can be trusted to be on disk, so the writer stops here.
      this.fail(`fsync of ${this.topic} failed: ${String(err)}`, err);
    }
  }

  private fail(message: string, cause: unknown): never {
    this.failure = new WeirError("IO", `${message}; close and reopen the writer to recover`, { cause });
    throw this.failure;
  }

  private checkUsable(): void {
    if (this.closed) throw new WeirError("CLOSED", `the writer of ${this.topic} is closed`);
    if (this.failure !== null) throw this.failure;
  }
}
