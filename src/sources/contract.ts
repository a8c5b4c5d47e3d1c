/**
 * The source contract: how records from outside (an API to poll, a device, a file system, a queue
 * other than Kafka) come into a pipeline. A source is read into the pipeline's source topic — on the
 * embedded log or on Kafka, whichever the run uses — by an ingest loop (ingest.ts) that commits the
 * records it appended together with the source's positions (one committed writer of the log
 * contract, src/log/contract.ts). The pipeline then reads that topic as it reads any other: the same
 * input chooser, watermarks and checkpoints on both backends, and the topic keeps what came in for
 * replay and audit, as Kafka Connect's source connectors do.
 *
 * Delivery into the topic: a source that can start again from a position it handed out (`open(split,
 * from)` reads exactly what followed `from`) is ingested **exactly once** — after a crash, the records
 * appended after the last commit are gone (rolled back or aborted) and reading resumes from the
 * committed positions. A source that cannot (a socket, a webhook) is ingested at least once at best:
 * what it handed over after the last commit is lost or read again, as it replays.
 */

/** One record a source hands over. */
export interface SourceRecord {
  /**
   * The record's value: JSON text or its bytes (as the pipeline's source reads topics), or any JSON
   * value, written as JSON text. A value that cannot be written as JSON is a dead letter of the
   * pipeline, with the reason.
   */
  readonly value: unknown;
  /** The record's key (it picks the topic's partition, as on Kafka); default none. */
  readonly key?: string | null;
  /** Epoch milliseconds: the record's log timestamp (its event time when the pipeline names no eventTime field); default now. */
  readonly timestamp?: number;
}

/** Records read from a split, and the split's position after them. */
export interface SourceBatch<Position = unknown> {
  readonly records: readonly SourceRecord[];
  /**
   * Where the split stands after these records (any JSON value): committed with them, and handed
   * back to `open` when the ingest starts again.
   */
  readonly position: Position;
}

/** One split of a source, open at a position. */
export interface SplitReader<Position = unknown> {
  /**
   * The next records, up to `max`. Resolve with no records when none are ready after a short wait
   * (at most a few hundred milliseconds: the ingest commits and checks for a stop between reads),
   * and with null when the split is finished (a bounded source at its end). `signal` aborts a wait.
   */
  read(max: number, signal: AbortSignal): Promise<SourceBatch<Position> | null>;
  /** Let go of what the reader holds. */
  close?(): Promise<void> | void;
}

/** What a source is told when it is opened. */
export interface SourceContext {
  readonly pipeline: string;
  /** The topic the records go to. */
  readonly topic: string;
}

/**
 * A source of records for `p.source(topic, { from: source })`. Its splits are read in parallel,
 * each in order; a split's records keep their order in the topic when they share a key, or when
 * the topic has one partition (the default).
 */
export interface Source<Position = unknown> {
  /** For messages and `weir describe`: what the source reads ("prices API", "sensor files"). */
  readonly name: string;
  /** The source's splits, by name (default one split, "0"). Names must not change between runs. */
  splits?(context: SourceContext): Promise<readonly string[]> | readonly string[];
  /** Open a split at `from`, the position committed last (undefined: from the beginning). */
  open(
    split: string,
    from: Position | undefined,
    context: SourceContext,
  ): Promise<SplitReader<Position>> | SplitReader<Position>;
}
