import type { Key, RecordContext } from "../graph/graph.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { StepFailure, type Operator, type StepCounters } from "./types.js";

/** Sets the record's key for the steps after it (and restores the previous key for sibling branches). */
export class KeyByOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  constructor(
    readonly id: string,
    private readonly fn: (value: any) => Key,
  ) {}

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    let key: Key;
    try {
      key = this.fn(value);
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    if (typeof key !== "number" && typeof key !== "string") {
      if (isThenable(key)) throw new StepFailure(this.id, thenableResult("the keyBy function", key));
      throw new StepFailure(
        this.id,
        new Error(`key must be a string or a number, got ${key === null ? "null" : typeof key}`),
      );
    }
    if (key !== key) throw new StepFailure(this.id, new Error("key is NaN"));
    // Restore the outer key for sibling branches (a Fanout also restores it when a branch throws).
    const outer = ctx.key;
    ctx.key = key;
    this.counters.recordsOut++;
    this.next.push(value, ctx);
    ctx.key = outer;
  }
}
