/**
 * `.sinkTo(sink)`: hands every record to the runtime for the user's sink (src/sinks/contract.ts),
 * with a key and an id that is the same on every replay: pipeline, step, the input position the
 * record came from, and its number among the records that input made here.
 */
import type { Key, RecordContext } from "../graph/graph.js";
import type { SinkRecord } from "../sinks/contract.js";
import { recordKey } from "./record-key.js";
import type { Operator, OutputCollector, StepCounters } from "./types.js";

export class ConnectorSinkOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  private readonly idPrefix: string;
  private lastTopic = "";
  private lastPartition = -1;
  private lastOffset = -1;
  private sameInput = 0;

  constructor(
    readonly id: string,
    pipeline: string,
    private readonly keyFn: ((value: any) => Key | null | undefined) | undefined,
    private readonly output: OutputCollector,
  ) {
    this.idPrefix = `${pipeline}/${id}/`;
  }

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    const key = recordKey(this.id, this.keyFn, value, ctx);
    if (
      ctx.offset === this.lastOffset &&
      ctx.partition === this.lastPartition &&
      ctx.topic === this.lastTopic
    )
      this.sameInput++;
    else {
      this.lastTopic = ctx.topic;
      this.lastPartition = ctx.partition;
      this.lastOffset = ctx.offset;
      this.sameInput = 0;
    }
    const record: SinkRecord = {
      value,
      key: key === null || key === undefined ? null : String(key),
      eventTime: ctx.timestamp,
      id: `${this.idPrefix}${ctx.topic}/${ctx.partition}/${ctx.offset}/${this.sameInput}`,
    };
    this.output.deliver(this.id, record, { ...ctx });
    this.counters.recordsOut++;
  }
}
