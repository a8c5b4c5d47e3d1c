/**
 * The one log interface: what Weir needs from a partitioned, offset-addressed log of topics, and
 * what both the embedded log (src/log/embedded-topic-log.ts) and a Kafka cluster
 * (src/kafka/kafka-topic-log.ts) provide. test/helpers/log-conformance.ts is the suite both pass;
 * a third backend is done when it passes it too.
 *
 * Every call is asynchronous (a cluster answers over the network), and every failure is a
 * WeirError with a code a user can act on: UNKNOWN_TOPIC, TOPIC_EXISTS, USAGE, or the backend's
 * own (BROKER_UNAVAILABLE, PARTITION_LOCKED, ...).
 *
 * Where the backends differ, the difference is part of the contract, and the suite checks it:
 * - **What a reader sees.** Kafka readers are read-committed: records of a transaction appear when
 *   it commits (once the broker has written its markers, just after commit() resolves), never
 *   when it aborts. The embedded log has no transaction markers: a committed
 *   writer's records are readable as soon as they are appended, and the ones it did not commit are
 *   removed (truncated) when it aborts or when its successor opens. Either way, once a committed
 *   writer has opened again, exactly the committed records remain for a reader to see.
 * - **A second committed writer with the same id.** Kafka fences the older one (its next commit
 *   fails), as transactional producers do; on the embedded log the open is refused while the first
 *   holder lives (WRITER_LOCKED), and taken over once it died. Either way, two holders never
 *   both commit.
 */
import type { ProducerRecord, RecordHeader } from "./types.js";

/** Next offset to read (or written up to), per topic and partition. */
export type LogPositions = Record<string, Record<string, number>>;

export type LogBackendKind = "embedded" | "kafka";

/** One partition of a topic: the offsets a reader can reach now. */
export interface LogPartition {
  readonly partition: number;
  /** First offset still retained. */
  readonly startOffset: number;
  /** Offset after the last readable record (on Kafka the last stable offset: committed data only). */
  readonly endOffset: number;
}

export interface LogTopic {
  readonly name: string;
  readonly partitions: readonly LogPartition[];
}

/** A record as a reader returns it. On the embedded log a record's bytes view a shared buffer: copy what you keep. */
export interface LogEntry {
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  /** Null only on Kafka (a tombstone); the embedded log has no null values. */
  readonly value: Buffer | null;
  /** Undefined or empty when the record has none. */
  readonly headers: readonly RecordHeader[] | undefined;
}

export interface FetchPosition {
  readonly partition: number;
  /** The next offset to read. */
  readonly offset: number;
}

export interface FetchedPartition {
  readonly partition: number;
  /** Records at or after the requested offset, in offset order (possibly none). */
  readonly records: readonly LogEntry[];
  /**
   * Where to fetch next. It can move without records (past Kafka's transaction markers or an
   * aborted transaction); it is the requested offset when nothing was read.
   */
  readonly next: number;
  /** The requested offset is not in the partition (deleted by retention, or past its end). */
  readonly outOfRange: boolean;
  /**
   * The partition's end as the backend last saw it (see LogPartition.endOffset), never below
   * `next`: exact on Kafka and when the fetch reached the end; on the embedded log, while a
   * reader is far from the end, it may be that of an earlier fetch.
   */
  readonly endOffset: number;
}

export interface FetchOptions {
  /**
   * How long to wait for data when none of the partitions has any at its position (0: answer
   * at once). A fetch returns as soon as one partition has records.
   */
  readonly maxWaitMs: number;
  /** An upper bound on the records returned per partition (a hint: a Kafka fetch is sized in bytes). */
  readonly maxRecords?: number;
  /** Ends a wait early: the fetch then returns what it has (usually nothing). */
  readonly signal?: AbortSignal;
}

/** Reads one topic from positions the caller keeps. It joins no group and commits nothing. */
export interface LogTopicReader {
  readonly topic: string;
  /**
   * Records of the given partitions from their positions. A partition the backend cannot serve
   * right now (a Kafka leader moving) may be missing from the answer: ask again.
   */
  fetch(positions: readonly FetchPosition[], options: FetchOptions): Promise<FetchedPartition[]>;
  close(): Promise<void>;
}

/**
 * Appends to one topic. A record goes to its explicit partition, or by murmur2 of its key (the
 * Java client's rule, the same on both backends), or, without a key, to one round-robin partition
 * per append call.
 */
export interface LogTopicWriter {
  readonly topic: string;
  readonly partitions: number;
  /** Queue records; may wait while too many are unacknowledged. Rejects with the first failed write. */
  append(records: readonly ProducerRecord[]): Promise<void>;
  /** Resolves when every record appended so far is durable (fsynced; acknowledged by the in-sync replicas). */
  flush(): Promise<void>;
  /** Flushes and lets go of the topic. */
  close(): Promise<void>;
}

/** What a committed writer's last commit recorded, handed back when it opens again. */
export interface CommittedState {
  /** 1 for the first commit, then 2, 3, ... */
  readonly sequence: number;
  /** The input positions committed with the outputs. */
  readonly positions: LogPositions;
  /** The state committed with them (any text, of any size). */
  readonly state: string;
}

/**
 * Writes output topics and commits them atomically together with input positions and state: the
 * base of exactly-once processing. Opening it recovers: what an earlier holder of the same id
 * wrote after its last commit is aborted, and `recovered` is that last commit.
 *
 *   const w = await log.openCommittedWriter("weir.orders.task-0", ["alerts"]);
 *   restore(w.recovered);           // undefined on the first run
 *   w.send("alerts", [{ key, value }]);
 *   await w.commit({ positions, state });  // all of it, or (after a crash) none of it
 */
export interface CommittedWriter {
  readonly id: string;
  readonly recovered: CommittedState | undefined;
  /** Buffer records for the next commit (a topic named when the writer was opened). */
  send(topic: string, records: readonly ProducerRecord[]): void;
  /**
   * Make the records sent since the last commit visible, together with these positions and state.
   * A commit that fails commits nothing, and the records sent for it are dropped: close the
   * writer, open it again (its `recovered` is the last commit that succeeded) and redo the work
   * since then.
   */
  commit(checkpoint: { positions: LogPositions; state: string }): Promise<CommittedState>;
  /** Drop what was sent since the last commit. */
  abort(): Promise<void>;
  /** Let go of the writer; what was sent and not committed is aborted. */
  close(): Promise<void>;
}

/**
 * How a group's partitions are given out:
 * - `leader-takes-all`: one member holds every partition of every topic; the others stand by and
 *   one of them takes over when it leaves or dies (one active process per pipeline).
 * - `tasks-across-members`: partition p of every topic is task p; tasks spread over the members
 *   (task p to the (p mod n)-th member in member-id order).
 *
 * The embedded log has one active member per group either way: the member holding the group's
 * lock in the data directory holds every partition, the others stand by until it lets go or its
 * process dies.
 */
export type AssignmentPolicy = "leader-takes-all" | "tasks-across-members";

export interface JoinGroupOptions {
  /** Default `leader-takes-all`. */
  readonly assignment?: AssignmentPolicy;
  /** Kafka: how long the group waits for a silent member before giving its partitions away (default 10 s). */
  readonly sessionTimeoutMs?: number;
}

/** One member of a consumer group. The group only assigns: members read with readers of their own. */
export interface GroupMember {
  readonly group: string;
  /** The partitions this member holds now, per topic joined; none while it stands by. */
  assignment(): Record<string, number[]>;
  /** Resolves when the assignment may have changed, after `ms` at the latest, or when `signal` fires. */
  nextChange(ms: number, signal?: AbortSignal): Promise<void>;
  /** Give the partitions back (another member takes them over). Idempotent. */
  leave(): Promise<void>;
}

export interface CreateTopicOptions {
  readonly partitions?: number;
}

/** A partitioned log of topics: the embedded log of a data directory, or a Kafka cluster. */
export interface TopicLog {
  readonly kind: LogBackendKind;
  /** The data directory or the cluster's URL, for messages. */
  readonly location: string;
  listTopics(): Promise<string[]>;
  /** The topic's partitions and offsets; undefined when it does not exist. */
  describeTopic(topic: string): Promise<LogTopic | undefined>;
  /** Fails with TOPIC_EXISTS when the topic exists. */
  createTopic(topic: string, options?: CreateTopicOptions): Promise<void>;
  /** Create the topic when missing; returns its partition count (an existing topic keeps its own). */
  ensureTopic(topic: string, options?: CreateTopicOptions): Promise<number>;
  /** Fails with UNKNOWN_TOPIC when the topic does not exist. */
  deleteTopic(topic: string): Promise<void>;
  /** Fails with UNKNOWN_TOPIC when the topic does not exist. */
  openReader(topic: string): Promise<LogTopicReader>;
  /** Fails with UNKNOWN_TOPIC when the topic does not exist. */
  openWriter(topic: string): Promise<LogTopicWriter>;
  /** Opens (and recovers) the committed writer `id` of these output topics, which must exist. */
  openCommittedWriter(id: string, topics: readonly string[]): Promise<CommittedWriter>;
  /** Join consumer group `group` on these topics (which must exist). */
  joinGroup(group: string, topics: readonly string[], options?: JoinGroupOptions): Promise<GroupMember>;
  /** A consumer group's committed positions in a topic (partition -> next offset); empty when it has none. */
  groupOffsets(group: string, topic: string): Promise<Map<number, number>>;
  /** Store a consumer group's positions in a topic (partition -> next offset). */
  commitGroupOffsets(group: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void>;
  close(): Promise<void>;
}
