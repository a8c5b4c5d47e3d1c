/**
 * Tables and lake of a pipeline shared by several processes. The versioned tables number their
 * updates with one sequence per table, and the lake publishes files per checkpoint: both want one
 * writer. So partition tasks do not write them: each sends its table updates and lake rows to the
 * internal topic `weir.<pipeline>.storage` inside its transaction, and one storage writer (in the
 * process holding task 0) reads that topic read-committed and writes tables and lake, with its own
 * checkpoints — exactly once, like any other task. A key's updates all come from the task owning
 * the key, in order, so its versions are numbered as in a single-process run.
 *
 * Records of the storage topic (JSON):
 *   {"tb": table, "k": key, "t": event time, "o": [topic, partition, offset], "v": value}
 *   {"ds": dataset, "t": event time, "v": row}
 *   {"end": task}        (task `task` is complete: an --until-end run)
 * `"d": 1` marks a tagged value (Dates and the like: src/util/json-value.ts).
 */
import type { Key, RecordContext } from "../graph/graph.js";
import { decodeJsonValue, valueToJson } from "../util/json-value.js";
import { newRecordContext, type OutputCollector } from "../operators/types.js";
import type { StepMetrics, TaskState } from "../runtime/task.js";
import type { RunnableTask } from "./runnable-task.js";

export function storageTopic(pipeline: string): string {
  return `weir.${pipeline}.storage`;
}

/** The record of a table update on the storage topic. */
export function tableUpdateRecord(table: string, key: string, value: unknown, ctx: RecordContext): string {
  const { json, tagged } = valueToJson(value);
  return (
    `{"tb":${JSON.stringify(table)},"k":${JSON.stringify(key)},"t":${ctx.timestamp}` +
    `,"o":[${JSON.stringify(ctx.topic)},${ctx.partition},${ctx.offset}]${tagged ? `,"d":1` : ""},"v":${json}}`
  );
}

/** The record of a lake row on the storage topic. */
export function lakeRowRecord(dataset: string, row: unknown, eventTime: number): string {
  const { json, tagged } = valueToJson(row);
  return `{"ds":${JSON.stringify(dataset)},"t":${eventTime}${tagged ? `,"d":1` : ""},"v":${json}}`;
}

export function taskEndRecord(task: number): string {
  return `{"end":${task}}`;
}

interface StorageRecord {
  tb?: string;
  ds?: string;
  k?: Key;
  t?: number;
  o?: [string, number, number];
  d?: 1;
  v?: unknown;
  end?: number;
}

/** Reads the storage topic into the tables and lake (through `output`). */
export class StorageWriterTask implements RunnableTask {
  deadLetters = 0;
  lateRecords = 0;
  private readonly seqs = new Map<string, number>();
  private readonly ended = new Set<number>();
  private readonly ctx = newRecordContext();
  private updates = 0;
  private rows = 0;

  constructor(
    tables: readonly string[],
    private readonly tasks: number,
    private readonly output: OutputCollector,
  ) {
    for (const t of tables) this.seqs.set(t, 0);
  }

  /** One Kafka record of the storage topic, as bytes (Weir wrote it: UTF-8 JSON). */
  processRecord(topic: string, partition: number, offset: number, timestamp: number, value: Buffer): void {
    this.processLine(topic, partition, offset, timestamp, value.toString("utf8"));
  }

  /** One Kafka record of the storage topic: newline-separated records (see PendingOutputs). */
  processLine(_topic: string, _partition: number, _offset: number, _timestamp: number, text: string): void {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      this.processStorageRecord(text.slice(start, nl));
      start = nl + 1;
    }
    this.processStorageRecord(start === 0 ? text : text.slice(start));
  }

  private processStorageRecord(line: string): void {
    const r = JSON.parse(line) as StorageRecord;
    if (r.end !== undefined) {
      this.ended.add(r.end);
      return;
    }
    const value = r.d === 1 ? decodeJsonValue(r.v) : r.v;
    if (r.tb !== undefined) {
      const seq = (this.seqs.get(r.tb) ?? 0) + 1;
      this.seqs.set(r.tb, seq);
      const ctx = this.ctx;
      ctx.key = r.k;
      ctx.timestamp = r.t!;
      [ctx.topic, ctx.partition, ctx.offset] = r.o!;
      this.output.upsert(r.tb, String(r.k), value, ctx, seq);
      this.updates++;
    } else if (r.ds !== undefined) {
      this.output.land(r.ds, value, r.t!);
      this.rows++;
    }
  }

  /** Every partition task has said it is complete (an --until-end run). */
  complete(): boolean {
    return this.ended.size >= this.tasks;
  }

  tick(): void {}
  endOfInput(): void {}
  broadcastWatermarks(): boolean {
    return false;
  }
  forgetBroadcasts(): void {}
  markIdle(): boolean {
    return false;
  }

  tableSeqs(): Record<string, number> {
    return Object.fromEntries(this.seqs);
  }

  continueTableSeq(table: string, seq: number): void {
    if ((this.seqs.get(table) ?? 0) < seq) this.seqs.set(table, seq);
  }

  snapshot(): TaskState {
    return {
      version: 1,
      steps: { "storage-writer": { ended: [...this.ended] } },
      sources: {},
      tables: this.tableSeqs(),
    };
  }

  /** The storage writer has one fixed step: nothing for --drop-state/--rename-state to do here. */
  readonly restoreNotes: readonly string[] = [];

  restore(state: TaskState): void {
    for (const [table, seq] of Object.entries(state.tables ?? {})) this.seqs.set(table, seq);
    const saved = state.steps["storage-writer"] as { ended?: number[] } | undefined;
    for (const t of saved?.ended ?? []) this.ended.add(t);
  }

  watermark(): number {
    return -Infinity;
  }

  stateSize(): number {
    return 0;
  }

  metrics(): StepMetrics[] {
    return [];
  }

  /** Table updates and lake rows written by this process. */
  get written(): { updates: number; rows: number } {
    return { updates: this.updates, rows: this.rows };
  }
}
