import type { RecordContext } from "../graph/graph.js";
import { StepFailure, type Operator, type StepCounters } from "./types.js";

export class FlatMapOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  constructor(
    readonly id: string,
    private readonly fn: (value: any, ctx: RecordContext) => Iterable<unknown>,
  ) {}

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    let outs: unknown[];
    try {
      // Materialise first, so a throwing iterator fails the record before anything went downstream.
      outs = Array.from(this.fn(value, ctx));
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    for (let i = 0; i < outs.length; i++) {
      this.counters.recordsOut++;
      this.next.push(outs[i], ctx);
    }
  }
}
