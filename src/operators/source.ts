/**
 * The head of a pipeline: turns each input line into a typed record with its event time, sends
 * what fails to parse to the dead letters, and keeps the source's watermark.
 *
 * Watermark (DESIGN.md §4): W = (max event time seen) - maxOutOfOrderness, never decreasing, advanced
 * by every valid record (also those a later filter drops), after the record was processed — so each
 * record is judged against W as it stood before it.
 */
import type { RecordHeader } from "../log/types.js";
import type { RecordContext } from "../graph/graph.js";
import type { CompiledSchema } from "../schema/index.js";
import { cutText, wellFormed } from "../util/text.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { StepFailure, newRecordContext, type Operator, type StepCounters, type TimeDriven } from "./types.js";

/** A record became a dead letter at step `stepId` (the source itself, or the step whose function threw). */
export type DeadLetterHandler = (ctx: RecordContext, reason: string, stepId: string) => void;

/** The largest epoch milliseconds a Date holds (±100,000,000 days). */
const MAX_DATE_MS = 8.64e15;

export class SourceOperator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  /** Event-time steps downstream, told when the watermark moves. */
  readonly timeDriven: TimeDriven[] = [];
  watermark = -Infinity;
  /** Highest event time seen (for metrics and for the timestamps of dead letters from files). */
  maxEventTime = -Infinity;
  deadLetters = 0;
  private readonly ctx: RecordContext = newRecordContext();

  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly decoder: CompiledSchema<unknown> | undefined,
    private readonly eventTime: ((value: any) => Date | number) | undefined,
    private readonly maxOutOfOrdernessMs: number,
    private readonly deadLetter: DeadLetterHandler,
  ) {}

  /**
   * One input record. `logTimestamp` is the record's timestamp in the log (its event time when the
   * pipeline names no eventTime field).
   */
  processLine(
    line: string,
    partition: number,
    offset: number,
    logTimestamp: number,
    headers?: readonly RecordHeader[],
  ): void {
    const ctx = this.begin(line, partition, offset, logTimestamp, headers);

    const value = this.decodeValue(line);
    if (value === undefined) return this.reject(this.decodeError);

    let t = logTimestamp;
    if (this.eventTime !== undefined) {
      let et: Date | number;
      try {
        et = this.eventTime(value);
      } catch (err) {
        return this.reject(`event time: ${(err as Error).message}`);
      }
      t = typeof et === "number" ? et : et instanceof Date ? et.getTime() : NaN;
      if (!Number.isFinite(t))
        return this.reject(
          isThenable(et)
            ? `event time: ${thenableResult("the eventTime function", et).message}`
            : `event time: expected a Date or epoch milliseconds, got ${describe(et)}`,
        );
      // A number beyond what a Date holds is no instant: sinks (lake partitions, tables) need one.
      if (t > MAX_DATE_MS || t < -MAX_DATE_MS)
        return this.reject(
          `event time: ${t} epoch milliseconds is out of range (at most ${MAX_DATE_MS} either side of 1970)`,
        );
      ctx.timestamp = t;
    }

    this.counters.recordsOut++;
    try {
      this.next.push(value, ctx);
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      this.deadLetters++;
      this.deadLetter(ctx, err.message, err.stepId);
    }
    if (t > this.maxEventTime) {
      this.maxEventTime = t;
      const w = t - this.maxOutOfOrdernessMs;
      if (w > this.watermark) this.advanceWatermark(w);
    }
  }

  /**
   * One input record that cannot be read at all (over the maximum record size, or bytes that are
   * not UTF-8): a dead letter with `reason`, `raw` being what can be shown of it. The watermark does
   * not move.
   */
  rejectRecord(
    raw: string,
    partition: number,
    offset: number,
    logTimestamp: number,
    headers: readonly RecordHeader[] | undefined,
    reason: string,
  ): void {
    this.begin(raw, partition, offset, logTimestamp, headers);
    this.reject(reason);
  }

  private begin(
    raw: string,
    partition: number,
    offset: number,
    logTimestamp: number,
    headers: readonly RecordHeader[] | undefined,
  ): RecordContext {
    this.counters.recordsIn++;
    const ctx = this.ctx;
    ctx.key = undefined;
    ctx.topic = this.topic;
    ctx.partition = partition;
    ctx.offset = offset;
    ctx.raw = raw;
    ctx.headers = headers;
    ctx.timestamp = logTimestamp;
    return ctx;
  }

  /**
   * The value processLine makes of `line`, or undefined when the line is rejected (the reason is in
   * decodeError then). An exchange rebuilds values with it rather than sending them next to the line.
   */
  decodeValue(line: string): unknown {
    if (this.decoder !== undefined) {
      const value = this.decoder.decodeLine(line);
      if (value === undefined) this.decodeError = this.decoder.error;
      return value;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      // V8 quotes the start of the line, cut in UTF-16 units: possibly half of a surrogate pair.
      this.decodeError = `invalid JSON: ${wellFormed((err as Error).message)}`;
      return undefined;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.decodeError = `expected a JSON object, got ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}`;
      return undefined;
    }
    return value;
  }

  /** Why the last decodeValue gave undefined. */
  decodeError = "";

  /**
   * After the end of an input (W = +infinity) more input arrives (a second bounded file, a live run
   * after `--until-end`): the watermark goes back to what this source's records give, so that the
   * new records are not all late. The windows that the end closed stay closed (each windowed step
   * remembers how far it closed them).
   */
  reopen(): void {
    this.watermark =
      this.maxEventTime === -Infinity ? -Infinity : this.maxEventTime - this.maxOutOfOrdernessMs;
  }

  /** Move the watermark forward (never back) and let windows close. `Infinity` closes every window. */
  advanceWatermark(w: number): void {
    if (w <= this.watermark) return;
    this.watermark = w;
    const steps = this.timeDriven;
    for (let i = 0; i < steps.length; i++) steps[i].onTime();
  }

  private reject(reason: string): void {
    this.deadLetters++;
    if (this.maxEventTime > -Infinity && this.ctx.timestamp === 0) this.ctx.timestamp = this.maxEventTime;
    this.deadLetter(this.ctx, reason, this.id);
  }
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (x instanceof Date) return "an invalid Date";
  if (typeof x === "string") return `string ${JSON.stringify(cutText(x, 60))}`;
  return typeof x;
}
