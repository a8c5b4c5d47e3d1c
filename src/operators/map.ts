import type { RecordContext } from "../graph/graph.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { StepFailure, type Operator, type StepCounters } from "./types.js";

export class MapOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  constructor(
    readonly id: string,
    private readonly fn: (value: any, ctx: RecordContext) => unknown,
  ) {}

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    let out: unknown;
    try {
      out = this.fn(value, ctx);
      if (isThenable(out)) throw thenableResult("the map function", out);
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    this.counters.recordsOut++;
    this.next.push(out, ctx);
  }
}
