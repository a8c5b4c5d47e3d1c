import type { Key, RecordContext } from "../graph/graph.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { MAX_RECORD_BYTES, UnwritableValue } from "../util/records.js";
import { describeBytes } from "../util/text.js";
import { StepFailure, type Operator, type OutputCollector, type StepCounters } from "./types.js";

/** Writes records as JSON text to an output topic. Dates serialize as ISO-8601 UTC with milliseconds. */
export class TopicSinkOperator implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly keyFn: ((value: any) => Key | null | undefined) | undefined,
    private readonly output: OutputCollector,
  ) {}

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    let key: Key | null | undefined;
    let text: string;
    try {
      if (this.keyFn) {
        key = this.keyFn(value);
        if (isThenable(key)) throw thenableResult("the key function", key);
      } else key = ctx.key;
      text = JSON.stringify(value);
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    if (text === undefined) throw new StepFailure(this.id, new Error(`cannot write ${typeof value} as JSON`));
    const keyText = key === null || key === undefined ? null : String(key);
    // Key and value must fit in a record (src/util/records.ts): else a dead letter, not a failed write.
    const units = text.length + (keyText === null ? 0 : keyText.length);
    if (units * 3 > MAX_RECORD_BYTES) {
      const bytes = Buffer.byteLength(text) + (keyText === null ? 0 : Buffer.byteLength(keyText));
      if (bytes > MAX_RECORD_BYTES)
        throw new StepFailure(
          this.id,
          new Error(
            `a record of ${bytes} bytes (key and value as JSON) is over the limit of ${describeBytes(MAX_RECORD_BYTES)}`,
          ),
        );
    }
    try {
      this.output.append(this.topic, keyText, text, ctx.timestamp);
    } catch (err) {
      if (err instanceof UnwritableValue) throw new StepFailure(this.id, err);
      throw err;
    }
    this.counters.recordsOut++;
  }
}
