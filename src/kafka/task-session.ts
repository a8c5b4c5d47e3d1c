/**
 * One task of a pipeline on Kafka, processing with exactly-once results: a set of input partitions,
 * a Task (or the storage writer) over them, one transactional producer and one partition of a
 * checkpoint topic. A pipeline whose inputs have one partition runs as a single task; one with
 * more runs a task per partition number, shared by the processes of its consumer group.
 *
 * Everything the task writes to Kafka goes through its transactional producer:
 *
 *   every commit interval (default 20 ms, while there is progress):
 *     begin; send the outputs since the last commit + a small commit entry (input positions and the
 *     order partitions were read in) to the checkpoint partition; commit
 *   every checkpoint interval (default 5 s): the same, plus a snapshot of the state (and the
 *     table and lake positions) instead of the commit entry
 *
 * Outputs become visible to read-committed consumers when their transaction commits, together with
 * the checkpoint entry that accounts for them. Recovery restores the last snapshot, rolls tables and
 * lake back to it, and re-reads the input of the commits after it in the recorded order with topic
 * outputs suppressed: the state then stands exactly where the last committed transaction left it.
 * Starting the producer fences any older holder of the same transactional id and aborts its open
 * transaction, so a zombie cannot commit after a takeover.
 */
import type { StateChanges } from "../runtime/step-identity.js";
import { Producer } from "@platformatic/kafka";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  CHECKPOINT_VERSION,
  type PipelineCheckpoint,
  type SinkCommit,
  type TopicPositions,
} from "../runtime/checkpoint.js";
import type { OutputListener } from "../runtime/log-outputs.js";
import type { LatencyHistogram, RateMeter } from "../runtime/metrics.js";
import type { LakeOutputs, TableOutputs } from "../runtime/storage-outputs.js";
import { crashPoint } from "../runtime/crash-points.js";
import type { OutputCollector } from "../operators/types.js";
import type { RecordContext } from "../graph/graph.js";
import { lakeRowRecord, tableUpdateRecord } from "./storage-writer.js";
import { UnwritableValue, kafkaMaxRecordBytes } from "../util/records.js";
import {
  CheckpointFolder,
  commitEntry,
  snapshotEntries,
  type CheckpointEntry,
  type ReadSegment,
  type RecoveredCheckpoint,
} from "./checkpoint-log.js";
import {
  KafkaCluster,
  KeyPartitioner,
  brokerError,
  requestSized,
  transactionalClientOptions,
  type BrokerAddress,
  type KafkaMessage,
} from "./connection.js";
import { InputFeed, NO_BYTES, type FeedInput } from "./input-feed.js";
import { processChosen } from "../runtime/input-chooser.js";
import type { Task } from "../runtime/task.js";
import type { ConnectorSinks } from "../runtime/connector-sinks.js";
import type { SinkRecord } from "../sinks/contract.js";
import { KafkaTopicReader, type FetchedRecord } from "./topic-reader.js";
import type { RunnableTask } from "./runnable-task.js";

/** Rates and latency shared by the sessions of one process. */
export interface SessionMeters {
  inputRate: RateMeter;
  outputRate: RateMeter;
  latency: LatencyHistogram;
}

/** What a session shares with the other sessions of its process. */
export interface SessionEnvironment {
  address: BrokerAddress;
  cluster: KafkaCluster;
  /** Partition count of every topic the task reads or writes. */
  partitionCounts: Map<string, number>;
  logger: (message: string) => void;
  meters: SessionMeters;
  checkpointIntervalMs: number;
  commitIntervalMs: number;
  /** A live task whose inputs bring nothing this long tells the other tasks it is idle (0: never). */
  idleTimeoutMs: number;
  maxBatch: number;
  onOutput?: OutputListener;
  /** What to do with checkpointed state of steps that changed (`--drop-state`, `--rename-state`). */
  stateChanges?: StateChanges;
}

export interface TaskBinding {
  /** For log lines: `nobroker`, `nobroker task 3`, `nobroker storage`. */
  label: string;
  pipeline: string;
  steps: string[];
  transactionalId: string;
  checkpointTopic: string;
  checkpointPartition: number;
  /** Partitions read, by topic. */
  inputs: Record<string, number[]>;
  /** Of those, the ones an --until-end run reads to the end they had at the start. */
  boundedInputs: string[];
  newTask(output: OutputCollector): RunnableTask;
  /** Tables and lake written directly by this task (the single task, or the storage writer). */
  tables?: TableOutputs;
  lake?: LakeOutputs;
  /** Topics written for other tasks (repartition, storage): not counted as records out. */
  internalTopics?: string[];
  /** Partition tasks: table updates and lake rows go to this topic, for the storage writer. */
  storageTopic?: string;
  /** Stop after the bounded inputs are read to their end and `complete` says so. */
  untilEnd: boolean;
  /** Besides the bounded inputs read to their end: is the task's work complete? */
  complete?(task: RunnableTask): boolean;
  /** Called once the task is complete, before its final commit (to tell downstream tasks). */
  finish?(output: OutputCollector): void;
  /** False once the process no longer holds this task (its session stops). */
  holds(): boolean;
  /** The user's sinks (`sinkTo`) of this task; none for the storage writer. */
  openSinks?(): Promise<ConnectorSinks | undefined>;
}

/** Lines for one partition of an internal topic, sent as one Kafka record. */
interface Pack {
  topic: string;
  partition: number;
  lines: string[];
  bytes: number;
}

/** The output records of the current transaction. */
class PendingOutputs implements OutputCollector {
  readonly messages: KafkaMessage[] = [];
  /** While recovering, topic outputs are already committed: drop them. */
  suppress = false;
  listener: OutputListener | undefined;
  tables: TableOutputs | undefined;
  lake: LakeOutputs | undefined;
  storageTopic: string | undefined;
  sinks: ConnectorSinks | undefined;
  /** Records for the pipeline's own output topics (not repartition or storage ones). */
  external = 0;

  constructor(
    private readonly partitioner: KeyPartitioner,
    internalTopics: readonly string[],
    /** The largest Kafka record written (KAFKA_MAX_RECORD_BYTES, src/util/records.ts). */
    private readonly maxRecordBytes: number,
  ) {
    for (const topic of internalTopics) this.packs.set(topic, []);
  }

  /**
   * A record the broker would refuse (key and value over maxRecordBytes) is UnwritableValue, which
   * the step writing it turns into a dead letter; units: UTF-16 units of key and value, at most a
   * third of their bytes, so that the common small record is never measured.
   */
  private checkSize(key: string | null, value: string, units: number): void {
    if (units * 3 <= this.maxRecordBytes) return;
    const bytes = Buffer.byteLength(value) + (key === null ? 0 : Buffer.byteLength(key));
    if (bytes > this.maxRecordBytes)
      throw new UnwritableValue(
        `a Kafka record of ${bytes} bytes is over the limit of ${this.maxRecordBytes} bytes (a broker's message.max.bytes is 1 MiB by default; WEIR_KAFKA_MAX_RECORD_BYTES raises Weir's limit for brokers that take more)`,
      );
  }

  /**
   * Records for internal topics (repartition, storage) are packed: the lines for one partition go
   * out as one Kafka record of up to PACK_BYTES, newline-separated (storage records are JSON lines,
   * which hold no newline; exchange frames say their own lengths: operators/exchange.ts).
   * That saves the per-record cost of Kafka's format, on both sides, for every record that
   * crosses an exchange.
   */
  private readonly packs = new Map<string, Pack[]>(); // internal topic -> pack by partition
  private packedLines = 0;

  append(topic: string, key: string | null, value: string, _timestamp: number, partition?: number): void {
    if (this.suppress) return;
    const packs = this.packs.get(topic);
    if (packs !== undefined) {
      this.checkSize(null, value, value.length);
      const p = partition ?? this.partitioner.partition(topic, key);
      const pack = (packs[p] ??= { topic, partition: p, lines: [], bytes: 0 });
      // A pack is one Kafka record: one that would grow over the limit goes out first.
      if (pack.lines.length > 0 && (pack.bytes + value.length + 1) * 3 > this.maxRecordBytes)
        this.flushPack(pack);
      pack.lines.push(value);
      pack.bytes += value.length + 1;
      this.packedLines++;
      if (pack.bytes >= PACK_BYTES) this.flushPack(pack);
      return;
    }
    this.checkSize(key, value, value.length + (key === null ? 0 : key.length));
    this.external++;
    this.messages.push({
      topic,
      partition: partition ?? this.partitioner.partition(topic, key),
      key: key === null ? undefined : Buffer.from(key),
      value: Buffer.from(value),
    });
    if (this.listener) this.listener(topic, key, value);
  }

  private flushPack(pack: Pack): void {
    if (pack.lines.length === 0) return;
    this.messages.push({
      topic: pack.topic,
      partition: pack.partition,
      value: Buffer.from(pack.lines.join("\n")),
    });
    this.packedLines -= pack.lines.length;
    pack.lines = [];
    pack.bytes = 0;
  }

  /** Outputs waiting for the next commit? */
  get pending(): boolean {
    return this.messages.length > 0 || this.packedLines > 0;
  }

  /** Every pack into `messages` (before a commit). */
  flushPacks(): void {
    if (this.packedLines === 0) return;
    for (const packs of this.packs.values()) for (const pack of packs) if (pack) this.flushPack(pack);
  }

  /** Drop what is pending (after a replay, whose outputs were committed already). */
  clear(): void {
    this.messages.length = 0;
    for (const packs of this.packs.values()) packs.length = 0;
    this.packedLines = 0;
    this.external = 0;
  }

  deliver(step: string, record: SinkRecord, origin: RecordContext): void {
    // While recovering, what the committed transactions delivered was committed by the sinks already.
    if (this.suppress) return;
    this.sinks!.deliver(step, record, origin);
  }

  upsert(table: string, key: string, value: unknown, ctx: RecordContext, seq: number, json?: string): void {
    if (this.storageTopic !== undefined)
      this.append(
        this.storageTopic,
        null,
        storageRecord(() => tableUpdateRecord(table, key, value, ctx)),
        ctx.timestamp,
        0,
      );
    else this.tables!.add(table, key, value, ctx, seq, json);
  }

  land(dataset: string, row: unknown, eventTime: number): void {
    if (this.storageTopic !== undefined)
      this.append(
        this.storageTopic,
        null,
        storageRecord(() => lakeRowRecord(dataset, row, eventTime)),
        eventTime,
        0,
      );
    else this.lake!.land(dataset, row, eventTime);
  }
}

/**
 * A table update or lake row as a record of the storage topic; a value that cannot be serialised
 * (nesting too deep for the tagged encoding) is UnwritableValue: a dead letter of the step.
 */
function storageRecord(make: () => string): string {
  try {
    return make();
  } catch (err) {
    throw new UnwritableValue(`cannot write the value as JSON: ${(err as Error).message}`, { cause: err });
  }
}

export class TaskSession {
  readonly task: RunnableTask;
  private readonly outputs: PendingOutputs;
  private producer: Producer | undefined;
  /** The user's sinks of this task, and the number of their last commit. */
  private sinks: ConnectorSinks | undefined;
  private sinkCheckpoint = 0;
  private feed: InputFeed | undefined;
  /**
   * Two or more partitions of the pipeline's input topics: their records are taken by the input
   * chooser (smallest event time first), the others (repartition, storage) as they come.
   */
  private chosen: FeedInput[] | undefined;
  private stopRequested = false;
  private wake: AbortController | undefined;
  // Progress since the last snapshot.
  private positions: TopicPositions = {};
  private segments: ReadSegment[] = [];
  private snapshotSequence = 0;
  private snapshotChunks = 0;
  private commitsSinceSnapshot = 0;
  private lastCommitAt = 0;
  private lastSnapshotAt = 0;
  private lastBroadcastAt = 0;
  private oldestUncommittedAppend = 0;
  private readonly scratch: FetchedRecord[] = [];
  /** Each table's last update number when the session started (for the test-only crash point). */
  private tableSeqsAtStart: Record<string, number> = {};
  // Metrics.
  /** Records read (inputs, repartition and storage topics). */
  recordsIn = 0;
  /** Records read of the pipeline's input topics. */
  inputRecordsIn = 0;
  recordsOut = 0;
  checkpointsWritten = 0;

  constructor(
    private readonly env: SessionEnvironment,
    readonly binding: TaskBinding,
  ) {
    const partitioner = new KeyPartitioner((topic) => env.partitionCounts.get(topic) ?? 1);
    this.outputs = new PendingOutputs(partitioner, binding.internalTopics ?? [], kafkaMaxRecordBytes());
    this.outputs.listener = env.onOutput;
    this.outputs.tables = binding.tables;
    this.outputs.lake = binding.lake;
    this.outputs.storageTopic = binding.storageTopic;
    this.task = binding.newTask(this.outputs);
  }

  get lastCheckpointAt(): number {
    return this.lastSnapshotAt;
  }

  /** Finish the current batch, commit a snapshot and return from `process`. */
  stop(): void {
    this.stopRequested = true;
    this.wake?.abort();
  }

  /** Fence older holders, restore the last committed checkpoint, and re-read what it accounts for. */
  async start(): Promise<void> {
    const { address } = this.env;
    const b = this.binding;
    // The producer first: initializing it fences an older holder and aborts its open transaction,
    // which is what lets the checkpoint partition be read to its (stable) end.
    this.producer = new Producer({
      ...transactionalClientOptions(address, `weir-${b.transactionalId}`),
      transactionalId: b.transactionalId,
      idempotent: true,
      acks: -1,
    });
    try {
      const fence = await this.producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await fence.cancel();
    } catch (err) {
      throw brokerError(address, "starting the transactional producer", err);
    }
    const recovered = await readCheckpoints(address, b.checkpointTopic, b.checkpointPartition);
    this.sinks = await b.openSinks?.();
    this.outputs.sinks = this.sinks;
    if (recovered !== undefined) {
      // The sinks' last commit: the newest committed transaction's. The last holder may have died
      // between that transaction and the sinks' commit: commit again (sinks' commits are idempotent).
      let last: SinkCommit | undefined = recovered.snapshot.sinks;
      for (const c of recovered.commits) if (c.sinks !== undefined) last = c.sinks;
      if (last !== undefined) {
        this.sinkCheckpoint = last.checkpoint;
        await this.sinks?.commit(last.prepared, last.checkpoint);
      }
    }
    if (recovered === undefined) await this.startFresh();
    else await this.restore(recovered.snapshot);
    const feed = (this.feed = new InputFeed(address));
    feed.start(b.inputs, this.positions);
    if (recovered !== undefined && recovered.commits.length > 0) await this.replay(recovered);
    this.task.forgetBroadcasts();
    // Two or more input partitions go through the input chooser; one is read batch by batch.
    const inputPartitions = Object.entries(b.inputs)
      .filter(([topic]) => b.boundedInputs.includes(topic))
      .flatMap(([topic, partitions]) => partitions.map((p) => [topic, p] as const));
    if (inputPartitions.length > 1)
      this.chosen = inputPartitions.map(([topic, p]) => feed.chooserInput(topic, p));
  }

  private async startFresh(): Promise<void> {
    // From the earliest record each input partition still holds (retention may have deleted some).
    this.positions = {};
    for (const [topic, partitions] of Object.entries(this.binding.inputs)) {
      const info = await this.env.cluster.describeTopic(topic);
      const parts: Record<string, number> = {};
      for (const p of partitions) parts[p] = info?.partitions[p]?.earliest ?? 0;
      this.positions[topic] = parts;
    }
    this.snapshotSequence = 0;
    this.snapshotChunks = 0;
    this.commitsSinceSnapshot = 0;
    // Tables and lake may hold output of an earlier state of this pipeline: number new ones after them.
    for (const { commit } of Object.values(this.binding.lake?.positions() ?? {}))
      this.snapshotSequence = Math.max(this.snapshotSequence, commit);
    for (const [table, seq] of Object.entries((await this.binding.tables?.lastSeqs()) ?? {}))
      this.task.continueTableSeq(table, seq);
    this.tableSeqsAtStart = this.task.tableSeqs();
    await this.commit(true);
  }

  private async restore(snapshot: PipelineCheckpoint): Promise<void> {
    this.snapshotSequence = snapshot.sequence;
    this.snapshotChunks = 0; // rewritten in full at the next snapshot; stale chunks are ignored by sequence
    this.commitsSinceSnapshot = 0;
    await this.binding.tables?.rollBackTo(snapshot.tables);
    // The compaction that follows a snapshot, again: the last holder may have died between its
    // snapshot's commit and that compaction (a no-op when it did not).
    await this.binding.tables?.compact(snapshot.tables);
    await this.binding.lake?.rollBackTo(snapshot.lake);
    this.task.restore(snapshot.task, this.env.stateChanges);
    this.tableSeqsAtStart = this.task.tableSeqs();
    for (const note of this.task.restoreNotes) this.env.logger(`${this.binding.label}: ${note}`);
    this.positions = structuredClone(snapshot.inputs);
    for (const [topic, partitions] of Object.entries(this.binding.inputs)) {
      const parts = (this.positions[topic] ??= {});
      for (const p of partitions) parts[p] ??= 0;
    }
    this.lastSnapshotAt = Date.now();
    this.env.logger(
      `${this.binding.label}: resumed from snapshot ${snapshot.sequence} (${snapshot.writtenAt})`,
    );
  }

  /** Re-read what the committed transactions after the snapshot read, outputs suppressed. */
  private async replay(recovered: RecoveredCheckpoint): Promise<void> {
    const feed = this.feed!;
    feed.unbounded = true;
    this.outputs.suppress = true;
    let replayed = 0;
    try {
      for (const commit of recovered.commits) {
        for (const [topic, partition, end] of commit.segments) {
          const pos = this.positions[topic];
          while (pos[partition] < end) {
            const batch = this.scratch;
            feed.takeUpTo(topic, partition, end, this.env.maxBatch, batch);
            if (batch.length === 0) {
              if (feed.error) throw feed.error;
              await feed.waitForFetch(1000);
              continue;
            }
            this.processBatch(topic, batch);
            replayed += batch.length;
            await this.binding.tables?.flush();
          }
          this.segments.push([topic, partition, end]);
        }
        this.commitsSinceSnapshot = commit.n;
      }
    } finally {
      this.outputs.suppress = false;
      feed.unbounded = false;
    }
    this.outputs.clear();
    this.segments = [];
    if (replayed > 0)
      this.env.logger(
        `${this.binding.label}: re-read ${replayed} record(s) of ${recovered.commits.length} committed transaction(s) after the snapshot`,
      );
  }

  private processBatch(topic: string, batch: FetchedRecord[]): void {
    const task = this.task;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i];
      // The bytes as they are: a record over the maximum size, or not UTF-8, is a dead letter.
      task.processRecord(topic, r.partition, r.offset, r.timestamp, r.value ?? NO_BYTES, r.headers);
    }
    const last = batch[batch.length - 1];
    this.positions[topic][last.partition] = last.offset + 1;
    this.recordsIn += batch.length;
    if (this.binding.boundedInputs.includes(topic)) this.inputRecordsIn += batch.length;
  }

  /**
   * Process until stopped, no longer held, or (--until-end) complete; returns true when complete.
   * Ends with a snapshot committed (unless the cluster failed).
   */
  async run(): Promise<boolean> {
    try {
      return await this.processLive();
    } catch (err) {
      // What the sinks were handed after the last commit is replayed by the next holder.
      await this.sinks?.rollback().catch(() => undefined);
      // Fenced by the process the group gave the task to: a handover, not a failure.
      if (!this.binding.holds()) {
        this.env.logger(`${this.binding.label}: handed over to another process`);
        return false;
      }
      throw err;
    }
  }

  private async processLive(): Promise<boolean> {
    const feed = this.feed!;
    const b = this.binding;
    const { meters } = this.env;
    const ends: Record<string, number[]> = {};
    if (b.untilEnd)
      for (const topic of b.boundedInputs) ends[topic] = await this.env.cluster.endOffsets(topic);
    let inputEnded = false;
    let watermarkMoved = false;
    let lastInputAt = Date.now();
    while (!this.stopRequested) {
      if (feed.error) throw feed.error;
      if (!b.holds()) break;
      const chosen = this.chosen === undefined ? 0 : this.chooseBatch(this.chosen);
      const batch = this.scratch;
      const topic = feed.take(this.env.maxBatch, batch);
      const now = Date.now();
      if (chosen > 0) {
        meters.inputRate.mark(chosen, now);
        lastInputAt = now;
        watermarkMoved = true;
      }
      if (topic !== undefined) {
        const first = batch[0].timestamp;
        if (this.oldestUncommittedAppend === 0 || first < this.oldestUncommittedAppend)
          this.oldestUncommittedAppend = first;
        this.processBatch(topic, batch);
        const last = batch[batch.length - 1];
        const seg = this.segments[this.segments.length - 1];
        const end = last.offset + 1;
        if (seg !== undefined && seg[0] === topic && seg[1] === last.partition) seg[2] = end;
        else this.segments.push([topic, last.partition, end]);
        if (b.boundedInputs.includes(topic)) {
          meters.inputRate.mark(batch.length, now);
          lastInputAt = now;
        }
        watermarkMoved = true;
      }
      this.task.tick();
      if (b.tables !== undefined) await b.tables.flush();
      // Watermarks go to the other tasks at most every BROADCAST_INTERVAL_MS while records flow, and
      // when idle: the receivers hold records until every sender's watermark has passed them.
      const idle = batch.length === 0 && chosen === 0;
      const idleTimeout = this.env.idleTimeoutMs;
      if (idle && !b.untilEnd && idleTimeout > 0 && now - lastInputAt >= idleTimeout) this.task.markIdle();
      if (watermarkMoved && (idle || now - this.lastBroadcastAt >= BROADCAST_INTERVAL_MS)) {
        this.task.broadcastWatermarks();
        this.lastBroadcastAt = now;
        watermarkMoved = false;
      }
      if (now - this.lastSnapshotAt >= this.env.checkpointIntervalMs) {
        await this.commit(true);
      } else if (
        (this.segments.length > 0 || this.outputs.pending || this.sinks?.buffered === true) &&
        (idle || now - this.lastCommitAt >= this.env.commitIntervalMs)
      ) {
        await this.commit(false);
      }
      if (idle) {
        if (b.untilEnd && this.readToEnd(ends)) {
          if (!inputEnded) {
            inputEnded = true;
            this.task.endOfInput();
            watermarkMoved = true;
            continue;
          }
          if (b.complete === undefined || b.complete(this.task)) {
            this.task.tick();
            this.task.broadcastWatermarks();
            b.finish?.(this.outputs);
            await b.tables?.flush();
            await this.commit(true);
            return true;
          }
        }
        this.wake = new AbortController();
        // The chooser waiting for a partition's fetch: records queued elsewhere do not wake it.
        if (this.chosen !== undefined && feed.size > 0) await feed.waitForFetch(250, this.wake.signal);
        else await feed.waitForData(250, this.wake.signal);
      } else if (feed.size === 0) {
        await yieldToEventLoop();
      }
    }
    this.task.broadcastWatermarks();
    await b.tables?.flush();
    await this.commit(true);
    return false;
  }

  /**
   * Up to maxBatch records of the chosen partitions, one at a time by the input chooser; each
   * switch of partition is a segment of the commit entry (replay reads them in that order).
   */
  private chooseBatch(inputs: FeedInput[]): number {
    const n = processChosen(this.task as Task, inputs, this.env.maxBatch, (_, r) => {
      if (this.oldestUncommittedAppend === 0 || r.timestamp < this.oldestUncommittedAppend)
        this.oldestUncommittedAppend = r.timestamp;
      const { topic, partition } = r;
      const end = r.offset + 1;
      this.positions[topic][partition] = end;
      const seg = this.segments[this.segments.length - 1];
      if (seg !== undefined && seg[0] === topic && seg[1] === partition) seg[2] = end;
      else this.segments.push([topic, partition, end]);
    });
    this.recordsIn += n;
    this.inputRecordsIn += n;
    return n;
  }

  private readToEnd(ends: Record<string, number[]>): boolean {
    const feed = this.feed!;
    for (const [topic, offsets] of Object.entries(ends)) {
      const pos = this.positions[topic];
      for (const p of this.binding.inputs[topic] ?? []) {
        const end = offsets[p] ?? 0;
        if ((pos[p] ?? 0) >= end) continue;
        if (feed.fetchedTo(topic, p) >= end && feed.queuedOf(topic, p) === 0) continue;
        return false;
      }
    }
    return true;
  }

  /**
   * One transaction: the outputs since the last commit, and either a commit entry or (with
   * `snapshot`) a full snapshot. Tables are flushed and the lake published before, so the
   * snapshot's table and lake positions are durable when it commits.
   */
  private async commit(snapshot: boolean): Promise<void> {
    const producer = this.producer!;
    const b = this.binding;
    // The user's sinks first: what they cannot deliver becomes dead letters of this transaction.
    let sinks: SinkCommit | undefined;
    if (this.sinks !== undefined) {
      const task = this.task;
      const written = await this.sinks.drain((origin, reason, step) =>
        task.deadLetter?.(origin, reason, step),
      );
      this.recordsOut += written;
      if (written > 0) crashPoint("after-sink-write"); // tests only
      const checkpoint = this.sinkCheckpoint + 1;
      sinks = { checkpoint, prepared: await this.sinks.prepareCommit(checkpoint) };
    }
    const entries: CheckpointEntry[] = [];
    let tableSeqs: Record<string, number> | undefined;
    if (snapshot) {
      await b.tables?.flush();
      const sequence = this.snapshotSequence + 1;
      await b.lake?.publish(sequence);
      tableSeqs = this.task.tableSeqs();
      const snap: PipelineCheckpoint = {
        version: CHECKPOINT_VERSION,
        pipeline: b.pipeline,
        steps: b.steps,
        writtenAt: new Date().toISOString(),
        sequence,
        inputs: this.positions,
        tables: tableSeqs,
        lake: b.lake?.positions() ?? {},
        ...(sinks !== undefined ? { sinks } : {}),
        task: this.task.snapshot(),
      };
      const written = snapshotEntries(snap, {
        chunks: this.snapshotChunks,
        commits: this.commitsSinceSnapshot,
      });
      entries.push(...written);
      this.snapshotChunks = written.filter(
        (e) => e.key.startsWith("snapshot/chunk/") && e.value !== null,
      ).length;
    } else {
      entries.push(
        commitEntry({
          snapshot: this.snapshotSequence,
          n: this.commitsSinceSnapshot + 1,
          segments: this.segments,
          ...(sinks !== undefined ? { sinks } : {}),
        }),
      );
    }
    this.outputs.flushPacks();
    const messages = this.outputs.messages;
    const count = this.outputs.external;
    for (const e of entries) {
      messages.push({
        topic: b.checkpointTopic,
        partition: b.checkpointPartition,
        key: Buffer.from(e.key),
        value: e.value === null ? undefined : Buffer.from(e.value),
      });
    }
    try {
      const tx = await producer.beginTransaction();
      try {
        // Produce requests stay well under the broker's message.max.bytes (1 MB by default): a
        // partition's records of one request form one batch, which must fit.
        for (const part of requestSized(messages)) await tx.send({ messages: part });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      throw brokerError(this.env.address, `committing a transaction of ${b.label}`, err);
    }
    messages.length = 0;
    this.outputs.external = 0;
    this.segments = [];
    if (sinks !== undefined) {
      this.sinkCheckpoint = sinks.checkpoint;
      crashPoint("before-sink-commit"); // tests only
      await this.sinks!.commit(sinks.prepared, sinks.checkpoint);
    }
    const now = Date.now();
    this.lastCommitAt = now;
    if (count > 0) {
      this.recordsOut += count;
      this.env.meters.outputRate.mark(count, now);
      if (this.oldestUncommittedAppend > 0)
        this.env.meters.latency.record(now - this.oldestUncommittedAppend);
    }
    this.oldestUncommittedAppend = 0;
    if (snapshot) {
      this.snapshotSequence++;
      this.commitsSinceSnapshot = 0;
      this.lastSnapshotAt = now;
      this.checkpointsWritten++;
      if (
        b.tables !== undefined &&
        Object.entries(tableSeqs!).some(([t, s]) => s > (this.tableSeqsAtStart[t] ?? 0))
      )
        crashPoint("after-checkpoint"); // tests only: a kill between the snapshot and compaction
      b.lake?.checkpointed(this.snapshotSequence);
      await b.tables?.compact(tableSeqs!);
    } else {
      this.commitsSinceSnapshot++;
    }
  }

  /** Records not read yet of this task's bounded inputs (null before every partition was fetched). */
  inputLag(): number | null {
    return this.feed?.lag(this.positions, this.binding.boundedInputs) ?? null;
  }

  async close(): Promise<void> {
    const feed = this.feed;
    const producer = this.producer;
    const sinks = this.sinks;
    this.feed = undefined;
    this.producer = undefined;
    this.sinks = undefined;
    await feed?.close();
    if (producer) await closeQuietly(producer);
    await sinks?.close();
  }
}

/**
 * How often, at most, a task tells the others its watermark while records flow. Receivers hold
 * each record until every sender's watermark has passed its stamp (operators/exchange.ts), so this
 * bounds how long records wait after a keyBy; each broadcast adds one small frame per partition to
 * the next transaction.
 */
const BROADCAST_INTERVAL_MS = 10;

/** Characters per packed record of an internal topic. */
const PACK_BYTES = 64 * 1024;

/** Read one partition of a checkpoint topic to its stable end and fold it. */
export async function readCheckpoints(
  address: BrokerAddress,
  topic: string,
  partition = 0,
): Promise<RecoveredCheckpoint | undefined> {
  const cluster = new KafkaCluster(address);
  let end: number;
  let start: number;
  try {
    const info = await cluster.describeTopic(topic);
    end = info?.partitions[partition]?.latest ?? 0;
    start = info?.partitions[partition]?.earliest ?? 0;
  } finally {
    await cluster.close();
  }
  if (end <= start) return undefined;
  const reader = new KafkaTopicReader(address, topic, { clientId: "weir-checkpoints" });
  const folder = new CheckpointFolder();
  try {
    let next = start;
    while (next < end) {
      for (const f of await reader.fetch([{ partition, offset: next }], 200)) {
        if (f.outOfRange) throw new Error(`offset ${next} of ${topic}/${partition} is not in the log`);
        for (const r of f.records)
          folder.add(
            r.key?.toString("utf8") ?? "",
            r.value && r.value.length > 0 ? r.value.toString("utf8") : null,
          );
        next = Math.max(next, f.next);
      }
    }
  } catch (err) {
    throw brokerError(address, `reading checkpoints from ${topic}`, err);
  } finally {
    await reader.close();
  }
  return folder.result();
}

/** Close a client whose broker may be gone, without waiting for it. */
export async function closeQuietly(client: { close(force?: boolean): Promise<void> }): Promise<void> {
  try {
    await client.close(true);
  } catch {
    // the connection is broken already
  }
}
