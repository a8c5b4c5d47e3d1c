/**
 * The one rule by which a task takes its next record when it reads several inputs — partitions of
 * its input topics on the embedded log or on Kafka, or one file per source topic: **the record with
 * the smallest event time first**, over the next record of every input, ties going to the input
 * listed first (topics in the order the pipeline declares them, then partitions by number), as
 * Kafka Streams' PartitionGroup chooses. An input with no record buffered but more to read is waited
 * for (its next record may be the earliest); one read to its current end is passed over.
 *
 * The order then depends only on what the inputs hold, not on batch sizes, polling or timing: a run
 * over inputs that do not grow while it runs is deterministic, and the same on files, the embedded
 * log and Kafka. Watermarks are kept per input partition and combined by minimum
 * (SourceOperator.readsPartitions), so the chooser keeps every partition's watermark moving together.
 */
import type { StagedRecord, Task } from "./task.js";

/** What the chooser needs of a task (a Task, or the partition tasks of runtime/partition-tasks.ts). */
export type StagingTask = Pick<Task, "stage" | "processStaged" | "partitionIdle">;

export interface ChooserInput {
  /** The next record, decoded ahead of processing (Task.stage); null when none is buffered. */
  readonly head: StagedRecord | null;
  /** No record buffered, but more to read, which the chooser waits for. */
  readonly waiting: boolean;
}

/**
 * The index of the input whose record goes next; -1 when no input has one, or one must be waited
 * for. Linear in the inputs (a task reads a handful).
 */
export function nextInput(inputs: readonly ChooserInput[]): number {
  let pick = -1;
  let least = Infinity;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    const head = input.head;
    if (head === null) {
      if (input.waiting) return -1;
      continue;
    }
    if (pick < 0 || head.eventTime < least) {
      pick = i;
      least = head.eventTime;
    }
  }
  return pick;
}

/** An input the chooser takes from: it stages its next record (Task.stage) when asked. */
export interface ChosenInput extends ChooserInput {
  /** Stage the next record as `head` (the current one was processed, or none is staged yet). */
  advance(task: StagingTask): void;
}

/**
 * Process up to `max` records of `inputs` in the chooser's order. `taken` is told each record
 * right after it was processed (positions, latency), before its input stages the next.
 */
export function processChosen<I extends ChosenInput>(
  task: StagingTask,
  inputs: readonly I[],
  max: number,
  taken: (input: I, record: StagedRecord) => void,
): number {
  for (const input of inputs) if (input.head === null) input.advance(task);
  let n = 0;
  while (n < max) {
    const i = nextInput(inputs);
    if (i < 0) break;
    const input = inputs[i];
    const r = input.head!;
    task.processStaged(r);
    taken(input, r);
    input.advance(task);
    n++;
  }
  return n;
}
