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

export interface Checkpoint {
  version: 1;
  pipeline: string;
  /** Stable ids of the graph's steps when written (a changed graph restores what still matches). */
  steps: string[];
  writtenAt: string;
  /** Count of checkpoints written so far for this pipeline (1-based). */
  sequence: number;
  topicInput: TopicPositions;
  fileInput: FileInputPosition | null;
  /** A bounded run over one file per source topic (fileInput is then null). */
  fileInputs?: Array<FileInputPosition & { topic: string }>;
  /** End offset of every output topic partition the pipeline writes. */
  outputs: TopicPositions;
  /** Last update number of every versioned table the pipeline writes. */
  tables?: Record<string, number>;
  /** Last published commit of every lake dataset the pipeline writes. */
  lake?: Record<string, LakePosition>;
  /** What each user's sink (`sinkTo`) prepared for this checkpoint, by step id (src/sinks/contract.ts). */
  sinks?: Record<string, unknown>;
  task: TaskState;
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

  load(): Checkpoint | undefined {
    if (!existsSync(this.file)) return undefined;
    let parsed: Checkpoint;
    try {
      parsed = JSON.parse(readFileSync(this.file, "utf8"));
    } catch (err) {
      throw new WeirError(
        "CORRUPT",
        `checkpoint ${this.file} cannot be read (${(err as Error).message}); move it away to start the pipeline from scratch`,
      );
    }
    if (parsed.version !== 1)
      throw new WeirError("CORRUPT", `checkpoint ${this.file} has unknown version ${parsed.version}`);
    return parsed;
  }

  save(cp: Checkpoint): void {
    mkdirSync(this.dir, { recursive: true });
    // Non-finite numbers (a watermark at +infinity) do not survive JSON; the task stores them as null.
    writeFileAtomic(this.file, JSON.stringify(cp));
  }
}
