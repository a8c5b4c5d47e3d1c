/**
 * Runs a pipeline on the embedded log: live on its source topics, or bounded on a file.
 *
 * The loop: read a batch, feed it record by record to the Task, append the batch's outputs, and
 * every `checkpointIntervalMs` (and at shutdown) write a checkpoint. The Task processes one record
 * at a time, so batch boundaries never change what comes out (DESIGN.md §4, Determinism).
 */
import { resolve } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { PipelineDefinition } from "../api/pipeline.js";
import { WeirError } from "../errors.js";
import type { EmbeddedLog, LogRecord, PartitionReader } from "../log/index.js";
import {
  CheckpointStore,
  CHECKPOINT_VERSION,
  type FilePosition,
  type PipelineCheckpoint,
  type TopicPositions,
} from "./checkpoint.js";
import { LogOutputs, type OutputListener } from "./log-outputs.js";
import { LakeOutputs, TableOutputs } from "./storage-outputs.js";
import { ConnectorSinks } from "./connector-sinks.js";
import type { Logger } from "../util/logger.js";
import { LatencyHistogram, RateMeter, latencyBuckets, type PipelineMetricsSnapshot } from "./metrics.js";
import { StatusPublisher } from "./status.js";
import { StagedRecord, Task } from "./task.js";
import { PartitionTasks } from "./partition-tasks.js";
import type { OutputCollector } from "../operators/types.js";
import { processChosen, type ChosenInput, type StagingTask } from "./input-chooser.js";
import { resolveInputFiles, type TopicFile } from "./file-inputs.js";
import { crashPoint } from "./crash-points.js";
import { DEFAULT_CHUNK_BYTES, LineFile } from "../util/lines.js";
import { lineProblem } from "../util/records.js";
import type { StateChanges } from "./step-identity.js";
import {
  deadLetterRatioExceeded,
  failingStepMessage,
  ratioExceededError,
  type DeadLetterLimit,
} from "./dead-letters.js";

export interface RunnerOptions {
  log: EmbeddedLog;
  /**
   * Bounded run: this file (JSON lines) is the input of the pipeline's source topic. A pipeline
   * reading several topics takes a directory holding `<topic>.jsonl` per source topic, or
   * `topic=FILE,topic=FILE` (src/runtime/file-inputs.ts).
   */
  inputFile?: string;
  /** Bounded run over one file per source topic (instead of `inputFile`). */
  inputFiles?: Record<string, string>;
  /** Live run: stop (and close every window) once the input topics are read to their current end. */
  untilEnd?: boolean;
  /** Default 5000 ms. */
  checkpointIntervalMs?: number;
  /** Records read per partition per batch; default 1000. */
  maxBatch?: number;
  /**
   * A live run over several input partitions: a partition that brought no record for this long is
   * left out of its source's watermark until it brings one (DESIGN.md §4); default 5000 ms, 0: never.
   * With `untilEnd`, a partition read to its end is left out at once.
   */
  idleTimeoutMs?: number;
  /** Told about every output record (e.g. `weir demo` prints alerts). */
  onOutput?: OutputListener;
  /** Progress and recovery messages. */
  logger?: (message: string) => void;
  /** Where versioned tables live: "sqlite" (default, in the data directory), "sqlite:/path.db" or "postgres://...". */
  tableStore?: string;
  /** What to do with checkpointed state of steps that changed (`--drop-state`, `--rename-state`). */
  stateChanges?: StateChanges;
  /**
   * Forget the pipeline's checkpoint first (`weir run --from-scratch`): state and input positions
   * start over; outputs already written are kept.
   */
  fromScratch?: boolean;
  /** Called once the pipeline has recovered (or started fresh) and begins reading its input. */
  onStarted?: () => void;
  /**
   * Warnings: a step failing on every record (runtime/dead-letters.ts), once per step. Default:
   * `logger`.
   */
  warn?: (message: string) => void;
  /**
   * Checkpoint and stop with a DEAD_LETTER_RATIO error once more than this share (0-1) of the
   * records read became dead letters, evaluated after `minRecords` (default 1000) records.
   */
  deadLetterLimit?: DeadLetterLimit;
  /** What the user's sinks (`sinkTo`) log through; default: `logger` and `warn`. */
  sinkLogger?: Logger;
}

export interface RunSummary {
  recordsIn: number;
  recordsOut: number;
  deadLetters: number;
  lateRecords: number;
  checkpoints: number;
  /** The bounded input had been processed to its end by an earlier run: nothing was done. */
  alreadyComplete: boolean;
}

/** A one-file run reads 4 MiB at a time (a longer line, up to the maximum record size, grows the buffer). */
const FILE_CHUNK_BYTES = DEFAULT_CHUNK_BYTES;
/** A run over several files reads each 1 MiB at a time. */
const MULTI_FILE_CHUNK_BYTES = 1024 * 1024;

export class Runner {
  /** The pipeline's task; its partition tasks when a live run's input topics have several partitions. */
  readonly task: Task | PartitionTasks;
  private readonly outputs: LogOutputs;
  private readonly store: CheckpointStore;
  private readonly checkpointIntervalMs: number;
  private readonly maxBatch: number;
  private readonly logger: (message: string) => void;
  private stopping = false;
  private wake: AbortController | undefined;
  private sequence = 0;
  private lastCheckpointAt = 0;
  private topicPositions: TopicPositions = {};
  /** A bounded run: each input file's position. */
  private filePositions: FilePosition[] | undefined;
  private recordsIn = 0;
  private readonly startedAt = new Date();
  private readonly inputRate = new RateMeter();
  private readonly outputRate = new RateMeter();
  private readonly latency = new LatencyHistogram();
  private checkpointsWritten = 0;
  private closed = false;
  private lastYieldAt = 0;
  private liveReaders: Array<{ reader: PartitionReader }> = [];
  private tables: TableOutputs | undefined;
  private lake: LakeOutputs | undefined;
  /** The user's sinks (`sinkTo`), when the pipeline has any. */
  private sinks: ConnectorSinks | undefined;
  /** Records handed to the user's sinks (counted as records out). */
  private delivered = 0;
  /** Each table's last update number when this process started (for the test-only crash point). */
  private tableSeqsAtStart: Record<string, number> = {};

  constructor(
    readonly definition: PipelineDefinition,
    private readonly options: RunnerOptions,
  ) {
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 5000;
    this.maxBatch = options.maxBatch ?? 1000;
    this.logger = options.logger ?? ((m) => process.stderr.write(`weir: ${m}\n`));
    this.store = new CheckpointStore(options.log.dataDir, definition.name);
    const output: OutputCollector = {
      append: (t, k, v, ts) => this.outputs.append(t, k, v, ts),
      upsert: (table, key, value, ctx, seq, json) => this.tables!.add(table, key, value, ctx, seq, json),
      land: (dataset, row, eventTime) => this.lake!.land(dataset, row, eventTime),
      deliver: (step, record, origin) => this.sinks!.deliver(step, record, origin),
    };
    const partitions = new Map<string, number>();
    if (options.inputFile === undefined && options.inputFiles === undefined)
      for (const node of definition.graph.nodes)
        if (node.kind === "source")
          partitions.set(
            node.topic,
            options.log.hasTopic(node.topic) ? options.log.describeTopic(node.topic).partitions.length : 1,
          );
    this.task =
      Math.max(1, ...partitions.values()) > 1
        ? new PartitionTasks(definition.graph, output, partitions)
        : new Task(definition.graph, output);
    this.outputs = new LogOutputs(options.log, this.task.outputTopics());
    this.outputs.listener = options.onOutput;
  }

  /** Ask the run to finish its batch, checkpoint and return (SIGINT/SIGTERM). */
  stop(): void {
    this.stopping = true;
    this.wake?.abort();
  }

  async run(): Promise<RunSummary> {
    const status = new StatusPublisher(
      this.definition.graph,
      { dataDir: this.options.log.dataDir, engine: "embedded" },
      () => ({ state: "running", metrics: this.metrics() }),
    );
    try {
      // Which file feeds which source topic: checked before anything is opened or recovered.
      const input = this.options.inputFiles ?? this.options.inputFile;
      const files = input === undefined ? undefined : resolveInputFiles(input, this.task.inputTopics());
      this.store.lock(`run ${this.definition.name}`);
      if (this.options.fromScratch && this.store.remove())
        this.logger(`${this.definition.name}: starting from scratch (checkpoint deleted; outputs kept)`);
      await this.openStorage();
      const cp = await this.recover();
      status.start();
      this.options.onStarted?.();
      let alreadyComplete: boolean;
      if (files === undefined) alreadyComplete = await this.runLive();
      else
        alreadyComplete =
          files.length === 1
            ? await this.runFile(resolve(files[0].path), cp)
            : await this.runFiles(files, cp);
      return {
        recordsIn: this.recordsIn,
        recordsOut: this.outputs.written + this.delivered,
        deadLetters: this.task.deadLetters,
        lateRecords: this.task.lateRecords,
        checkpoints: this.checkpointsWritten,
        alreadyComplete,
      };
    } catch (err) {
      // What the sinks were handed since the last checkpoint is replayed by the next run.
      await this.sinks?.rollback().catch(() => undefined);
      throw err;
    } finally {
      status.stop();
      await this.close();
    }
  }

  private async openStorage(): Promise<void> {
    const { dataDir } = this.options.log;
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
    this.sinks = await ConnectorSinks.open(
      this.definition.graph,
      0,
      this.options.sinkLogger ?? this.lineLogger(),
    );
  }

  /** The runner's message functions as a Logger (for the user's sinks). */
  private lineLogger(): Logger {
    const info = this.logger;
    const warn = this.options.warn ?? this.logger;
    return { debug: () => {}, info, warn, error: warn };
  }

  /** Hand the user's sinks what the task delivered; what they could not deliver becomes dead letters. */
  private async drainSinks(): Promise<void> {
    if (this.sinks === undefined) return;
    const written = await this.sinks.drain((origin, reason, step) =>
      this.task.deadLetter(origin, reason, step),
    );
    this.delivered += written;
    if (written > 0) crashPoint("after-sink-write"); // tests only
  }

  /** Load the last checkpoint, roll the outputs back to it and restore the state. */
  private async recover(): Promise<PipelineCheckpoint | undefined> {
    const cp = this.store.load();
    if (cp === undefined) {
      // Tables and lake may hold output of an earlier state of this pipeline: number new ones after them.
      for (const { commit } of Object.values(this.lake?.positions() ?? {}))
        this.sequence = Math.max(this.sequence, commit);
      for (const [table, seq] of Object.entries((await this.tables?.lastSeqs()) ?? {}))
        this.task.continueTableSeq(table, seq);
      this.tableSeqsAtStart = this.task.tableSeqs();
      // A first checkpoint before any output, so that a crash before the next one rolls back to here.
      await this.checkpoint();
      return undefined;
    }
    this.sequence = cp.sequence;
    this.outputs.rollBackTo(cp.outputs ?? {}, this.logger);
    await this.tables?.rollBackTo(cp.tables);
    // The compaction that follows a checkpoint, again: the last run may have died between its
    // checkpoint and that compaction (a no-op when it did not). A bounded run whose input was
    // processed to its end does nothing else, so this is what leaves each key its N newest.
    await this.tables?.compact(cp.tables);
    await this.lake?.rollBackTo(cp.lake);
    // The last run may have died between this checkpoint and its sinks' commit: commit again.
    if (cp.sinks !== undefined) await this.sinks?.commit(cp.sinks.prepared, cp.sinks.checkpoint);
    this.task.restore(cp.task, this.options.stateChanges);
    this.tableSeqsAtStart = this.task.tableSeqs();
    for (const note of this.task.restoreNotes) this.logger(`${this.definition.name}: ${note}`);
    this.topicPositions = cp.inputs;
    this.filePositions = cp.files; // kept as they are by a live run
    this.logger(`${this.definition.name}: resumed from checkpoint ${cp.sequence} (${cp.writtenAt})`);
    return cp;
  }

  /** Checkpoint steps 1-3 (see checkpoint.ts): outputs durable, then positions + state atomically. */
  private async checkpoint(): Promise<void> {
    await this.drainSinks();
    this.outputs.flush();
    await this.tables?.flush();
    this.sequence++;
    await this.lake?.publish(this.sequence);
    const prepared = await this.sinks?.prepareCommit(this.sequence);
    this.outputs.sync();
    const tableSeqs = this.task.tableSeqs();
    this.store.save({
      version: CHECKPOINT_VERSION,
      pipeline: this.definition.name,
      steps: this.definition.graph.nodes.map((n) => n.id),
      writtenAt: new Date().toISOString(),
      sequence: this.sequence,
      inputs: this.topicPositions,
      ...(this.filePositions !== undefined ? { files: this.filePositions } : {}),
      outputs: this.outputs.positions(),
      tables: tableSeqs,
      lake: this.lake?.positions() ?? {},
      ...(prepared !== undefined ? { sinks: { checkpoint: this.sequence, prepared } } : {}),
      task: this.task.snapshot(),
    });
    this.checkpointsWritten++;
    if (prepared !== undefined) {
      crashPoint("before-sink-commit"); // tests only
      await this.sinks!.commit(prepared, this.sequence);
    }
    this.lastCheckpointAt = Date.now();
    if (Object.entries(tableSeqs).some(([t, seq]) => seq > (this.tableSeqsAtStart[t] ?? 0)))
      crashPoint("after-checkpoint"); // tests only: a kill between the checkpoint and compaction
    this.lake?.checkpointed(this.sequence);
    // Versions beyond each table's limit can go once the checkpoint no longer needs them.
    await this.tables?.compact(tableSeqs);
  }

  private async maybeCheckpoint(): Promise<void> {
    if (Date.now() - this.lastCheckpointAt >= this.checkpointIntervalMs) await this.checkpoint();
  }

  /**
   * Between two batches of a file run: checkpoint when one is due and let signals in. True when a
   * stop was asked for, with the checkpoint written: the run returns.
   */
  private async stopBetweenBatches(): Promise<boolean> {
    await this.maybeCheckpoint();
    await yieldToEventLoop(); // let signals in
    if (!this.stopping) return false;
    await this.checkpoint();
    return true;
  }

  private async afterBatch(n: number, oldestAppendTime: number): Promise<void> {
    await this.drainSinks();
    const before = this.outputs.written;
    this.outputs.flush();
    await this.tables?.flush();
    const now = Date.now();
    this.recordsIn += n;
    this.inputRate.mark(n, now);
    const produced = this.outputs.written - before;
    if (produced > 0) {
      this.outputRate.mark(produced, now);
      if (oldestAppendTime > 0) this.latency.record(now - oldestAppendTime);
    }
    await this.watchDeadLetters();
  }

  /**
   * After a batch (positions account for it): warn about steps failing on every record; past the
   * dead-letter limit, checkpoint what was done and stop the run with the reason.
   */
  private async watchDeadLetters(): Promise<void> {
    const watches = this.task.deadLetterWatches;
    if (watches.every((w) => w.deadLetters === 0)) return;
    const warn = this.options.warn ?? this.logger;
    const warned = new Set<string>();
    for (const watch of watches)
      for (const f of watch.takeWarnings()) {
        if (warned.has(f.step)) continue; // partition tasks: once per step
        warned.add(f.step);
        warn(failingStepMessage(this.definition.name, this.task.deadLetterTopic, f));
      }
    const limit = this.options.deadLetterLimit;
    const exceeded = limit === undefined ? undefined : deadLetterRatioExceeded(limit, watches);
    if (exceeded === undefined) return;
    await this.checkpoint();
    throw ratioExceededError(this.definition.name, this.task.deadLetterTopic, exceeded);
  }

  private async runFile(path: string, cp: PipelineCheckpoint | undefined): Promise<boolean> {
    const inputs = this.task.inputTopics();
    if (inputs.length !== 1) {
      throw new WeirError(
        "USAGE",
        `--input feeds one source topic, but pipeline ${this.definition.name} reads ${inputs.join(", ")}`,
      );
    }
    const topic = inputs[0];
    const saved = cp?.files?.length === 1 ? cp.files[0] : undefined;
    const resumed = saved?.path === path && (saved.topic ?? topic) === topic ? saved : null;
    const file = new LineFile(path, resumed?.bytePosition ?? 0, { chunkBytes: FILE_CHUNK_BYTES });
    try {
      if (resumed?.completed && resumed.bytePosition >= file.size) {
        this.logger(
          `${this.definition.name}: ${path} was already processed to its end (checkpoint in ${this.store.dir}); nothing to do`,
        );
        return true;
      }
      const pos: FilePosition = resumed
        ? { ...resumed, topic, completed: false }
        : { topic, path, bytePosition: 0, nextOffset: 0, completed: false };
      this.filePositions = [pos];
      const task = this.task;
      // A batch per chunk of the file: its lines, then outputs appended and (when due) a checkpoint.
      while (file.read()) {
        const first = pos.nextOffset;
        let offset = first;
        for (let line = file.next(); line !== null; line = file.next()) {
          if (file.oversize < 0 && file.invalidUtf8At < 0) task.processLine(topic, 0, offset++, 0, line);
          else task.rejectRecord(topic, 0, offset++, 0, line, lineProblem(file, line));
        }
        pos.nextOffset = offset;
        pos.bytePosition = file.position;
        this.recordsIn += offset - first;
        this.inputRate.mark(offset - first, Date.now());
        await this.afterBatch(0, 0);
        if (await this.stopBetweenBatches()) return false;
      }
      this.task.endOfInput();
      pos.completed = true;
      await this.checkpoint();
      return false;
    } finally {
      file.close();
    }
  }

  /**
   * A bounded run over one file per source topic. Lines are taken by the input chooser
   * (input-chooser.ts): the next line with the smallest event time over the files, ties going to the
   * topic declared first — the rule live runs follow over topics and partitions too. The order depends
   * only on the files' contents: the run is deterministic.
   */
  private async runFiles(files: TopicFile[], cp: PipelineCheckpoint | undefined): Promise<boolean> {
    const saved = cp?.files;
    const sameFiles =
      saved !== undefined &&
      saved.length === files.length &&
      files.every((f, i) => saved[i].topic === f.topic && saved[i].path === f.path);
    const positions = files.map((f, i) =>
      sameFiles
        ? { ...saved[i], topic: f.topic, completed: false }
        : { topic: f.topic, path: f.path, bytePosition: 0, nextOffset: 0, completed: false },
    );
    const inputs: FileInput[] = [];
    try {
      for (let i = 0; i < files.length; i++)
        inputs.push(
          new FileInput(
            new LineFile(files[i].path, positions[i].bytePosition, { chunkBytes: MULTI_FILE_CHUNK_BYTES }),
            positions[i],
          ),
        );
      if (sameFiles && saved.every((p, i) => p.completed && p.bytePosition >= inputs[i].file.size)) {
        this.logger(
          `${this.definition.name}: ${files.map((f) => f.path).join(", ")} were already processed to their end (checkpoint in ${this.store.dir}); nothing to do`,
        );
        return true;
      }
      this.filePositions = positions;
      const task = this.task;
      const BATCH = 8192;
      for (;;) {
        const fed = processChosen(task, inputs, BATCH, noop);
        for (const input of inputs) input.savePosition();
        this.recordsIn += fed;
        this.inputRate.mark(fed, Date.now());
        await this.afterBatch(0, 0);
        if (inputs.every((input) => input.head === null)) break;
        if (await this.stopBetweenBatches()) return false;
      }
      this.task.endOfInput();
      for (const p of positions) p.completed = true;
      await this.checkpoint();
      return false;
    } finally {
      for (const input of inputs) input.file.close();
    }
  }

  private async runLive(): Promise<boolean> {
    const log = this.options.log;
    const inputs: PartitionInput[] = [];
    for (const topic of this.task.inputTopics()) {
      log.ensureTopic(topic);
      const { partitions } = log.describeTopic(topic);
      const saved = this.topicPositions[topic] ?? (this.topicPositions[topic] = {});
      this.task.readPartitions(
        topic,
        partitions.map((p) => p.partition),
      );
      for (const { partition } of partitions) {
        const reader = log.reader(topic, partition);
        const from = saved[partition];
        if (from !== undefined) reader.seek(from);
        saved[partition] = reader.position;
        inputs.push(new PartitionInput(topic, reader, saved, this.maxBatch));
      }
    }
    this.liveReaders = inputs;
    const task = this.task;
    const untilEnd = this.options.untilEnd === true;
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 5000;
    try {
      while (!this.stopping) {
        const n = inputs.length === 1 ? this.readOne(inputs[0]) : this.chooseBatch(inputs, untilEnd);
        task.tick();
        await this.afterBatch(n, this.oldestRead);
        if (inputs.length > 1 && !untilEnd && idleTimeoutMs > 0) this.markIdle(inputs, idleTimeoutMs);
        if (n === 0) {
          if (untilEnd && inputs.every((input) => input.atEnd())) {
            task.endOfInput();
            break;
          }
          await this.maybeCheckpoint();
          this.wake = new AbortController();
          await Promise.race(inputs.map(({ reader }) => reader.waitForData(250, this.wake!.signal)));
        } else {
          await this.maybeCheckpoint();
          // Catching up on a backlog, full batches follow each other: still let timers and I/O
          // (signals, the status file, a dashboard served from this process) in every 50 ms.
          const now = Date.now();
          if (n < this.maxBatch || now - this.lastYieldAt >= 50) {
            this.lastYieldAt = now;
            await yieldToEventLoop();
          }
        }
      }
      await this.checkpoint();
      return false;
    } finally {
      this.wake?.abort();
      this.liveReaders = [];
      for (const { reader } of inputs) reader.close();
    }
  }

  /** The oldest log timestamp of the last batch read (for the latency histogram; 0 when none). */
  private oldestRead = 0;

  /** One input partition: a batch of its records, in order. */
  private readOne(input: PartitionInput): number {
    const task = this.task;
    const { topic, reader } = input;
    const records = reader.poll(this.maxBatch);
    let oldest = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (oldest === 0 || r.timestamp < oldest) oldest = r.timestamp;
      task.processRecord(
        topic,
        r.partition,
        r.offset,
        r.timestamp,
        r.value,
        r.headers.length > 0 ? r.headers : undefined,
      );
    }
    input.positions[reader.partition] = reader.position;
    this.oldestRead = oldest;
    return records.length;
  }

  /**
   * Several input partitions: up to maxBatch records per partition, taken one at a time by the
   * input chooser (smallest event time first). With `untilEnd`, a partition read to its end is left
   * out of the watermark right after its last record (a point that depends only on the inputs).
   */
  private chooseBatch(inputs: PartitionInput[], untilEnd: boolean): number {
    let oldest = 0;
    const n = processChosen(this.task, inputs, this.maxBatch * inputs.length, (input, r) => {
      if (oldest === 0 || r.timestamp < oldest) oldest = r.timestamp;
      input.positions[r.partition] = r.offset + 1;
      input.lastRecordAt = 0;
      input.leaveAtEnd = untilEnd;
    });
    this.oldestRead = oldest;
    return n;
  }

  /** A live run: partitions quiet for the idle timeout leave their sources' watermarks. */
  private markIdle(inputs: PartitionInput[], idleTimeoutMs: number): void {
    const now = Date.now();
    for (const input of inputs) {
      if (input.head !== null) continue;
      if (input.lastRecordAt === 0)
        input.lastRecordAt = now; // drained now: the quiet starts
      else if (input.lastRecordAt > 0 && now - input.lastRecordAt >= idleTimeoutMs) {
        this.task.partitionIdle(input.topic, input.reader.partition);
        input.lastRecordAt = -1; // told; a record starts it over
      }
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
      recordsOut: this.outputs.written + this.delivered,
      outputRatePerSec: this.outputRate.rate(now),
      deadLetters: this.task.deadLetters,
      lateRecords: this.task.lateRecords,
      watermark: Number.isFinite(w) ? w : null,
      watermarkLagMs: Number.isFinite(w) ? now - w : null,
      stateSize: this.task.stateSize(),
      inputLag: this.inputLag(),
      latencyMs: {
        p50: this.latency.percentile(50),
        p99: this.latency.percentile(99),
        max: this.latency.max,
        count: this.latency.count,
      },
      latencyHistogram: latencyBuckets(this.latency),
      checkpoints: this.checkpointsWritten,
      lastCheckpointAt: this.lastCheckpointAt > 0 ? new Date(this.lastCheckpointAt).toISOString() : null,
      steps: this.task.metrics(),
    };
  }

  /** Records of the input topics not read yet; null before a live run starts reading, and for a file input. */
  private inputLag(): number | null {
    if (this.liveReaders.length === 0) return null;
    let lag = 0;
    for (const { reader } of this.liveReaders) lag += Math.max(0, reader.endOffset() - reader.position);
    return lag;
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.outputs.close();
    await this.tables?.close();
    await this.lake?.close();
    await this.sinks?.close();
    this.store.unlock();
  }
}

const noop = (): void => {};

/** An input partition of a live run, as the input chooser sees it. */
class PartitionInput implements ChosenInput {
  head: StagedRecord | null = null;
  /** The log is read synchronously: a partition with nothing buffered is at its end. */
  readonly waiting = false;
  /**
   * For idleness: 0 while records flow, when it went quiet (ms) once drained, -1 once told idle
   * (Runner.markIdle).
   */
  lastRecordAt = 0;
  /**
   * `untilEnd`: once its last record was processed, the partition leaves the watermark (set by the
   * runner as it takes each record; acted on by `advance` finding the partition at its end).
   */
  leaveAtEnd = false;
  private buffer: LogRecord[] = [];
  private next = 0;
  private readonly staged = new StagedRecord();

  constructor(
    readonly topic: string,
    readonly reader: PartitionReader,
    /** The run's positions of the topic (checkpointed): the next offset to process per partition. */
    readonly positions: Record<number, number>,
    private readonly maxBatch: number,
  ) {}

  /** Stage the next record (reading a batch when the last one is used up); head is null at the end. */
  advance(task: StagingTask): void {
    if (this.next >= this.buffer.length) {
      this.buffer = this.reader.poll(this.maxBatch);
      this.next = 0;
      if (this.buffer.length === 0) {
        if (this.head !== null && this.leaveAtEnd) task.partitionIdle(this.topic, this.reader.partition);
        this.head = null;
        return;
      }
    }
    const r = this.buffer[this.next++];
    task.stage(
      this.staged,
      this.topic,
      r.partition,
      r.offset,
      r.timestamp,
      r.value,
      r.headers.length > 0 ? r.headers : undefined,
    );
    this.head = this.staged;
  }

  /** Every record was processed and the partition holds no more now. */
  atEnd(): boolean {
    return this.head === null && this.reader.position >= this.reader.endOffset();
  }
}

/** One file of a bounded run over a file per source topic, as the input chooser sees it. */
class FileInput implements ChosenInput {
  head: StagedRecord | null = null;
  readonly waiting = false;
  /** Byte position of the staged line (where a resumed run reads it again). */
  private headAt = 0;
  /** The offset of the next line read. */
  private nextOffset: number;
  private readonly staged = new StagedRecord();

  constructor(
    readonly file: LineFile,
    /** Checkpointed: the next line's byte position and offset. */
    readonly position: FilePosition & { topic: string },
  ) {
    this.nextOffset = position.nextOffset;
  }

  advance(task: StagingTask): void {
    const file = this.file;
    this.headAt = file.position;
    const line = file.nextLine();
    if (line === null) {
      this.head = null;
      return;
    }
    const problem = file.oversize < 0 && file.invalidUtf8At < 0 ? undefined : lineProblem(file, line);
    task.stage(this.staged, this.position.topic, 0, this.nextOffset++, 0, line, undefined, problem);
    this.head = this.staged;
  }

  /** Positions for a checkpoint: the staged line is not processed yet (a resumed run reads it again). */
  savePosition(): void {
    if (this.head === null) {
      this.position.bytePosition = this.file.position;
      this.position.nextOffset = this.nextOffset;
    } else {
      this.position.bytePosition = this.headAt;
      this.position.nextOffset = this.head.offset;
    }
  }
}
