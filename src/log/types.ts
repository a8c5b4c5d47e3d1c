/**
 * The embedded log's public types: what the rest of Weir (CLI, runtime, sinks) may depend on.
 * Kafka's adapter (src/kafka/) implements the same shapes, so pipelines do not care which log they run on.
 */

/** A header: a name and raw bytes, as in Kafka. */
export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer;
}

/**
 * A record as stored in a partition. Records returned by a reader view its read buffer (no copy):
 * they stay valid, but hold that buffer in memory while referenced; copy what you keep for long.
 */
export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch (the producer's timestamp, or append time when it gave none). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly headers: readonly RecordHeader[];
}

/** What a producer hands to the log. Strings are stored as UTF-8. */
export interface ProducerRecord {
  key?: Buffer | string | null;
  value: Buffer | string;
  /** Defaults to the append time (Date.now()). */
  timestamp?: number;
  headers?: readonly RecordHeader[];
  /** Explicit partition; otherwise murmur2(key) like Kafka, or round-robin for records without key. */
  partition?: number;
}

/** Where an appended record went. */
export interface RecordPosition {
  readonly partition: number;
  readonly offset: number;
}

/**
 * When appended bytes are forced to stable storage.
 * - `always`: fsync before append() returns; an acknowledged record survives power loss.
 * - `interval`: fsync at most every `ms` milliseconds (and at close); the default, 50 ms.
 * - `os`: never fsync explicitly; survives a process crash (the page cache holds it), not power loss.
 */
export type FlushPolicy =
  { readonly kind: "always" } | { readonly kind: "interval"; readonly ms: number } | { readonly kind: "os" };

export const DEFAULT_FLUSH_POLICY: FlushPolicy = { kind: "interval", ms: 50 };

/**
 * Time-based settings use record timestamps (as Kafka does with CreateTime): a record appended with
 * an old timestamp counts as old. So with a retentionMs set, a topic fed historical data with
 * event-time timestamps loses its old segments at the next roll; the default keeps them.
 */
export interface TopicConfig {
  readonly partitions: number;
  /** A segment rolls when it would grow past this many bytes (a single larger record gets a segment of its own). */
  readonly segmentBytes: number;
  /** Roll the active segment when a record's timestamp is more than this (ms) after the segment's first record's. -1: never by time. */
  readonly segmentMs: number;
  /** Delete the oldest segments while a partition is larger than this, checked when a segment rolls and when a writer opens. -1: unlimited. */
  readonly retentionBytes: number;
  /** Delete segments whose newest record timestamp is older than now minus this (ms), checked when a segment rolls and when a writer opens. -1: forever. */
  readonly retentionMs: number;
  /** Add a sparse index entry every this many bytes of log. */
  readonly indexIntervalBytes: number;
}

export const DEFAULT_TOPIC_CONFIG: TopicConfig = Object.freeze({
  partitions: 1,
  segmentBytes: 64 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  // Unlike Kafka's 7 days: pipelines replay historical data with event-time timestamps (and the kappa
  // scenario reprocesses a retained log), which age-based retention would delete at the next roll.
  retentionMs: -1,
  indexIntervalBytes: 4096,
});

export interface PartitionDescription {
  readonly partition: number;
  /** First offset still retained. */
  readonly startOffset: number;
  /** Offset the next appended record gets (the log end offset). */
  readonly endOffset: number;
  readonly sizeBytes: number;
  readonly segments: number;
}

export interface TopicDescription {
  readonly name: string;
  readonly config: TopicConfig;
  readonly partitions: readonly PartitionDescription[];
}

/** Committed positions of a consumer group: the next offset to read, per topic and partition. */
export type GroupOffsets = Record<string, Record<number, number>>;

export interface LogOptions {
  readonly flush?: FlushPolicy;
  /** Where recovery and retention report what they did. Defaults to stderr lines prefixed `weir:`. */
  readonly logger?: (message: string) => void;
}
