/**
 * The shape a TaskSession (src/kafka/task-session.ts) drives: a pipeline Task, or the storage writer
 * (src/kafka/storage-writer.ts). Its own module so that neither of the two imports the other.
 */
import type { Task } from "../runtime/task.js";

/** What a session runs: a pipeline Task, or the storage writer (which has the same shape). */
export type RunnableTask = Pick<
  Task,
  | "processRecord"
  | "tick"
  | "endOfInput"
  | "snapshot"
  | "restore"
  | "restoreNotes"
  | "tableSeqs"
  | "continueTableSeq"
  | "watermark"
  | "metrics"
  | "stateSize"
  | "deadLetters"
  | "lateRecords"
  | "broadcastWatermarks"
  | "forgetBroadcasts"
  | "markIdle"
> &
  Partial<Pick<Task, "deadLetter">>;
