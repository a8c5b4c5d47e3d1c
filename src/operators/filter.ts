import type { RecordContext } from "../graph/graph.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { StepFailure, type Operator, type StepCounters } from "./types.js";

export class FilterOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  constructor(
    readonly id: string,
    private readonly fn: (value: any, ctx: RecordContext) => boolean,
  ) {}

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    let keep: boolean;
    try {
      keep = this.fn(value, ctx);
      if (isThenable(keep)) throw thenableResult("the filter predicate", keep);
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    if (keep) {
      this.counters.recordsOut++;
      this.next.push(value, ctx);
    }
  }
}
