/**
 * Storage sinks beyond topics: the versioned serving table and the date-partitioned lake.
 *
 * Both take part in the engine's checkpoints the same way output topics do (docs/architecture.md):
 * between checkpoints they write freely; at a checkpoint the runner asks each for its position and
 * stores it in the checkpoint; after a crash it rolls each back to the checkpointed position and
 * the deterministic replay writes the same rows again — so tables and lake end up exactly as in an
 * uninterrupted run.
 */

/** Where the record that caused an update came from. */
export interface SourcePosition {
  topic: string;
  partition: number;
  offset: number;
}

/** One update of a versioned table: the new value of `key`, which becomes its next version. */
export interface TableUpdate extends SourcePosition {
  key: string;
  value: unknown;
  /** Event time of the update, ms since the epoch. */
  eventTime: number;
  /**
   * The pipeline's update sequence number for this table: 1, 2, 3, ... in the order updates are
   * made, never reused. Rollback and idempotence are keyed by it.
   */
  seq: number;
  /** The value as JSON text, when the step made it already (else the store serialises `value`). */
  json?: string;
}

/** One stored version of a key, as `weir table` prints it. */
export interface TableVersion {
  key: string;
  version: number;
  eventTime: number;
  value: unknown;
  source: SourcePosition;
}

export interface TableSpec {
  /** Table name: letters, digits, '_' (a SQL identifier). */
  name: string;
  /** Versions kept per key (HBase VERSIONS); older ones are removed at checkpoints. */
  versions: number;
}

export interface TableReadOptions {
  /** Only this key. */
  key?: string;
  /** Up to this many newest versions per key (default 1), and at most the table's `versions`. */
  versions?: number;
  /** Every stored row up to `versions` per key, including versions beyond the table's limit not compacted yet. */
  raw?: boolean;
}

/**
 * A store of versioned tables: SQLite in the data directory (default) or PostgreSQL. Methods are
 * async (PostgreSQL); every write is atomic per call. A store that is down throws an error with
 * `retryable: true`; the runner waits and retries with backoff.
 */
export interface VersionedTableStore {
  /** Human-readable location, e.g. "sqlite:/data/.weir/tables.db" or "postgres://host/db". */
  readonly location: string;
  /** Create the table (and its latest-value view) if missing. */
  ensureTable(spec: TableSpec): Promise<void>;
  /** Append updates in order, in one transaction; each gets version = previous version of its key + 1. */
  writeBatch(table: string, updates: readonly TableUpdate[]): Promise<void>;
  /** The highest seq written to the table (0 when empty). */
  lastSeq(table: string): Promise<number>;
  /** Remove every update with seq > `seq` (rollback to a checkpoint). */
  rollbackTo(table: string, seq: number): Promise<void>;
  /** Drop versions beyond the table's `versions` among updates with seq <= `seq` (called after a checkpoint). */
  compact(table: string, seq: number): Promise<void>;
  /**
   * Latest version per key (or of one key), or up to `versions` newest versions each, newest first
   * — never more than the table keeps (its `versions`), even where compaction has not removed the
   * older ones yet (rows written since the last checkpoint, or left by a crash before compaction).
   * `raw: true` (tests, diagnostics; HBase's raw scan) returns those older stored rows too.
   */
  read(table: string, options?: TableReadOptions): Promise<TableVersion[]>;
  listTables(): Promise<string[]>;
  /**
   * Optional: what the store had to change in values it wrote since the last call (PostgreSQL writes
   * U+0000, which it cannot store, as U+FFFD), one message per table, for the run to report.
   */
  takeNotices?(): string[];
  close(): Promise<void>;
}

export type LakeFormat = "parquet" | "jsonl" | "csv";

export interface LakeDatasetSpec {
  /** Dataset name: a folder under `<data>/lake/`. */
  name: string;
  format: LakeFormat;
  /** Hive-style partition column; "date" partitions by the record's event date (UTC), `date=YYYY-MM-DD`. */
  partitionBy: "date" | "none";
  /** Roll (publish) a file when it holds this many rows or bytes, or at every checkpoint. */
  maxRowsPerFile?: number;
  /** Roll a file when its rows take this many bytes as JSON lines (default 256 MiB). */
  maxBytesPerFile?: number;
}

/** What a lake dataset's checkpoint position records: files published up to this commit. */
export interface LakePosition {
  /** The commit sequence of the last published batch of files (0: none). */
  commit: number;
}
