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
    const decoded = this.scratch;
    this.decode(line, logTimestamp, decoded);
    this.emit(decoded, line, partition, offset, logTimestamp, headers);
  }

  /**
   * The first half of processLine: what this source makes of `line` (its value and event time, or
   * why it is a dead letter), into `into`, without processing it. The input chooser
   * (runtime/input-chooser.ts) decodes the next record of every input partition this way to know its
   * event time; `emit` processes it later. Decoding touches no state.
   */
  decode(line: string, logTimestamp: number, into: DecodedRecord): void {
    const value = this.decodeValue(line);
    into.value = value;
    into.eventTime = logTimestamp;
    into.error = undefined;
    if (value === undefined) {
      into.error = this.decodeError;
      return;
    }
    if (this.eventTime === undefined) return;
    let et: Date | number;
    try {
      et = this.eventTime(value);
    } catch (err) {
      into.error = `event time: ${(err as Error).message}`;
      return;
    }
    const t = typeof et === "number" ? et : et instanceof Date ? et.getTime() : NaN;
    if (!Number.isFinite(t)) {
      into.error = isThenable(et)
        ? `event time: ${thenableResult("the eventTime function", et).message}`
        : `event time: expected a Date or epoch milliseconds, got ${describe(et)}`;
      return;
    }
    // A number beyond what a Date holds is no instant: sinks (lake partitions, tables) need one.
    if (t > MAX_DATE_MS || t < -MAX_DATE_MS) {
      into.error = `event time: ${t} epoch milliseconds is out of range (at most ${MAX_DATE_MS} either side of 1970)`;
      return;
    }
    into.eventTime = t;
  }

  /** The second half of processLine: the record `decode` made of `line` goes on (or is a dead letter). */
  emit(
    decoded: DecodedRecord,
    line: string,
    partition: number,
    offset: number,
    logTimestamp: number,
    headers: readonly RecordHeader[] | undefined,
  ): void {
    const ctx = this.begin(line, partition, offset, logTimestamp, headers);
    if (decoded.error !== undefined) return this.reject(decoded.error);
    const t = decoded.eventTime;
    ctx.timestamp = t;
    this.counters.recordsOut++;
    try {
      this.next.push(decoded.value, ctx);
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      this.deadLetters++;
      this.deadLetter(ctx, err.message, err.stepId);
    }
    if (this.partitions === undefined) {
      if (t > this.maxEventTime) {
        this.maxEventTime = t;
        const w = t - this.maxOutOfOrdernessMs;
        if (w > this.watermark) this.advanceWatermark(w);
      }
    } else {
      if (t > this.maxEventTime) this.maxEventTime = t;
      this.partitionEventTime(partition, t);
    }
  }

  /** processLine's decoding, reused record after record. */
  private readonly scratch = new DecodedRecord();

  /**
   * Several partitions of the topic feed this source (the embedded runtime reads every partition of
   * its input topics in one task): each keeps its own watermark, (highest event time of the
   * partition) - maxOutOfOrderness, and the source's watermark is the lowest of them over the
   * partitions that are not idle (DESIGN.md §4, per partition; as Kafka Streams and Flink combine
   * partitions). With one partition (or none named) the source keeps one watermark as before.
   */
  readsPartitions(partitions: readonly number[]): void {
    if (partitions.length <= 1) {
      this.partitions = undefined;
      return;
    }
    const p = new PartitionClocks();
    for (const n of partitions) p.add(n);
    this.partitions = p;
  }

  /**
   * A partition has nothing to read (drained, and quiet for the idle timeout of a live run, or read
   * to its end in a bounded one): leave it out of the watermark until its next record. When every
   * partition is idle, the highest of their watermarks holds (as Flink's watermark valve does).
   */
  partitionIdle(partition: number): void {
    const p = this.partitions;
    if (p === undefined || !p.setIdle(partition)) return;
    this.recomputePartitions();
  }

  /** The per-partition watermarks, when this source reads several partitions. */
  private partitions: PartitionClocks | undefined;

  private partitionEventTime(partition: number, t: number): void {
    const p = this.partitions!;
    // A record of an idle partition makes it active again: it holds the watermark from now on
    // (which never goes back).
    if (p.record(partition, t)) this.recomputePartitions();
  }

  private recomputePartitions(): void {
    const w = this.partitions!.lowestMax() - this.maxOutOfOrdernessMs;
    if (w > this.watermark) this.advanceWatermark(w);
  }

  /** Each partition's highest event time (null before its first record), for a checkpoint. */
  partitionSnapshot(): Record<string, number | null> | undefined {
    return this.partitions?.snapshot();
  }

  restorePartitions(saved: Record<string, number | null> | undefined): void {
    if (saved !== undefined) this.partitions?.restore(saved);
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
    const parts = this.partitions;
    if (parts !== undefined) {
      parts.activateAll();
      this.watermark = parts.lowestMax() - this.maxOutOfOrdernessMs;
      return;
    }
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

/** A record as `SourceOperator.decode` made it: its value and event time, or why it is a dead letter. */
export class DecodedRecord {
  value: unknown = undefined;
  /** Epoch milliseconds (the log timestamp when the pipeline names no eventTime). */
  eventTime = 0;
  /** Set when the record is a dead letter of the source. */
  error: string | undefined = undefined;
}

/** The highest event time of each partition a source reads, and which of them are idle. */
class PartitionClocks {
  private readonly numbers: number[] = [];
  /** Index into the arrays by partition number. */
  private readonly slot: number[] = [];
  private readonly max: number[] = [];
  private readonly idle: boolean[] = [];
  /** What lowestMax() gave last. */
  private low = -Infinity;

  add(partition: number): number {
    const known = this.slot[partition];
    if (known !== undefined) return known;
    const i = this.numbers.length;
    this.slot[partition] = i;
    this.numbers.push(partition);
    this.max.push(-Infinity);
    this.idle.push(false);
    return i;
  }

  /**
   * A record of `partition` at event time t; true when the lowest maximum may have moved: only a
   * partition at the lowest, or one coming back from idle, can move it.
   */
  record(partition: number, t: number): boolean {
    let i = this.slot[partition];
    if (i === undefined) i = this.add(partition); // a partition added to the topic while running
    const m = this.max[i];
    if (this.idle[i]) {
      this.idle[i] = false;
      if (t > m) this.max[i] = t;
      return true;
    }
    if (t <= m) return false;
    this.max[i] = t;
    return m <= this.low;
  }

  /** True when the partition was active. */
  setIdle(partition: number): boolean {
    const i = this.slot[partition];
    if (i === undefined || this.idle[i]) return false;
    this.idle[i] = true;
    return true;
  }

  activateAll(): void {
    this.idle.fill(false);
  }

  /**
   * The lowest highest event time over the active partitions; when all are idle, the highest of
   * theirs (-Infinity before any record).
   */
  lowestMax(): number {
    let low = Infinity;
    let idleHigh = -Infinity;
    let active = false;
    for (let i = 0; i < this.max.length; i++) {
      const m = this.max[i];
      if (this.idle[i]) {
        if (m > idleHigh) idleHigh = m;
      } else {
        active = true;
        if (m < low) low = m;
      }
    }
    this.low = active ? low : idleHigh;
    return this.low;
  }

  snapshot(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (let i = 0; i < this.numbers.length; i++)
      out[this.numbers[i]] = Number.isFinite(this.max[i]) ? this.max[i] : null;
    return out;
  }

  restore(saved: Record<string, number | null>): void {
    for (const [partition, max] of Object.entries(saved)) {
      const i = this.add(Number(partition));
      this.max[i] = max ?? -Infinity;
    }
    this.lowestMax();
  }
}
