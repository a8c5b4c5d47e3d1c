/**
 * Keyed aggregate over tumbling or hopping windows ([start, end), aligned to the epoch).
 *
 * Event time (DESIGN.md §4): a window fires when the watermark W >= end. An event whose window has
 * end + allowedLateness <= W (W as it stood before the event) is late: it goes to `<pipeline>.late`
 * and does not change that window. With allowed lateness, a fired window is kept until
 * W >= end + allowedLateness and each late update re-emits its final value (as Flink's late firings).
 *
 * Processing time: the same with the wall clock in place of event time and watermark; never late.
 *
 * End of input (W = +infinity) fires every window. Should more input follow (the next bounded file,
 * a live run after `--until-end`), the watermark goes back to what the records give, but the windows
 * the end closed stay closed: an event for a window ending at or before the last one the end fired
 * is late (`closedThrough`).
 */
import type { AggregateFunction, Key, RecordContext } from "../graph/graph.js";
import {
  alignedStart,
  type HoppingWindowSpec,
  type TumblingWindowSpec,
  type Window,
} from "../time/windows.js";
import { foldInto } from "./aggregations.js";
import type { DeadLetterHandler } from "./source.js";
import {
  StepFailure,
  type Operator,
  type Stateful,
  type StepCounters,
  type TimeDriven,
  type UpdateConsumer,
  newRecordContext,
} from "./types.js";

/** The time a windowed step lives by: the watermark of its sources, or the wall clock. */
export interface Clock {
  now(): number;
}

/** Reports a record that came too late for a window. */
export type LateHandler = (ctx: RecordContext, reason: string) => void;

interface Bucket {
  readonly startMs: number;
  readonly endMs: number;
  readonly window: Window;
  accs: Map<Key, unknown>;
  /** Per consumer, keys that already fired in this window (crossing). */
  fired: Set<Key>[];
  /** The window has fired (W >= end); it stays only while allowed lateness keeps it open. */
  closed: boolean;
}

interface BucketSnapshot {
  start: number;
  end: number;
  closed: boolean;
  entries: Array<[Key, unknown]>;
  fired: Key[][];
}

/** The open windows, and (once an input ended) the end of the last window the end of input fired. */
type WindowSnapshot = BucketSnapshot[] | { buckets: BucketSnapshot[]; closedThrough: number };

export class WindowAggregateOperator implements Operator, Stateful, TimeDriven {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  private readonly consumers: UpdateConsumer[] = [];
  private hasFinalConsumer = false;
  /** Open (and lateness-retained) windows, by end ascending. */
  private buckets: Bucket[] = [];
  private byStart = new Map<number, Bucket>();
  private last: Bucket | undefined;
  /** The earliest time at which onTime() has something to do. */
  private nextDue = Infinity;
  /** Windows ending at or before this were closed by an end of input: events for them are late. */
  private closedThrough = -Infinity;
  private readonly sizeMs: number;
  private readonly slideMs: number;
  private readonly processingTime: boolean;
  private readonly fireCtx: RecordContext = newRecordContext();

  constructor(
    readonly id: string,
    private readonly fn: AggregateFunction<any, any, any>,
    spec: TumblingWindowSpec | HoppingWindowSpec,
    private readonly allowedLatenessMs: number,
    private readonly clock: Clock,
    private readonly onLate: LateHandler,
    /** A step after this one threw on a result fired by time: that result becomes a dead letter. */
    private readonly onFailure: DeadLetterHandler = (_ctx, reason) => {
      throw new Error(reason);
    },
  ) {
    this.sizeMs = spec.sizeMs;
    this.slideMs = spec.type === "hopping" ? spec.slideMs : spec.sizeMs;
    this.processingTime = spec.time === "processing";
  }

  addConsumer(c: UpdateConsumer & { mode: string }): void {
    this.consumers.push(c);
    if (c.mode === "final") this.hasFinalConsumer = true;
    for (const b of this.buckets) b.fired.push(new Set());
  }

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    const key = ctx.key;
    if (key === undefined)
      throw new StepFailure(this.id, new Error("a window needs a keyed stream (keyBy before it)"));
    const now = this.clock.now();
    const t = this.processingTime ? now : ctx.timestamp;
    let lateBound = this.processingTime ? -Infinity : now - this.allowedLatenessMs; // end <= lateBound -> late
    if (this.closedThrough > lateBound) lateBound = this.closedThrough;
    let lateWindow: [number, number] | undefined;
    // Windows containing t: starts aligned to the slide, from the latest back while start + size > t.
    const first = alignedStart(t, this.slideMs);
    for (
      let start = first - (Math.ceil(this.sizeMs / this.slideMs) - 1) * this.slideMs;
      start <= first;
      start += this.slideMs
    ) {
      const end = start + this.sizeMs;
      if (end <= t) continue;
      if (end <= lateBound) {
        lateWindow ??= [start, end];
        continue;
      }
      this.updateWindow(start, end, key, value, ctx);
    }
    if (lateWindow !== undefined)
      this.onLate(
        ctx,
        lateWindow[1] <= this.closedThrough
          ? closedByEndReason(t, lateWindow)
          : lateReason(t, lateWindow, now, this.allowedLatenessMs),
      );
  }

  private updateWindow(start: number, end: number, key: Key, value: unknown, ctx: RecordContext): void {
    let b = this.last;
    if (b === undefined || b.startMs !== start) {
      b = this.byStart.get(start) ?? this.openBucket(start, end);
      this.last = b;
    }
    const result = foldInto(this.fn, b.accs, key, value, this.id);
    this.counters.recordsOut++;
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++) {
      consumers[i].update(key, result, b.window, ctx, b.fired[i]);
      if (b.closed) consumers[i].final(key, result, b.window, ctx);
    }
  }

  private openBucket(start: number, end: number): Bucket {
    const b: Bucket = {
      startMs: start,
      endMs: end,
      window: Object.freeze({ start: new Date(start), end: new Date(end) }),
      accs: new Map(),
      fired: this.consumers.map(() => new Set<Key>()),
      closed: false,
    };
    this.byStart.set(start, b);
    // Keep buckets sorted by end; new windows almost always go last.
    let i = this.buckets.length;
    while (i > 0 && this.buckets[i - 1].endMs > end) i--;
    this.buckets.splice(i, 0, b);
    if (end < this.nextDue) this.nextDue = end;
    return b;
  }

  onTime(): void {
    const now = this.clock.now();
    if (now < this.nextDue) return;
    if (now === Infinity && this.buckets.length > 0) {
      const lastEnd = this.buckets[this.buckets.length - 1].endMs;
      if (lastEnd > this.closedThrough) this.closedThrough = lastEnd;
    }
    const lateness = this.allowedLatenessMs;
    let expired = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      const b = this.buckets[i];
      if (b.endMs > now) break;
      if (!b.closed) {
        b.closed = true;
        if (this.hasFinalConsumer) this.fire(b);
      }
      // Sorted by end with one lateness for all: the expired windows are a prefix.
      if (i === expired && b.endMs + lateness <= now) expired++;
    }
    if (expired > 0) {
      for (let i = 0; i < expired; i++) this.byStart.delete(this.buckets[i].startMs);
      this.buckets.splice(0, expired);
      this.last = undefined;
    }
    this.recomputeNextDue();
  }

  private recomputeNextDue(): void {
    let due = Infinity;
    for (const b of this.buckets) {
      const t = b.closed ? b.endMs + this.allowedLatenessMs : b.endMs;
      if (t < due) due = t;
    }
    this.nextDue = due;
  }

  private fire(b: Bucket): void {
    const ctx = this.fireCtx;
    ctx.timestamp = b.endMs - 1; // the window's last instant, as its records' event time
    const consumers = this.consumers;
    const fn = this.fn;
    for (const [key, acc] of b.accs) {
      ctx.key = key;
      let result: unknown;
      try {
        result = fn.result(acc);
      } catch (err) {
        ctx.raw = firedRaw(key, b.window, undefined);
        this.onFailure(ctx, new StepFailure(this.id, err).message, this.id);
        ctx.raw = "";
        continue;
      }
      for (let i = 0; i < consumers.length; i++) {
        try {
          consumers[i].final(key, result, b.window, ctx);
        } catch (err) {
          if (!(err instanceof StepFailure)) throw err;
          ctx.raw = firedRaw(key, b.window, result);
          this.onFailure(ctx, err.message, err.stepId);
          ctx.raw = "";
        }
      }
    }
    ctx.key = undefined;
  }

  stateSize(): number {
    let n = 0;
    for (const b of this.buckets) n += b.accs.size;
    return n;
  }

  snapshot(): WindowSnapshot {
    const save = this.fn.save;
    const buckets = this.buckets.map((b) => ({
      start: b.startMs,
      end: b.endMs,
      closed: b.closed,
      entries: Array.from(b.accs, ([k, acc]): [Key, unknown] => [k, save ? save(acc) : acc]),
      fired: b.fired.map((s) => [...s]),
    }));
    return this.closedThrough === -Infinity ? buckets : { buckets, closedThrough: this.closedThrough };
  }

  restore(state: unknown): void {
    const load = this.fn.load;
    this.buckets = [];
    this.byStart = new Map();
    this.last = undefined;
    const saved = state as WindowSnapshot;
    this.closedThrough = Array.isArray(saved) ? -Infinity : saved.closedThrough;
    for (const s of Array.isArray(saved) ? saved : saved.buckets) {
      const b: Bucket = {
        startMs: s.start,
        endMs: s.end,
        window: Object.freeze({ start: new Date(s.start), end: new Date(s.end) }),
        accs: new Map(s.entries.map(([k, saved]) => [k, load ? load(saved) : saved])),
        fired: this.consumers.map((_, i) => new Set(s.fired[i] ?? [])),
        closed: s.closed,
      };
      this.buckets.push(b);
      this.byStart.set(b.startMs, b);
    }
    this.recomputeNextDue();
  }
}

export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : ms > 0 ? "+infinity" : "-infinity";
}

export function lateReason(
  t: number,
  [start, end]: [number, number],
  watermark: number,
  allowedLatenessMs: number,
): string {
  const lateness = allowedLatenessMs > 0 ? ` plus allowed lateness ${allowedLatenessMs} ms` : "";
  return `late: event time ${iso(t)} falls in window [${iso(start)}, ${iso(end)}) which closed at watermark ${iso(watermark)}${lateness}`;
}

/** Why an event is late whose window an earlier end of input closed. */
export function closedByEndReason(t: number, [start, end]: [number, number]): string {
  return `late: event time ${iso(t)} falls in window [${iso(start)}, ${iso(end)}) which was closed when an earlier input ended`;
}

/** What a dead letter shows as its raw record when a window's fired result failed downstream. */
export function firedRaw(key: Key, window: Window, result: unknown): string {
  try {
    return JSON.stringify({ key, window: { start: window.start, end: window.end }, value: result });
  } catch {
    return JSON.stringify({ key, window: { start: window.start, end: window.end } });
  }
}
