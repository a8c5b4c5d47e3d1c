/**
 * Runs a pipeline on a Kafka cluster with exactly-once results.
 *
 * The same Task as on the embedded log processes the records; what changes is how progress is made
 * durable. Everything the pipeline writes to Kafka goes through one transactional producer
 * (transactional id `weir.<pipeline>`):
 *
 *   every commit interval (default 20 ms, while there is progress):
 *     begin; send the outputs since the last commit + a small commit entry (input positions and the
 *     order partitions were read in) to the checkpoint topic; commit
 *   every checkpoint interval (default 5 s): the same, plus a snapshot of the state (and the
 *     table and lake positions) instead of the commit entry
 *
 * Outputs become visible to read-committed consumers when their transaction commits, together with
 * the checkpoint entry that accounts for them. Recovery (after a crash, or in-process after the
 * cluster failed a request) restores the last snapshot, rolls tables and lake back to it, and
 * re-reads the input of the commits after it in the recorded order with topic outputs suppressed:
 * the state then stands exactly where the last committed transaction left it, and processing goes
 * on. Starting the producer fences any older process with the same transactional id and aborts
 * its open transaction, so a zombie cannot commit after a takeover.
 */
import { Producer } from "@platformatic/kafka";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { PipelineDefinition } from "../api/pipeline.js";
import { WeirError } from "../errors.js";
import type { TopicPositions } from "../runtime/checkpoint.js";
import type { OutputListener } from "../runtime/log-outputs.js";
import { StatusPublisher } from "../runtime/status.js";
import {
  LatencyHistogram,
  RateMeter,
  latencyBuckets,
  type PipelineMetricsSnapshot,
} from "../runtime/metrics.js";
import type { RunSummary } from "../runtime/runner.js";
import { LakeOutputs, TableOutputs } from "../runtime/storage-outputs.js";
import { Task } from "../runtime/task.js";
import {
  CHECKPOINT_TOPIC_CONFIG,
  CheckpointFolder,
  checkpointTopic,
  commitEntry,
  snapshotEntries,
  type CheckpointEntry,
  type KafkaSnapshot,
  type ReadSegment,
  type RecoveredCheckpoint,
} from "./checkpoint-log.js";
import {
  KafkaCluster,
  KeyPartitioner,
  brokerError,
  parseBrokerUrl,
  transactionalClientOptions,
  type BrokerAddress,
  type KafkaMessage,
} from "./connection.js";
import { InputFeed } from "./input-feed.js";
import { KafkaTopicReader, type FetchedRecord } from "./topic-reader.js";
import { PipelineMembership } from "./membership.js";

export interface KafkaRunnerOptions {
  /** `kafka://host:port[,host:port]`. */
  broker: string;
  /** Where tables (SQLite) and lake files live. */
  dataDir: string;
  /** Stop (and close every window) once the input topics are read to their end at start. */
  untilEnd?: boolean;
  /** How often the state is snapshotted; default 5000 ms. */
  checkpointIntervalMs?: number;
  /** How often outputs are committed (made visible) while records flow; default 20 ms. */
  commitIntervalMs?: number;
  /** Records taken from one partition per step; default 2000. */
  maxBatch?: number;
  onOutput?: OutputListener;
  logger?: (message: string) => void;
  tableStore?: string;
  /** Give up when the cluster stays unreachable this long; default: never (keep retrying). */
  maxOutageMs?: number;
}

/** The output records of the current transaction. */
class PendingOutputs {
  readonly messages: KafkaMessage[] = [];
  /** While recovering, topic outputs are already committed: drop them. */
  suppress = false;
  written = 0;
  listener: OutputListener | undefined;

  constructor(private readonly partitioner: KeyPartitioner) {}

  append(topic: string, key: string | null, value: string): void {
    if (this.suppress) return;
    this.messages.push({
      topic,
      partition: this.partitioner.partition(topic, key),
      key: key === null ? undefined : Buffer.from(key),
      value: Buffer.from(value),
    });
    if (this.listener) this.listener(topic, key, value);
  }
}

export class KafkaRunner {
  private readonly address: BrokerAddress;
  private readonly checkpointIntervalMs: number;
  private readonly commitIntervalMs: number;
  private readonly maxBatch: number;
  private readonly logger: (message: string) => void;
  private readonly checkpointTopicName: string;
  private task!: Task;
  private outputs!: PendingOutputs;
  private cluster: KafkaCluster | undefined;
  private producer: Producer | undefined;
  private feed: InputFeed | undefined;
  private membership: PipelineMembership | undefined;
  private inputPartitions: Record<string, number> = {};
  /** The cluster answered at least once (later failures are outages to wait out). */
  private connectedOnce = false;
  private storageOpen = false;
  /** When the current session started processing (0 when it has not). */
  private activeSince = 0;
  private tables: TableOutputs | undefined;
  private lake: LakeOutputs | undefined;
  private partitionCounts = new Map<string, number>();
  private stopping = false;
  /** Another process of the consumer group is running the pipeline. */
  private standingBy = false;
  private wake: AbortController | undefined;
  // Progress since the last snapshot.
  private positions: TopicPositions = {};
  private segments: ReadSegment[] = [];
  private snapshotSequence = 0;
  private snapshotChunks = 0;
  private commitsSinceSnapshot = 0;
  private lastCommitAt = 0;
  private lastSnapshotAt = 0;
  private oldestUncommittedAppend = 0;
  // Metrics.
  private recordsIn = 0;
  private recordsOut = 0;
  private transactions = 0;
  private checkpointsWritten = 0;
  private readonly startedAt = new Date();
  private readonly inputRate = new RateMeter();
  private readonly outputRate = new RateMeter();
  private readonly latency = new LatencyHistogram();
  private readonly scratch: FetchedRecord[] = [];

  constructor(
    readonly definition: PipelineDefinition,
    private readonly options: KafkaRunnerOptions,
  ) {
    this.address = parseBrokerUrl(options.broker);
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 5000;
    this.commitIntervalMs = options.commitIntervalMs ?? 20;
    this.maxBatch = options.maxBatch ?? 2000;
    this.logger = options.logger ?? ((m) => process.stderr.write(`weir: ${m}\n`));
    this.checkpointTopicName = checkpointTopic(definition.name);
    this.newTask();
  }

  /** The running task (a new one after each in-process recovery). */
  get currentTask(): Task {
    return this.task;
  }

  private newTask(): void {
    const partitioner = new KeyPartitioner((topic) => this.partitionCounts.get(topic) ?? 1);
    this.outputs = new PendingOutputs(partitioner);
    this.outputs.listener = this.options.onOutput;
    this.task = new Task(this.definition.graph, {
      append: (t, k, v) => this.outputs.append(t, k, v),
      upsert: (table, key, value, ctx, seq) => this.tables!.add(table, key, value, ctx, seq),
      land: (dataset, row, eventTime) => this.lake!.land(dataset, row, eventTime),
    });
  }

  /** Finish the current batch, commit a snapshot and return (SIGINT/SIGTERM). */
  stop(): void {
    this.stopping = true;
    this.wake?.abort();
  }

  async run(): Promise<RunSummary> {
    let outageSince = 0;
    let delay = 250;
    const status = new StatusPublisher(
      this.definition.graph,
      { dataDir: this.options.dataDir, engine: "kafka", broker: this.options.broker },
      () => ({ state: this.standingBy ? "standby" : "running", metrics: this.metrics() }),
    );
    status.start();
    try {
      for (;;) {
        try {
          const done = await this.session().catch((err: unknown) => {
            throw isKafkaClientError(err) ? brokerError(this.address, "a request", err) : err;
          });
          if (done || this.stopping) break;
        } catch (err) {
          // A cluster never reached (a wrong address, nothing listening) is the user's to fix: one line.
          if (!isRecoverable(err) || this.stopping || !this.connectedOnce) throw err;
          const now = Date.now();
          if (outageSince === 0) outageSince = now;
          if (this.options.maxOutageMs !== undefined && now - outageSince > this.options.maxOutageMs)
            throw err;
          this.logger(
            `${this.definition.name}: ${(err as Error).message}; recovering from the last committed checkpoint in ${delay} ms`,
          );
          await this.closeClients();
          // Back off while failures follow each other; start over after a long healthy stretch.
          if (this.activeSince > 0 && now - this.activeSince > 60_000) delay = 250;
          this.activeSince = 0;
          await sleep(delay, () => this.stopping);
          delay = Math.min(delay * 2, 5000);
          this.newTask();
          continue;
        }
      }
      return {
        recordsIn: this.recordsIn,
        recordsOut: this.recordsOut,
        deadLetters: this.task.deadLetters,
        lateRecords: this.task.lateRecords,
        checkpoints: this.checkpointsWritten,
        alreadyComplete: false,
      };
    } finally {
      status.stop();
      await this.closeClients();
      await this.tables?.close();
      await this.lake?.close();
    }
  }

  private async openStorage(): Promise<void> {
    const { dataDir } = this.options;
    if (this.task.tables().length > 0) {
      this.tables = await TableOutputs.open(
        this.options.tableStore ?? this.definition.tableStore,
        dataDir,
        this.task.tables(),
        this.logger,
        () => this.stopping,
      );
    }
    if (this.task.lakeDatasets().length > 0)
      this.lake = await LakeOutputs.open(dataDir, this.task.lakeDatasets());
  }

  /** One connection to the cluster: recover, then process until done, stopped or failed. */
  private async session(): Promise<boolean> {
    const cluster = (this.cluster = new KafkaCluster(this.address));
    const name = this.definition.name;
    // Topics: inputs (created empty when missing), outputs, and the checkpoint topic.
    for (const topic of this.task.inputTopics())
      this.partitionCounts.set(topic, await cluster.ensureTopic(topic, { partitions: 1 }));
    this.connectedOnce = true;
    for (const { topic, partitions } of this.task.outputTopics())
      this.partitionCounts.set(topic, await cluster.ensureTopic(topic, { partitions }));
    await cluster.ensureTopic(this.checkpointTopicName, { partitions: 1, config: CHECKPOINT_TOPIC_CONFIG });

    const inputs: Record<string, number> = {};
    for (const topic of this.task.inputTopics()) inputs[topic] = this.partitionCounts.get(topic)!;
    this.inputPartitions = inputs;

    // One active process per pipeline: the leader of group weir.<pipeline> holds every partition.
    const membership = (this.membership = new PipelineMembership(this.address, `weir.${name}`));
    await membership.join(Object.keys(inputs));
    const active = await membership.waitUntilActive(
      inputs,
      () => this.stopping,
      () => {
        this.standingBy = true;
        this.logger(
          `${name}: standing by: another process is running this pipeline (consumer group weir.${name}); taking over if it stops`,
        );
      },
    );
    this.standingBy = false;
    if (!active) return true;
    // Tables and lake are opened by the active process only (a standby on the same machine would
    // find the lake datasets locked by the active one).
    if (!this.storageOpen) {
      await this.openStorage();
      this.storageOpen = true;
    }

    // The producer next: initializing it fences an older process and aborts its open transaction,
    // which is what lets the checkpoint topic be read to its (stable) end.
    this.producer = new Producer({
      ...transactionalClientOptions(this.address, `weir-${name}`),
      transactionalId: `weir.${name}`,
      idempotent: true,
      acks: -1,
    });
    try {
      const fence = await this.producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await fence.cancel();
    } catch (err) {
      throw brokerError(this.address, "starting the transactional producer", err);
    }

    const recovered = await readCheckpoints(this.address, this.checkpointTopicName);
    const ends: Record<string, number[]> = {};
    if (this.options.untilEnd)
      for (const topic of Object.keys(inputs)) ends[topic] = await cluster.endOffsets(topic);

    if (recovered === undefined) await this.startFresh(inputs);
    else await this.restore(recovered.snapshot);

    const feed = (this.feed = new InputFeed(this.address));
    feed.start(inputs, this.positions);
    if (recovered !== undefined && recovered.commits.length > 0) await this.replay(recovered);
    this.logger(
      `${name}: active: processing ${Object.entries(inputs)
        .map(([t, n]) => `${t} (${n} partition${n === 1 ? "" : "s"})`)
        .join(", ")}`,
    );
    this.activeSince = Date.now();
    return this.processLive(ends);
  }

  private async startFresh(inputs: Record<string, number>): Promise<void> {
    // From the earliest record each input partition still holds (retention may have deleted some).
    this.positions = {};
    for (const [topic, count] of Object.entries(inputs)) {
      const info = await this.cluster!.describeTopic(topic);
      const parts: Record<string, number> = {};
      for (let p = 0; p < count; p++) parts[p] = info?.partitions[p]?.earliest ?? 0;
      this.positions[topic] = parts;
    }
    this.snapshotSequence = 0;
    this.snapshotChunks = 0;
    this.commitsSinceSnapshot = 0;
    // Tables and lake may hold output of an earlier state of this pipeline: number new ones after them.
    for (const { commit } of Object.values(this.lake?.positions() ?? {}))
      this.snapshotSequence = Math.max(this.snapshotSequence, commit);
    for (const [table, seq] of Object.entries((await this.tables?.lastSeqs()) ?? {}))
      this.task.continueTableSeq(table, seq);
    await this.commit(true);
  }

  private async restore(snapshot: KafkaSnapshot): Promise<void> {
    this.snapshotSequence = snapshot.sequence;
    this.snapshotChunks = 0; // rewritten in full at the next snapshot; stale chunks are ignored by sequence
    this.commitsSinceSnapshot = 0;
    await this.tables?.rollBackTo(snapshot.tables);
    await this.lake?.rollBackTo(snapshot.lake);
    this.task.restore(snapshot.task);
    this.positions = structuredClone(snapshot.positions);
    for (const topic of this.task.inputTopics()) {
      const parts = (this.positions[topic] ??= {});
      for (let p = 0; p < (this.partitionCounts.get(topic) ?? 1); p++) parts[p] ??= 0;
    }
    this.lastSnapshotAt = Date.now();
    this.logger(
      `${this.definition.name}: resumed from snapshot ${snapshot.sequence} (${snapshot.writtenAt})`,
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
            feed.takeUpTo(topic, partition, end, this.maxBatch, batch);
            if (batch.length === 0) {
              if (feed.error) throw feed.error;
              await feed.waitForData(1000);
              continue;
            }
            this.process(topic, batch);
            replayed += batch.length;
            await this.tables?.flush();
          }
          this.segments.push([topic, partition, end]);
        }
        this.commitsSinceSnapshot = commit.n;
      }
    } finally {
      this.outputs.suppress = false;
      feed.unbounded = false;
    }
    this.outputs.messages.length = 0;
    this.segments = [];
    if (replayed > 0)
      this.logger(
        `${this.definition.name}: re-read ${replayed} record(s) of ${recovered.commits.length} committed transaction(s) after the snapshot`,
      );
  }

  private process(topic: string, batch: FetchedRecord[]): void {
    const task = this.task;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i];
      task.processLine(
        topic,
        r.partition,
        r.offset,
        r.timestamp,
        r.value === null ? "" : r.value.toString("utf8"),
        r.headers,
      );
    }
    const last = batch[batch.length - 1];
    this.positions[topic][last.partition] = last.offset + 1;
    this.recordsIn += batch.length;
  }

  private async processLive(ends: Record<string, number[]>): Promise<boolean> {
    const feed = this.feed!;
    const untilEnd = this.options.untilEnd === true;
    while (!this.stopping) {
      if (feed.error) throw feed.error;
      const batch = this.scratch;
      const topic = feed.take(this.maxBatch, batch);
      const now = Date.now();
      if (topic !== undefined) {
        const first = batch[0].timestamp;
        if (this.oldestUncommittedAppend === 0 || first < this.oldestUncommittedAppend)
          this.oldestUncommittedAppend = first;
        this.process(topic, batch);
        const last = batch[batch.length - 1];
        const seg = this.segments[this.segments.length - 1];
        const end = last.offset + 1;
        if (seg !== undefined && seg[0] === topic && seg[1] === last.partition) seg[2] = end;
        else this.segments.push([topic, last.partition, end]);
        this.inputRate.mark(batch.length, now);
      }
      this.task.tick();
      if (this.tables !== undefined) await this.tables.flush();
      if (now - this.lastSnapshotAt >= this.checkpointIntervalMs) {
        await this.commit(true);
      } else if (
        (this.segments.length > 0 || this.outputs.messages.length > 0) &&
        (batch.length === 0 || now - this.lastCommitAt >= this.commitIntervalMs)
      ) {
        await this.commit(false);
      }
      if (batch.length === 0) {
        if (untilEnd && this.readToEnd(ends)) {
          this.task.endOfInput();
          await this.tables?.flush();
          await this.commit(true);
          return true;
        }
        this.wake = new AbortController();
        await feed.waitForData(250, this.wake.signal);
      } else if (feed.size === 0) {
        await yieldToEventLoop();
      }
    }
    await this.tables?.flush();
    await this.commit(true);
    return true;
  }

  private readToEnd(ends: Record<string, number[]>): boolean {
    for (const [topic, offsets] of Object.entries(ends)) {
      const pos = this.positions[topic];
      for (let p = 0; p < offsets.length; p++) {
        if ((pos[p] ?? 0) >= offsets[p]) continue;
        if (this.feed!.fetchedTo(topic, p) >= offsets[p] && this.feed!.queuedOf(topic, p) === 0) continue;
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
    if (!this.membership!.holdsAll(this.inputPartitions)) {
      throw new WeirError(
        "BROKER",
        `kafka ${this.address.url}: this process no longer holds the partitions of ${this.definition.name} (another process took over)`,
      );
    }
    const entries: CheckpointEntry[] = [];
    let tableSeqs: Record<string, number> | undefined;
    if (snapshot) {
      await this.tables?.flush();
      const sequence = this.snapshotSequence + 1;
      await this.lake?.publish(sequence);
      tableSeqs = this.task.tableSeqs();
      const snap: KafkaSnapshot = {
        version: 1,
        pipeline: this.definition.name,
        steps: this.definition.graph.nodes.map((n) => n.id),
        writtenAt: new Date().toISOString(),
        sequence,
        positions: this.positions,
        tables: tableSeqs,
        lake: this.lake?.positions() ?? {},
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
        }),
      );
    }
    const messages = this.outputs.messages;
    const count = messages.length;
    for (const e of entries) {
      messages.push({
        topic: this.checkpointTopicName,
        partition: 0,
        key: Buffer.from(e.key),
        value: e.value === null ? undefined : Buffer.from(e.value),
      });
    }
    try {
      const tx = await producer.beginTransaction();
      try {
        await tx.send({ messages });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      throw brokerError(this.address, "committing a transaction", err);
    }
    messages.length = 0;
    this.segments = [];
    this.transactions++;
    const now = Date.now();
    this.lastCommitAt = now;
    if (count > 0) {
      this.recordsOut += count;
      this.outputRate.mark(count, now);
      if (this.oldestUncommittedAppend > 0) this.latency.record(now - this.oldestUncommittedAppend);
    }
    this.oldestUncommittedAppend = 0;
    if (snapshot) {
      this.snapshotSequence++;
      this.commitsSinceSnapshot = 0;
      this.lastSnapshotAt = now;
      this.checkpointsWritten++;
      this.lake?.checkpointed(this.snapshotSequence);
      await this.tables?.compact(tableSeqs!);
    } else {
      this.commitsSinceSnapshot++;
    }
  }

  metrics(): PipelineMetricsSnapshot {
    const now = Date.now();
    const w = this.task.watermark();
    return {
      pipeline: this.definition.name,
      startedAt: this.startedAt.toISOString(),
      recordsIn: this.recordsIn,
      inputRatePerSec: this.inputRate.rate(now),
      recordsOut: this.recordsOut,
      outputRatePerSec: this.outputRate.rate(now),
      deadLetters: this.task.deadLetters,
      lateRecords: this.task.lateRecords,
      watermark: Number.isFinite(w) ? w : null,
      watermarkLagMs: Number.isFinite(w) ? now - w : null,
      stateSize: this.task.stateSize(),
      inputLag: this.feed?.lag(this.positions) ?? null,
      latencyMs: {
        p50: this.latency.percentile(50),
        p99: this.latency.percentile(99),
        max: this.latency.max,
        count: this.latency.count,
      },
      latencyHistogram: latencyBuckets(this.latency),
      checkpoints: this.checkpointsWritten,
      lastCheckpointAt: this.lastSnapshotAt > 0 ? new Date(this.lastSnapshotAt).toISOString() : null,
      steps: this.task.metrics(),
    };
  }

  private async closeClients(): Promise<void> {
    const feed = this.feed;
    const producer = this.producer;
    const cluster = this.cluster;
    const membership = this.membership;
    this.membership = undefined;
    this.feed = undefined;
    this.producer = undefined;
    this.cluster = undefined;
    await feed?.close();
    if (producer) await closeQuietly(producer);
    await cluster?.close();
    await membership?.close();
  }
}

/** Read the checkpoint topic to its stable end and fold it. */
export async function readCheckpoints(
  address: BrokerAddress,
  topic: string,
): Promise<RecoveredCheckpoint | undefined> {
  const cluster = new KafkaCluster(address);
  let end: number;
  let start: number;
  try {
    const info = await cluster.describeTopic(topic);
    end = info?.partitions[0]?.latest ?? 0;
    start = info?.partitions[0]?.earliest ?? 0;
  } finally {
    await cluster.close();
  }
  if (end <= start) return undefined;
  const reader = new KafkaTopicReader(address, topic, { clientId: "weir-checkpoints" });
  const folder = new CheckpointFolder();
  try {
    let next = start;
    while (next < end) {
      for (const f of await reader.fetch([{ partition: 0, offset: next }], 200)) {
        if (f.outOfRange) throw new Error(`offset ${next} of ${topic} is not in the log`);
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

/** Errors of the Kafka client library carry codes like PLT_KFK_NETWORK. */
function isKafkaClientError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("PLT_KFK_");
}

/**
 * Cluster errors are retried from the last committed checkpoint, including being fenced: another
 * process took the pipeline over, and this one goes back to standing by.
 */
function isRecoverable(err: unknown): boolean {
  if (!(err instanceof WeirError) || err.code !== "BROKER") return false;
  return !/AUTHORIZATION|AUTHENTICATION/i.test(describe(err));
}

function describe(err: unknown): string {
  let text = "";
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    const x = e as { message?: string; errors?: unknown[]; cause?: unknown };
    text += ` ${x.message ?? ""}`;
    if (Array.isArray(x.errors)) text += x.errors.map((y) => ` ${(y as Error)?.message ?? ""}`).join("");
    e = x.cause;
  }
  return text;
}

function sleep(ms: number, stopped: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const tick = () => (stopped() || Date.now() >= end ? resolve() : setTimeout(tick, 50));
    tick();
  });
}
