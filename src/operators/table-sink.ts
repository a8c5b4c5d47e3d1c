import type { Key, RecordContext } from "../graph/graph.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { StepFailure, type Operator, type OutputCollector, type StepCounters } from "./types.js";

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
    let key: Key | undefined;
    try {
      if (this.keyFn) {
        key = this.keyFn(value);
        if (isThenable(key)) throw thenableResult("the key function", key);
      } else key = ctx.key;
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    if (key === undefined || key === null) {
      throw new StepFailure(
        this.id,
        new Error(`table ${this.table} needs a key: use keyBy before it or toTable(name, { key })`),
      );
    }
    this.output.upsert(this.table, String(key), value, ctx, ++this.sequence.seq);
    this.counters.recordsOut++;
  }
}
