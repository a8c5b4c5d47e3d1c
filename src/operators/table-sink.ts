import type { Key, RecordContext } from "../graph/graph.js";
import { recordKey } from "./record-key.js";
import { MAX_RECORD_BYTES, MAX_TABLE_KEY_BYTES, UnwritableValue } from "../util/records.js";
import { describeBytes, wellFormed, wellFormedJson } from "../util/text.js";
import { StepFailure, type Operator, type OutputCollector, type StepCounters } from "./types.js";
import { MIN_TABLE_TIME_MS } from "../sinks/table/common.js";

/** The update numbering of one table, shared by every step writing it. */
export interface TableSequence {
  seq: number;
}

/**
 * `.toTable(name)`: each record becomes the next version of its key. Updates are numbered 1, 2, 3...
 * per table (checkpointed), which is what rolling a table back to a checkpoint is keyed by.
 */
export class TableSinkOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };

  constructor(
    readonly id: string,
    readonly table: string,
    private readonly sequence: TableSequence,
    private readonly keyFn: ((value: any) => Key) | undefined,
    private readonly output: OutputCollector,
  ) {}

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    const key = recordKey(this.id, this.keyFn, value, ctx);
    if (key === undefined || key === null) {
      throw new StepFailure(
        this.id,
        new Error(`table ${this.table} needs a key: use keyBy before it or toTable(name, { key })`),
      );
    }
    // What the store writes, checked here: a value a store cannot take is a dead letter of this
    // record, never a failed write that would stop the run at the same record on every restart.
    const text = wellFormed(String(key));
    if (text.length * 3 > MAX_TABLE_KEY_BYTES && Buffer.byteLength(text) > MAX_TABLE_KEY_BYTES)
      throw new StepFailure(
        this.id,
        new Error(
          `table ${this.table}: a key of ${Buffer.byteLength(text)} bytes is over the limit of ${MAX_TABLE_KEY_BYTES}`,
        ),
      );
    let json: string | undefined;
    try {
      json = wellFormedJson(value);
    } catch (err) {
      throw new StepFailure(
        this.id,
        new Error(`table ${this.table}: cannot write the value as JSON: ${(err as Error).message}`),
      );
    }
    json ??= "null";
    if (json.length * 3 > MAX_RECORD_BYTES && Buffer.byteLength(json) > MAX_RECORD_BYTES)
      throw new StepFailure(
        this.id,
        new Error(
          `table ${this.table}: a value of ${Buffer.byteLength(json)} bytes (as JSON) is over the limit of ${describeBytes(MAX_RECORD_BYTES)}`,
        ),
      );
    if (ctx.timestamp < MIN_TABLE_TIME_MS)
      throw new StepFailure(
        this.id,
        new Error(
          `table ${this.table}: the event time ${new Date(ctx.timestamp).toISOString()} is before 4714-11-24 BC, the earliest a table stores`,
        ),
      );
    try {
      this.output.upsert(this.table, text, value, ctx, this.sequence.seq + 1, json);
    } catch (err) {
      if (err instanceof UnwritableValue) throw new StepFailure(this.id, err);
      throw err;
    }
    this.sequence.seq++;
    this.counters.recordsOut++;
  }
}
