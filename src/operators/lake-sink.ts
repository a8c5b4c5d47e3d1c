import type { RecordContext } from "../graph/graph.js";
import type { Operator, OutputCollector, StepCounters } from "./types.js";

/** `.toLake(name)`: each record becomes a row of a lake dataset, partitioned by its event time. */
export class LakeSinkOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };

  constructor(
    readonly id: string,
    readonly dataset: string,
    private readonly output: OutputCollector,
  ) {}

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    this.output.land(this.dataset, value, ctx.timestamp);
    this.counters.recordsOut++;
  }
}
