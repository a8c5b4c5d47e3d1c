/**
 * The sink contract: how records leave a pipeline for a system Weir does not own (an HTTP
 * endpoint, a database, files), tied to checkpoints the way Flink's committing sink writer and
 * Quix's BaseSink are.
 *
 *   p.source("orders").filter(...).sinkTo(webhookSink({ url }))
 *
 * The runtime drives every writer through the same cycle on both backends:
 *
 *   open(context)                      once per task (one task on the embedded log; one per
 *                                      partition task on Kafka)
 *   write(records)                     after every batch of input, in order; awaited (a slow sink
 *                                      slows the pipeline down instead of piling records up)
 *   prepareCommit(checkpoint)          before a checkpoint is written: make what was written so
 *                                      far durable or staged, and return what commit() needs
 *                                      (JSON); it is stored in the checkpoint
 *   commit(prepared, checkpoint)       after that checkpoint is durable: publish what was staged
 *   rollback()                         the run failed: forget what was written since the last commit
 *   close()
 *
 * Recovery: a restarted run calls commit() again with the `prepared` value of the checkpoint it
 * restores (the previous process may have died between checkpoint and commit), so commit() must
 * be idempotent. Records after that checkpoint are processed again and written again, with the
 * same `id`s: a sink that stages records and publishes them at commit gives exactly-once results;
 * one that delivers in write() gives at-least-once delivery, with an id the receiver can
 * deduplicate on.
 *
 * A record the sink cannot deliver is not dropped: write() returns it among `failed`, with the
 * reason, and it becomes a dead letter of the sink's step (`<pipeline>.dlq`). A write() that
 * throws stops the run with the error (after a checkpoint-safe rollback): for an outage that
 * retrying cannot outlast.
 */
import type { Logger } from "../util/logger.js";

/** A record handed to a sink. */
export interface SinkRecord<T = unknown> {
  /** The record as the pipeline made it. */
  readonly value: T;
  /** The record's key (`sinkTo(sink, { key })`, else the stream's key), as text; null without one. */
  readonly key: string | null;
  /** Event time, ms since the epoch. */
  readonly eventTime: number;
  /**
   * The same for this record on every run and every replay: pipeline, step, the input position
   * the record came from, and its number among the records that input made at this step. Use it
   * as an idempotency key.
   */
  readonly id: string;
}

export interface SinkContext {
  readonly pipeline: string;
  /** The sink's step id (its name). */
  readonly step: string;
  /** The partition task this writer serves (0 on the embedded log and for one-partition inputs). */
  readonly task: number;
  /**
   * Unique to this opened writer (`<pipeline>.<step>.<task>.<random>`): name what it stages with
   * it, since an older holder of the same task may still be writing until it is fenced.
   */
  readonly writerId: string;
  /** Where the sink reports (with the pipeline's fields). */
  readonly logger: Logger;
}

/** Records write() could not deliver: each becomes a dead letter of the sink's step with its reason. */
export interface SinkWriteResult<T = unknown> {
  readonly failed?: ReadonlyArray<{ readonly record: SinkRecord<T>; readonly error: string }>;
}

export interface SinkWriter<T = unknown> {
  write(records: readonly SinkRecord<T>[]): Promise<SinkWriteResult<T> | void> | SinkWriteResult<T> | void;
  /** Default: nothing to prepare (`null`). */
  prepareCommit?(checkpoint: number): Promise<unknown> | unknown;
  /** Default: nothing to commit. Must be idempotent (recovery calls it again). */
  commit?(prepared: unknown, checkpoint: number): Promise<void> | void;
  /** Default: nothing to forget. */
  rollback?(): Promise<void> | void;
  close?(): Promise<void> | void;
}

/** A sink: a name (shown by `weir describe`) and how to open a writer for a task. */
export interface Sink<T = unknown> {
  readonly name: string;
  open(context: SinkContext): Promise<SinkWriter<T>> | SinkWriter<T>;
}
