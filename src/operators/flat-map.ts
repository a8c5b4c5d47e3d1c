import type { RecordContext } from "../graph/graph.js";
import { isThenable, thenableResult } from "./sync-only.js";
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
      outs = Array.from(iterableResult(this.fn(value, ctx)));
      for (let i = 0; i < outs.length; i++)
        if (isThenable(outs[i])) throw thenableResult("an element of the flatMap function's result", outs[i]);
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    for (let i = 0; i < outs.length; i++) {
      this.counters.recordsOut++;
      this.next.push(outs[i], ctx);
    }
  }
}

/**
 * `result` if it is iterable. Array.from would make an empty array of a Promise, an async generator
 * or another non-iterable object, and the record would vanish without a trace.
 */
function iterableResult(result: Iterable<unknown>): Iterable<unknown> {
  if (result != null && typeof (result as Partial<Iterable<unknown>>)[Symbol.iterator] === "function")
    return result;
  if (isThenable(result)) throw thenableResult("the flatMap function", result);
  if (
    result != null &&
    typeof (result as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === "function"
  )
    throw new Error(
      "the flatMap function returned an async iterable; async steps are not supported yet (async enrichment is planned): " +
        "return an array or use a generator (function*)",
    );
  throw new Error(
    `the flatMap function must return an iterable (an array or a generator), got ${result === null ? "null" : typeof result}`,
  );
}
