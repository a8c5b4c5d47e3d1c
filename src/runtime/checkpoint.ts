/**
 * Checkpoints: the task's state, the input positions and the output positions, written together
 * atomically. On restart the runner rolls every output back to its checkpointed end, restores the
 * state and re-reads the input from the checkpointed position; because the task is deterministic,
 * the outputs then end up exactly as in an uninterrupted run (DESIGN.md §4, Delivery).
 *
 * The order, written once here and in Runner.checkpoint():
 *   1. flush buffered outputs: topics to the log, table updates to the table store, lake rows
 *      published as files of commit <sequence>; fsync the topics;
 *   2. read the output positions (topic end offsets, table update numbers, lake commits);
 *   3. write {state, input positions, output positions} atomically (temp file, fsync, rename, fsync dir);
 *   4. compact the tables (versions beyond their limit that no checkpoint needs any more).
 * A crash before 3 leaves the previous checkpoint; everything past its positions is rolled back.
 * A crash between 3 and 4 leaves stale versions (readers never show them); the restart compacts
 * the tables right after rolling them back to the checkpoint.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { WeirError } from "../errors.js";
import { tryLock, unlock } from "../log/lock.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { LakePosition } from "../sinks/types.js";
import type { TaskState } from "./task.js";
import type { PreparedSinks } from "./connector-sinks.js";

/** Next offset to read, per topic and partition. */
export type TopicPositions = Record<string, Record<string, number>>;

export interface FileInputPosition {
  /** Absolute path of the input file. */
  path: string;
  /** Byte position of the next unread line. */
  bytePosition: number;
  /** Offset the next line gets (lines are numbered like offsets in a one-partition topic). */
  nextOffset: number;
  /** The file was read to its end and every window fired. */
  completed: boolean;
}

/** A file of a bounded run and the source topic it feeds. */
export interface FilePosition extends FileInputPosition {
  /** Absent only in a checkpoint of format 1 of a one-file run (the pipeline's one source topic). */
  topic?: string;
}

/** What the user's sinks prepared for a checkpoint (src/sinks/contract.ts), and its number. */
export interface SinkCommit {
  checkpoint: number;
  prepared: PreparedSinks;
}

/** The checkpoint format written now. */
export const CHECKPOINT_VERSION = 2;

/**
 * A pipeline's checkpoint, the same on both backends: where its inputs stand, where its outputs
 * stand, and its state, written together atomically — a file on the embedded log (CheckpointStore),
 * a snapshot in the checkpoint topic on Kafka (kafka/checkpoint-log.ts). Checkpoints of format 1
 * (the embedded log's and Kafka's, which differed) are read too: `upgradeCheckpoint`.
 */
export interface PipelineCheckpoint {
  version: typeof CHECKPOINT_VERSION;
  pipeline: string;
  /** Stable ids of the graph's steps when written (a changed graph restores what still matches). */
  steps: string[];
  writtenAt: string;
  /** Checkpoints written so far for this pipeline (1-based); also the lake commit number. */
  sequence: number;
  /** Next offset to read, per input topic and partition. */
  inputs: TopicPositions;
  /** A bounded run over files: each file's position. */
  files?: FilePosition[];
  /**
   * The embedded log: end offset of every output partition, which a restart truncates them back to.
   * (On Kafka the transaction that commits the checkpoint commits the outputs: absent.)
   */
  outputs?: TopicPositions;
  /** Last update number of every versioned table the pipeline writes. */
  tables: Record<string, number>;
  /** Last published commit of every lake dataset the pipeline writes. */
  lake: Record<string, LakePosition>;
  /** The user's sinks (`sinkTo`): what they prepared for this checkpoint. */
  sinks?: SinkCommit;
  task: TaskState;
}

/** Format 1 on the embedded log. */
interface EmbeddedCheckpointV1 {
  version: 1;
  pipeline: string;
  steps: string[];
  writtenAt: string;
  sequence: number;
  topicInput: TopicPositions;
  fileInput: FileInputPosition | null;
  fileInputs?: Array<FileInputPosition & { topic: string }>;
  outputs: TopicPositions;
  tables?: Record<string, number>;
  lake?: Record<string, LakePosition>;
  /** Prepared by step id; the checkpoint's sequence was the commit number. */
  sinks?: PreparedSinks;
  task: TaskState;
}

/** Format 1 on Kafka (a snapshot of the checkpoint topic). */
interface KafkaSnapshotV1 {
  version: 1;
  pipeline: string;
  steps: string[];
  writtenAt: string;
  sequence: number;
  positions: TopicPositions;
  tables: Record<string, number>;
  lake: Record<string, LakePosition>;
  sinks?: SinkCommit;
  task: TaskState;
}

/**
 * A checkpoint as read, in the current format: format 1 of either backend is converted (nothing is
 * lost: format 2 holds what both held). `where` names it in the error for an unknown version.
 */
export function upgradeCheckpoint(parsed: unknown, where: string): PipelineCheckpoint {
  const cp = parsed as PipelineCheckpoint | EmbeddedCheckpointV1 | KafkaSnapshotV1;
  if (cp?.version === CHECKPOINT_VERSION) return cp;
  if (cp?.version !== 1)
    throw new WeirError(
      "CORRUPT",
      `checkpoint ${where} has unknown version ${String((cp as { version?: unknown } | null)?.version)} (this Weir reads versions 1 and ${CHECKPOINT_VERSION})`,
    );
  const common = {
    version: CHECKPOINT_VERSION,
    pipeline: cp.pipeline,
    steps: cp.steps,
    writtenAt: cp.writtenAt,
    sequence: cp.sequence,
    tables: cp.tables ?? {},
    lake: cp.lake ?? {},
    task: cp.task,
  } as const;
  if ("positions" in cp)
    return { ...common, inputs: cp.positions, ...(cp.sinks !== undefined ? { sinks: cp.sinks } : {}) };
  const files: FilePosition[] | undefined =
    cp.fileInputs ?? (cp.fileInput !== null && cp.fileInput !== undefined ? [cp.fileInput] : undefined);
  return {
    ...common,
    inputs: cp.topicInput,
    ...(files !== undefined ? { files } : {}),
    outputs: cp.outputs,
    ...(cp.sinks !== undefined ? { sinks: { checkpoint: cp.sequence, prepared: cp.sinks } } : {}),
  };
}

export class CheckpointStore {
  readonly dir: string;
  readonly file: string;
  /** Held by the process running the pipeline (`weir run`), so that no other runs or resets it meanwhile. */
  private readonly lockFile: string;
  private locked = false;

  constructor(
    dataDir: string,
    readonly pipeline: string,
  ) {
    this.dir = join(dataDir, "pipelines", pipeline);
    this.file = join(this.dir, "checkpoint.json");
    this.lockFile = join(this.dir, "run.lock");
  }

  /**
   * Take the pipeline's run lock, or fail with PIPELINE_RUNNING naming the process that holds it
   * (`doing`: what was refused, for the message). A lock of a process that died is taken over.
   */
  lock(doing: string): void {
    mkdirSync(this.dir, { recursive: true });
    const attempt = tryLock(this.lockFile);
    if (!attempt.acquired) {
      const who = attempt.holderIsThisProcess ? "this process" : `process ${attempt.holderPid}`;
      throw new WeirError(
        "PIPELINE_RUNNING",
        `cannot ${doing}: pipeline ${this.pipeline} is running in ${who} (lock ${this.lockFile}); stop it first`,
      );
    }
    this.locked = true;
  }

  unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    unlock(this.lockFile);
  }

  /**
   * Forget the pipeline's state and input positions (the caller holds the lock): its next run starts
   * from the beginning of its input with empty state. Returns whether there was a checkpoint.
   */
  remove(): boolean {
    const existed = existsSync(this.file);
    rmSync(this.file, { force: true });
    return existed;
  }

  load(): PipelineCheckpoint | undefined {
    if (!existsSync(this.file)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, "utf8"));
    } catch (err) {
      throw new WeirError(
        "CORRUPT",
        `checkpoint ${this.file} cannot be read (${(err as Error).message}); move it away to start the pipeline from scratch`,
      );
    }
    return upgradeCheckpoint(parsed, this.file);
  }

  save(cp: PipelineCheckpoint): void {
    mkdirSync(this.dir, { recursive: true });
    // Non-finite numbers (a watermark at +infinity) do not survive JSON; the task stores them as null.
    writeFileAtomic(this.file, JSON.stringify(cp));
  }
}
