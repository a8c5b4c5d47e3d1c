import type { RecordContext } from "../graph/graph.js";
import { UnwritableValue } from "../util/records.js";
import { StepFailure, type Operator, type OutputCollector, type StepCounters } from "./types.js";

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
    try {
      this.output.land(this.dataset, value, ctx.timestamp);
    } catch (err) {
      // A row the lake cannot take is a dead letter of this step; a failing lake stops the run.
      if (err instanceof UnwritableValue) throw new StepFailure(this.id, err);
      throw err;
    }
    this.counters.recordsOut++;
  }
}
