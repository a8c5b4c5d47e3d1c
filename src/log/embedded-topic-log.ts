/**
 * The embedded log behind the one log interface (src/log/contract.ts).
 *
 * Committed writers keep their last commit in `<dataDir>/commits/<id>.json`, written atomically:
 * the input positions and state given to commit(), and the end offset of every output partition
 * after the commit's records were fsynced. The writer holds its output partitions' locks (it is
 * their only writer), so recovery is a truncation: a writer that opens cuts each output partition
 * back to the end its last commit recorded, which removes whatever an earlier holder appended and
 * did not commit. The same cut is what abort() does.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { WeirError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type {
  CommittedState,
  CommittedWriter,
  CreateTopicOptions,
  FetchOptions,
  FetchPosition,
  FetchedPartition,
  GroupMember,
  JoinGroupOptions,
  LogPositions,
  LogTopic,
  LogTopicReader,
  LogTopicWriter,
  TopicLog,
} from "./contract.js";
import type { EmbeddedLog } from "./embedded-log.js";
import { tryLock, unlock } from "./lock.js";
import type { PartitionReader } from "./partition-reader.js";
import type { TopicWriter } from "./topic-writer.js";
import type { ProducerRecord } from "./types.js";
import { validateGroupName } from "./topic-meta.js";
import { sleep } from "../util/sleep.js";

/** Records one fetch returns per partition when the caller gives no bound. */
const DEFAULT_FETCH_RECORDS = 2000;

/** A committed writer's id names a file: letters, digits, `.`, `_`, `-`. */
const WRITER_ID = /^[A-Za-z0-9._-]{1,200}$/;

export class EmbeddedTopicLog implements TopicLog {
  readonly kind = "embedded" as const;
  readonly location: string;

  /** `release` is called by close() (e.g. to let go of a shared log); the log itself stays open. */
  constructor(
    readonly log: EmbeddedLog,
    private readonly release: () => void = () => {},
  ) {
    this.location = log.dataDir;
  }

  async listTopics(): Promise<string[]> {
    return this.log.listTopics();
  }

  async describeTopic(topic: string): Promise<LogTopic | undefined> {
    if (!this.log.hasTopic(topic)) return undefined;
    const d = this.log.describeTopic(topic);
    return {
      name: d.name,
      partitions: d.partitions.map((p) => ({
        partition: p.partition,
        startOffset: p.startOffset,
        endOffset: p.endOffset,
      })),
    };
  }

  async createTopic(topic: string, options: CreateTopicOptions = {}): Promise<void> {
    this.log.createTopic(topic, options.partitions === undefined ? {} : { partitions: options.partitions });
  }

  async ensureTopic(topic: string, options: CreateTopicOptions = {}): Promise<number> {
    const d = this.log.ensureTopic(
      topic,
      options.partitions === undefined ? {} : { partitions: options.partitions },
    );
    return d.config.partitions;
  }

  async deleteTopic(topic: string): Promise<void> {
    this.log.deleteTopic(topic);
  }

  async openReader(topic: string): Promise<LogTopicReader> {
    this.requireTopic(topic);
    return new EmbeddedTopicReader(this.log, topic);
  }

  async openWriter(topic: string): Promise<LogTopicWriter> {
    this.requireTopic(topic);
    return new EmbeddedTopicWriter(this.log.writer(topic));
  }

  async openCommittedWriter(id: string, topics: readonly string[]): Promise<CommittedWriter> {
    for (const t of topics) this.requireTopic(t);
    return EmbeddedCommittedWriter.open(this.log, id, topics);
  }

  async joinGroup(
    group: string,
    topics: readonly string[],
    _options?: JoinGroupOptions,
  ): Promise<GroupMember> {
    validateGroupName(group);
    const partitions: Record<string, number> = {};
    for (const t of topics) {
      this.requireTopic(t);
      partitions[t] = this.log.describeTopic(t).partitions.length;
    }
    mkdirSync(join(this.log.dataDir, "groups"), { recursive: true });
    return new EmbeddedGroupMember(
      group,
      join(this.log.dataDir, "groups", `${group}.member.lock`),
      partitions,
    );
  }

  async groupOffsets(group: string, topic: string): Promise<Map<number, number>> {
    const stored = this.log.readGroupOffsets(group)[topic] ?? {};
    return new Map(Object.entries(stored).map(([p, offset]) => [Number(p), offset]));
  }

  async commitGroupOffsets(
    group: string,
    topic: string,
    offsets: ReadonlyMap<number, number>,
  ): Promise<void> {
    if (offsets.size === 0) return;
    this.log.commitGroupOffsets(group, { [topic]: Object.fromEntries(offsets) });
  }

  async close(): Promise<void> {
    this.release();
  }

  private requireTopic(topic: string): void {
    if (!this.log.hasTopic(topic))
      throw new WeirError(
        "UNKNOWN_TOPIC",
        `topic ${JSON.stringify(topic)} does not exist in ${this.log.dataDir}`,
      );
  }
}

class EmbeddedTopicReader implements LogTopicReader {
  private readonly readers = new Map<number, PartitionReader>();
  /** Each partition's end as last read from its files. */
  private readonly ends = new Map<number, number>();
  private closed = false;

  constructor(
    private readonly log: EmbeddedLog,
    readonly topic: string,
  ) {}

  async fetch(positions: readonly FetchPosition[], options: FetchOptions): Promise<FetchedPartition[]> {
    if (this.closed) throw new WeirError("USAGE", `the reader of ${this.topic} is closed`);
    const max = options.maxRecords ?? DEFAULT_FETCH_RECORDS;
    let answer = this.poll(positions, max);
    if (options.maxWaitMs > 0 && answer.every((f) => f.records.length === 0 && !f.outOfRange)) {
      const round = new AbortController();
      const stop = () => round.abort();
      options.signal?.addEventListener("abort", stop, { once: true });
      try {
        if (!options.signal?.aborted) {
          const waits = positions.map((p) =>
            this.reader(p.partition).waitForData(options.maxWaitMs, round.signal),
          );
          if (await Promise.race(waits)) answer = this.poll(positions, max);
        }
      } finally {
        round.abort();
        options.signal?.removeEventListener("abort", stop);
      }
    }
    return answer;
  }

  private poll(positions: readonly FetchPosition[], max: number): FetchedPartition[] {
    const out: FetchedPartition[] = [];
    for (const { partition, offset } of positions) {
      const reader = this.reader(partition);
      // Reading on from where the last fetch stopped (the common case): no range check, and the
      // end is re-read from the files only near it (reading the directory costs more than a poll).
      let records = reader.position === offset ? reader.poll(max) : [];
      let end = this.ends.get(partition) ?? -1;
      let endIsFresh = false;
      if (records.length === 0) {
        const start = reader.startOffset();
        end = reader.endOffset();
        endIsFresh = true;
        if (offset < start || offset > end) {
          this.ends.set(partition, end);
          out.push({ partition, records: [], next: offset, outOfRange: true, endOffset: end });
          continue;
        }
        if (reader.position !== offset) reader.seek(offset);
        records = reader.poll(max);
      }
      if (!endIsFresh && (end < reader.position || records.length < max)) end = reader.endOffset();
      this.ends.set(partition, end);
      out.push({
        partition,
        records,
        next: reader.position,
        outOfRange: false,
        endOffset: Math.max(end, reader.position),
      });
    }
    return out;
  }

  private reader(partition: number): PartitionReader {
    let r = this.readers.get(partition);
    if (r === undefined) {
      r = this.log.reader(this.topic, partition);
      this.readers.set(partition, r);
    }
    return r;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}

class EmbeddedTopicWriter implements LogTopicWriter {
  readonly topic: string;
  readonly partitions: number;

  constructor(private readonly writer: TopicWriter) {
    this.topic = writer.topic;
    this.partitions = writer.partitionCount;
  }

  async append(records: readonly ProducerRecord[]): Promise<void> {
    if (records.length > 0) this.writer.append(records);
  }

  async flush(): Promise<void> {
    this.writer.flush();
  }

  async close(): Promise<void> {
    this.writer.close();
  }
}

/** The file a committed writer keeps its last commit in. */
interface CommitFile {
  id: string;
  /** 0 before the first commit (the file then only records where the outputs started). */
  sequence: number;
  positions: LogPositions;
  state: string;
  /** End offset of every output partition when the commit was written. */
  outputs: LogPositions;
}

class EmbeddedCommittedWriter implements CommittedWriter {
  private closed = false;

  private constructor(
    readonly id: string,
    private readonly file: string,
    private readonly lockFile: string,
    private readonly writers: Map<string, TopicWriter>,
    private last: CommitFile,
    readonly recovered: CommittedState | undefined,
  ) {}

  static open(log: EmbeddedLog, id: string, topics: readonly string[]): EmbeddedCommittedWriter {
    if (!WRITER_ID.test(id))
      throw new WeirError(
        "USAGE",
        `committed writer id ${JSON.stringify(id)}: use 1 to 200 letters, digits, ".", "_" or "-"`,
      );
    const dir = join(log.dataDir, "commits");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${id}.json`);
    const lockFile = join(dir, `${id}.lock`);
    const attempt = tryLock(lockFile);
    if (!attempt.acquired)
      throw new WeirError(
        "WRITER_LOCKED",
        `committed writer ${id} is held by ${attempt.holderIsThisProcess ? "this process" : `process ${attempt.holderPid}`}`,
      );
    const writers = new Map<string, TopicWriter>();
    try {
      for (const t of topics) writers.set(t, log.writer(t));
      const saved = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as CommitFile) : undefined;
      const last: CommitFile = saved ?? { id, sequence: 0, positions: {}, state: "", outputs: {} };
      // Roll every output back to the last commit; an output the file does not know yet starts here.
      let learned = saved === undefined;
      for (const [topic, w] of writers) {
        const ends = last.outputs[topic] ?? (last.outputs[topic] = {});
        for (let p = 0; p < w.partitionCount; p++) {
          const committed = ends[p];
          if (committed === undefined) {
            ends[p] = w.endOffset(p);
            learned = true;
          } else if (w.endOffset(p) > committed) w.truncate(p, committed);
        }
      }
      if (learned) writeFileAtomic(file, JSON.stringify(last));
      const recovered =
        last.sequence > 0
          ? { sequence: last.sequence, positions: last.positions, state: last.state }
          : undefined;
      return new EmbeddedCommittedWriter(id, file, lockFile, writers, last, recovered);
    } catch (err) {
      for (const w of writers.values()) w.close();
      unlock(lockFile);
      throw err;
    }
  }

  send(topic: string, records: readonly ProducerRecord[]): void {
    this.checkOpen();
    const w = this.writers.get(topic);
    if (w === undefined)
      throw new WeirError("USAGE", `committed writer ${this.id} was not opened for topic ${topic}`);
    if (records.length > 0) w.append(records);
  }

  async commit(checkpoint: { positions: LogPositions; state: string }): Promise<CommittedState> {
    this.checkOpen();
    const outputs: LogPositions = {};
    for (const [topic, w] of this.writers) {
      w.flush();
      const ends: Record<string, number> = {};
      for (let p = 0; p < w.partitionCount; p++) ends[p] = w.endOffset(p);
      outputs[topic] = ends;
    }
    const next: CommitFile = {
      id: this.id,
      sequence: this.last.sequence + 1,
      positions: checkpoint.positions,
      state: checkpoint.state,
      outputs,
    };
    writeFileAtomic(this.file, JSON.stringify(next));
    this.last = next;
    return { sequence: next.sequence, positions: next.positions, state: next.state };
  }

  async abort(): Promise<void> {
    this.checkOpen();
    this.rollBack();
  }

  private rollBack(): void {
    for (const [topic, w] of this.writers) {
      const ends = this.last.outputs[topic] ?? {};
      for (let p = 0; p < w.partitionCount; p++) {
        const committed = ends[p];
        if (committed !== undefined && w.endOffset(p) > committed) w.truncate(p, committed);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.rollBack();
    } catch (err) {
      // The log was closed under the writer (its writers with it): what was not committed stays
      // until the next holder opens and cuts it.
      if (!(err instanceof WeirError && err.code === "CLOSED")) throw err;
    } finally {
      for (const w of this.writers.values()) w.close();
      unlock(this.lockFile);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new WeirError("USAGE", `committed writer ${this.id} is closed`);
  }
}

/** How often a standby member tries the group's lock. */
const STANDBY_RETRY_MS = 200;

/**
 * A member of a group on the embedded log: the one holding `groups/<group>.member.lock` holds
 * every partition; the others stand by and try the lock every 200 ms (a dead holder's lock is
 * taken over, src/log/lock.ts).
 */
class EmbeddedGroupMember implements GroupMember {
  private active = false;
  private left = false;

  constructor(
    readonly group: string,
    private readonly lockFile: string,
    private readonly partitions: Record<string, number>,
  ) {
    this.tryToLead();
  }

  private tryToLead(): boolean {
    if (!this.active && !this.left) this.active = tryLock(this.lockFile).acquired;
    return this.active;
  }

  assignment(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    if (!this.active) return out;
    for (const [topic, n] of Object.entries(this.partitions))
      out[topic] = Array.from({ length: n }, (_, p) => p);
    return out;
  }

  async nextChange(ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + ms;
    while (!signal?.aborted && !this.left) {
      // An active member keeps its partitions until it leaves: nothing can change but time.
      if (!this.active && this.tryToLead()) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      await sleep(this.active ? left : Math.min(left, STANDBY_RETRY_MS), signal);
    }
  }

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    if (this.active) unlock(this.lockFile);
    this.active = false;
  }
}
