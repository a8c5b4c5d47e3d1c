/**
 * Event-time interval join of two streams (Flink's `intervalJoin`, Kafka Streams' stream-stream
 * join): a left record at time t pairs with the right records at times t' with
 * `t - before <= t' <= t + after` (both ends inclusive), optionally only those with an equal key.
 *
 * - pick "all": one output per matching right record, in order of (t', arrival);
 *   pick "nearest": one output with the right record nearest in time; ties go to the earlier right
 *   record, then to the one that arrived first.
 * - A left record is emitted once the join watermark W = min(watermark of the left input,
 *   watermark of the right input) passes t + after (W > t + after): only then is every right record
 *   it can pair with known, so the output does not depend on how the two inputs interleave.
 *   Due records are emitted in order of (t, arrival on the left).
 * - Late: a left record with t + after < W (the right records it could pair with may be gone); a
 *   right record with t' < W (a left record it could pair with may already be emitted). Late records
 *   go to `<pipeline>.late` and change nothing.
 * - State: pending left records, and right records until W > t' + before + after (no pending or
 *   future left record can reach them). Checkpointed by snapshot/restore; end of input (W = +inf)
 *   emits every pending left record.
 * - Unmatched left records: "drop" (inner join; counted in `unmatched`) or "keep" (left outer join:
 *   one output with `right: null`).
 * - The join's own watermark, for the event-time steps after it, is W - after: every record it
 *   emits later has a time at or past it, so windows downstream never see its outputs as late.
 *
 * Output records are `{ left, right }` with the left record's event time, key, source position and
 * raw line (a dead letter or late record downstream names the left input line).
 */
import { decodeJsonValue, encodeJsonValue } from "../util/json-value.js";
import type { JoinPick, JoinUnmatched, Key, RecordContext } from "../graph/graph.js";
import type { RecordHeader } from "../log/types.js";
import { formatDuration } from "../util/duration.js";
import { isThenable, thenableResult } from "./sync-only.js";
import type { DeadLetterHandler } from "./source.js";
import type { LateHandler } from "./window-aggregate.js";
import {
  StepFailure,
  newRecordContext,
  type Operator,
  type Stateful,
  type StepCounters,
  type TimeDriven,
} from "./types.js";

export interface IntervalJoinSpec {
  /** How far before the left record's time a right record may lie, ms (>= 0). */
  readonly beforeMs: number;
  /** How far after the left record's time a right record may lie, ms (>= 0). */
  readonly afterMs: number;
  readonly pick: JoinPick;
  readonly unmatched: JoinUnmatched;
  /** Match only records with equal keys: functions of the left and the right value. */
  readonly on: { readonly left: (value: any) => Key; readonly right: (value: any) => Key } | undefined;
}

/** A step with an event-time watermark that event-time steps after it follow: a source or a join. */
export interface WatermarkOrigin {
  readonly watermark: number;
  readonly timeDriven: TimeDriven[];
}

/** A joined record. `right` is null for an unmatched left record when unmatched is "keep". */
export interface JoinedRecord<L = unknown, R = unknown> {
  left: L;
  right: R;
}

interface LeftEntry {
  t: number;
  seq: number;
  value: unknown;
  joinKey: Key | undefined;
  key: Key | undefined;
  topic: string;
  partition: number;
  offset: number;
  raw: string;
  headers: readonly RecordHeader[] | undefined;
}

interface RightEntry {
  t: number;
  seq: number;
  value: unknown;
}

/** [t, seq, value, joinKey, key, topic, partition, offset, raw, headers as [key, base64][]] */
type LeftSnapshot = [
  number,
  number,
  unknown,
  Key | null,
  Key | null,
  string,
  number,
  number,
  string,
  Array<[string, string]> | null,
];
/** [t, seq, value] */
type RightSnapshot = [number, number, unknown];

interface JoinSnapshot {
  /** The join watermark last acted on (null: -infinity). */
  watermark: number | null;
  leftSeq: number;
  rightSeq: number;
  lefts: LeftSnapshot[];
  /** Right records per join key (a single entry with key null when the join has no key). */
  rights: Array<[Key | null, RightSnapshot[]]>;
}

const NO_KEY = "\u0000nokey";

export class IntervalJoinOperator implements Stateful, TimeDriven, WatermarkOrigin {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  /** Where left-side records are pushed. */
  readonly left: Operator;
  /** Where right-side records are pushed. */
  readonly right: Operator;
  next!: Operator;
  /** Event-time steps after the join, told when its watermark moves. */
  readonly timeDriven: TimeDriven[] = [];
  /** Left records emitted without a partner (dropped when unmatched is "drop"). */
  unmatched = 0;
  /** Pending left records, sorted by (t, seq). */
  private lefts: LeftEntry[] = [];
  /** Right records per join key, each list sorted by (t, seq). */
  private rights = new Map<Key, RightEntry[]>();
  private rightCount = 0;
  private leftSeq = 0;
  private rightSeq = 0;
  /** The join watermark (min of both inputs) last acted on. */
  private joinWatermark = -Infinity;
  private readonly emitCtx: RecordContext = newRecordContext();

  constructor(
    readonly id: string,
    private readonly spec: IntervalJoinSpec,
    private readonly leftOrigin: WatermarkOrigin,
    private readonly rightOrigin: WatermarkOrigin,
    private readonly onLate: LateHandler,
    private readonly deadLetter: DeadLetterHandler,
  ) {
    const counters = this.counters;
    this.left = { id: `${id}/left`, counters, push: (v, ctx) => this.pushLeft(v, ctx) };
    this.right = { id: `${id}/right`, counters, push: (v, ctx) => this.pushRight(v, ctx) };
  }

  /** The join's output watermark: no record it emits from now on is earlier. */
  get watermark(): number {
    return this.joinWatermark - this.spec.afterMs;
  }

  /** min(left input watermark, right input watermark), as it stands now. */
  private inputWatermark(): number {
    const l = this.leftOrigin.watermark;
    const r = this.rightOrigin.watermark;
    return l < r ? l : r;
  }

  private joinKeyOf(side: "left" | "right", value: unknown): Key | undefined {
    const on = this.spec.on;
    if (on === undefined) return undefined;
    try {
      const key = on[side](value);
      if (isThenable(key)) throw thenableResult(`the join's on.${side} function`, key);
      return key;
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
  }

  private pushLeft(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    const t = ctx.timestamp;
    const w = this.inputWatermark();
    if (t + this.spec.afterMs < w) {
      this.onLate(
        ctx,
        `late: event time ${iso(t)} is more than ${formatDuration(this.spec.afterMs)} behind the watermark ${iso(w)} of join ${this.id}: ` +
          "the right records it could pair with are no longer kept",
      );
      return;
    }
    const entry: LeftEntry = {
      t,
      seq: this.leftSeq++,
      value,
      joinKey: this.joinKeyOf("left", value),
      key: ctx.key,
      topic: ctx.topic,
      partition: ctx.partition,
      offset: ctx.offset,
      raw: ctx.raw,
      headers: ctx.headers,
    };
    insertSorted(this.lefts, entry);
  }

  private pushRight(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    const t = ctx.timestamp;
    const w = this.inputWatermark();
    if (t < w) {
      this.onLate(
        ctx,
        `late: event time ${iso(t)} is behind the watermark ${iso(w)} of join ${this.id}: ` +
          "left records it could pair with may already have been emitted",
      );
      return;
    }
    const k = this.joinKeyOf("right", value) ?? NO_KEY;
    let list = this.rights.get(k);
    if (list === undefined) this.rights.set(k, (list = []));
    insertSorted(list, { t, seq: this.rightSeq++, value });
    this.rightCount++;
  }

  onTime(): void {
    const w = this.inputWatermark();
    // The inputs had ended (everything pending was emitted then) and more input came (Task.endOfInput):
    // go on from the inputs' watermarks.
    if (this.joinWatermark === Infinity && w < Infinity) this.joinWatermark = -Infinity;
    if (w <= this.joinWatermark) return;
    // Emit what is due while the output watermark still stands where it was: every record emitted
    // now has t >= the old output watermark.
    const after = this.spec.afterMs;
    const lefts = this.lefts;
    let due = 0;
    while (due < lefts.length && lefts[due].t + after < w) due++;
    if (due > 0) {
      const emitting = lefts.splice(0, due);
      for (const l of emitting) this.emit(l);
    }
    this.joinWatermark = w;
    this.dropRightsBefore(w - after - this.spec.beforeMs);
    const steps = this.timeDriven;
    for (let i = 0; i < steps.length; i++) steps[i].onTime();
  }

  /** Forget right records with t' < `limit`: no pending or future left record can reach them. */
  private dropRightsBefore(limit: number): void {
    if (this.rightCount === 0) return;
    for (const [k, list] of this.rights) {
      let n = 0;
      while (n < list.length && list[n].t < limit) n++;
      if (n === 0) continue;
      this.rightCount -= n;
      if (n === list.length) this.rights.delete(k);
      else list.splice(0, n);
    }
  }

  private emit(l: LeftEntry): void {
    const list = this.rights.get(l.joinKey ?? NO_KEY);
    const lo = l.t - this.spec.beforeMs;
    const hi = l.t + this.spec.afterMs;
    if (this.spec.pick === "nearest") {
      const r = list === undefined ? undefined : nearest(list, l.t, lo, hi);
      if (r !== undefined) this.push(l, r.value);
      else this.noPartner(l);
      return;
    }
    let any = false;
    if (list !== undefined) {
      for (let i = lowerBound(list, lo); i < list.length && list[i].t <= hi; i++) {
        any = true;
        this.push(l, list[i].value);
      }
    }
    if (!any) this.noPartner(l);
  }

  private noPartner(l: LeftEntry): void {
    this.unmatched++;
    if (this.spec.unmatched === "keep") this.push(l, null);
  }

  private push(l: LeftEntry, right: unknown): void {
    const ctx = this.emitCtx;
    ctx.key = l.key;
    ctx.timestamp = l.t;
    ctx.topic = l.topic;
    ctx.partition = l.partition;
    ctx.offset = l.offset;
    ctx.raw = l.raw;
    ctx.headers = l.headers;
    const record: JoinedRecord = { left: l.value, right };
    this.counters.recordsOut++;
    try {
      this.next.push(record, ctx);
    } catch (err) {
      // Emitting runs on a watermark move, not inside a source's push: report the failure here.
      if (!(err instanceof StepFailure)) throw err;
      this.deadLetter(ctx, err.message, err.stepId);
    }
  }

  stateSize(): number {
    return this.lefts.length + this.rightCount;
  }

  snapshot(): JoinSnapshot {
    return {
      watermark: Number.isFinite(this.joinWatermark) ? this.joinWatermark : null,
      leftSeq: this.leftSeq,
      rightSeq: this.rightSeq,
      lefts: this.lefts.map((l) => [
        l.t,
        l.seq,
        encodeJsonValue(l.value),
        l.joinKey ?? null,
        l.key ?? null,
        l.topic,
        l.partition,
        l.offset,
        l.raw,
        l.headers === undefined
          ? null
          : l.headers.map((h): [string, string] => [h.key, h.value.toString("base64")]),
      ]),
      rights: Array.from(this.rights, ([k, list]): [Key | null, RightSnapshot[]] => [
        k === NO_KEY ? null : k,
        list.map((r): RightSnapshot => [r.t, r.seq, encodeJsonValue(r.value)]),
      ]),
    };
  }

  restore(state: unknown): void {
    const s = state as JoinSnapshot;
    this.joinWatermark = s.watermark ?? -Infinity;
    this.leftSeq = s.leftSeq;
    this.rightSeq = s.rightSeq;
    this.lefts = s.lefts.map(([t, seq, value, joinKey, key, topic, partition, offset, raw, headers]) => ({
      t,
      seq,
      value: decodeJsonValue(value),
      joinKey: joinKey ?? undefined,
      key: key ?? undefined,
      topic,
      partition,
      offset,
      raw,
      headers:
        headers === null ? undefined : headers.map(([k, v]) => ({ key: k, value: Buffer.from(v, "base64") })),
    }));
    this.rights = new Map();
    this.rightCount = 0;
    for (const [k, list] of s.rights) {
      this.rights.set(
        k ?? NO_KEY,
        list.map(([t, seq, value]) => ({ t, seq, value: decodeJsonValue(value) })),
      );
      this.rightCount += list.length;
    }
  }
}

/** Insert keeping (t, seq) order; records mostly arrive in time order, so search from the end. */
function insertSorted<E extends { t: number; seq: number }>(list: E[], e: E): void {
  let i = list.length;
  while (i > 0 && list[i - 1].t > e.t) i--;
  if (i === list.length) list.push(e);
  else list.splice(i, 0, e);
}

/** First index whose t >= x. */
function lowerBound(list: readonly RightEntry[], x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].t < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The entry nearest to t within [lo, hi]: the smallest |t' - t|; a tie between an earlier and a
 * later one goes to the earlier; among equal times, to the first that arrived (lowest seq).
 */
function nearest(list: readonly RightEntry[], t: number, lo: number, hi: number): RightEntry | undefined {
  const i = lowerBound(list, t); // list[i]: the first at or after t (lowest seq among its time)
  let down: RightEntry | undefined;
  if (i > 0 && list[i - 1].t >= lo) {
    let j = i - 1;
    while (j > 0 && list[j - 1].t === list[i - 1].t) j--;
    down = list[j];
  }
  const up = i < list.length && list[i].t <= hi ? list[i] : undefined;
  if (up === undefined) return down;
  if (down === undefined) return up;
  return up.t - t < t - down.t ? up : down;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : ms > 0 ? "+infinity" : "-infinity";
}
