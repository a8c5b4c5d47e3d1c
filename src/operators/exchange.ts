/**
 * The exchange at a `keyBy` when a pipeline runs as several partition tasks on Kafka (a
 * "repartition" in Kafka Streams' words). Each task runs the whole graph, but a keyBy's records do
 * not go on to the keyed steps in the same task: the ExchangeSender writes them to the internal
 * topic `weir.<pipeline>.<step>.repartition`, partitioned by key, and the ExchangeReceiver of the
 * task owning that partition feeds them to the keyed steps. So every key's state lives in exactly
 * one task, whichever input partitions its records came from.
 *
 * Watermarks cross the exchange with the records (DESIGN.md §4 judges an event against the
 * watermark as it stood before it): a data record carries its sender's watermark from before the
 * event (its stamp), and each sender also broadcasts its watermark to every partition when it moves,
 * so a partition that receives no records from a sender still learns how far that sender has got.
 * The receiver passes records on in a deterministic order, by stamp (see ExchangeReceiver); +infinity
 * from every sender means every sender's input is complete.
 *
 * Wire format. A repartition record is a pack of frames (written by PendingOutputs, joined by "\n"):
 * - a data frame is a JSON array `[sender, watermark, eventTime, key, topic, partition, offset,
 *   rawLength, flags, headers?]`, a newline, the record's input line verbatim (`rawLength` UTF-16
 *   units: it may hold newlines, and is not escaped), then the value as JSON unless flag 1 says the
 *   value is what the source makes of the line (no step before the keyBy changes values: the
 *   receiver decodes the line again, which costs less than encoding, sending and parsing the value);
 *   flag 2: the value JSON has tagged Dates (json-value.ts);
 * - a watermark frame is `[sender, watermark]`, an idle frame `[sender, "i"]`.
 * A watermark is a number, null for -infinity or "e" for +infinity. Packs written by earlier
 * versions (JSON objects, one per line) are still read.
 */
import type { Key, RecordContext } from "../graph/graph.js";
import type { RecordHeader } from "../log/types.js";
import type { OutputCollector, Operator, StepCounters, TimeDriven } from "./types.js";
import { StepFailure } from "./types.js";
import { WeirError } from "../errors.js";
import type { DeadLetterHandler } from "./source.js";
import { Partitioner } from "../log/partitioner.js";
import { decodeJsonValue, valueToJson } from "../util/json-value.js";
import { UnwritableValue } from "../util/records.js";

/** What the exchange needs of the step upstream of the keyBy: its watermark. */
export interface WatermarkSource {
  readonly watermark: number;
}

export function repartitionTopic(pipeline: string, keyByStep: string): string {
  return `weir.${pipeline}.${keyByStep}.repartition`;
}

function encodeHeaders(headers: readonly RecordHeader[] | undefined): string {
  if (headers === undefined || headers.length === 0) return "";
  return `,${JSON.stringify(headers.map((h) => [h.key, h.value.toString("base64")]))}`;
}

function decodeHeaders(h: unknown): RecordHeader[] | undefined {
  if (!Array.isArray(h)) return undefined;
  return h.map(([key, value]: [string, string]) => ({ key, value: Buffer.from(value, "base64") }));
}

function watermarkText(w: number): string {
  return w === Infinity ? `"e"` : Number.isFinite(w) ? String(w) : "null";
}

function watermarkOf(w: number | null | "e"): number {
  return w === "e" ? Infinity : w === null ? -Infinity : w;
}

/** Data frame flags. */
const VALUE_FROM_RAW = 1;
const VALUE_TAGGED = 2;

/** The JSON array that starts a frame (see the wire format above). */
type FrameHead =
  | [sender: number, watermark: number | null | "e" | "i"]
  | [
      sender: number,
      watermark: number | null | "e",
      eventTime: number,
      key: Key,
      topic: string,
      partition: number,
      offset: number,
      rawLength: number,
      flags: number,
      headers?: unknown,
    ];

/**
 * Writes a keyBy's records to the repartition topic (the keyBy's `next` in a partition task). A
 * record whose key falls in this task's own partition — every record, when the input is already
 * partitioned by that key — goes straight to this task's receiver instead: the same steps in the
 * same order, without the round trip through Kafka (its effects are part of this task's
 * processing of the input record, so they are checkpointed and replayed with it).
 */
export class ExchangeSender implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  /** The watermark last broadcast to every partition. */
  private broadcastAt = -Infinity;
  /** Every partition was told this sender is idle (and nothing was sent since). */
  private idleSent = false;
  private readonly partitioner: Partitioner;

  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly task: number,
    private readonly partitions: number,
    private readonly upstream: WatermarkSource,
    private readonly output: OutputCollector,
    private readonly local: ExchangeReceiver,
    /** The upstream is a source (its input partition can go quiet: see broadcastIdle). */
    private readonly fromSource: boolean,
    /**
     * Values reaching the keyBy are what the source made of the input line (only filters and
     * keyBys before it): frames leave the value out, and the receiver decodes the line again.
     */
    private readonly valueFromRaw: boolean,
  ) {
    this.partitioner = new Partitioner(partitions);
  }

  /** The receivers of every task, when all tasks run in this process (see `connect`). */
  private direct: readonly ExchangeReceiver[] | undefined;

  /**
   * Every task of the pipeline runs in this process: hand records and watermarks to the receiver of
   * the owning task directly (`receivers[p]` is task p's), not through the repartition topic.
   */
  connect(receivers: readonly ExchangeReceiver[]): void {
    this.direct = receivers;
  }

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    if (this.idleSent) {
      // Active again: the next broadcast tells every partition (a data record tells its own).
      this.idleSent = false;
      this.broadcastAt = -Infinity;
    }
    const key = ctx.key as Key;
    const keyText = typeof key === "string" ? key : String(key);
    const partition = this.partitioner.partitionFor(keyText);
    if (partition === this.task || this.direct !== undefined) {
      this.counters.recordsOut++;
      const to = this.direct === undefined ? this.local : this.direct[partition];
      to.deliver(this.task, this.upstream.watermark, value, ctx);
      return;
    }
    let flags = VALUE_FROM_RAW;
    let valueJson = "";
    if (!this.valueFromRaw) {
      let encoded: { json: string; tagged: boolean };
      try {
        encoded = valueToJson(value);
      } catch (err) {
        throw new StepFailure(
          this.id,
          new Error(`the value cannot cross a repartition as JSON: ${(err as Error).message}`),
        );
      }
      flags = encoded.tagged ? VALUE_TAGGED : 0;
      valueJson = encoded.json;
    }
    const raw = ctx.raw;
    if (ctx.topic !== this.lastTopic) {
      this.lastTopic = ctx.topic;
      this.lastTopicJson = JSON.stringify(ctx.topic);
    }
    const frame =
      `[${this.task},${watermarkText(this.upstream.watermark)},${ctx.timestamp},${JSON.stringify(key)},` +
      `${this.lastTopicJson},${ctx.partition},${ctx.offset},${raw.length},${flags}${encodeHeaders(ctx.headers)}]\n` +
      raw +
      valueJson;
    try {
      this.output.append(this.topic, keyText, frame, ctx.timestamp, partition);
    } catch (err) {
      if (err instanceof UnwritableValue) throw new StepFailure(this.id, err);
      throw err;
    }
    this.counters.recordsOut++;
  }

  private lastTopic = "";
  private lastTopicJson = '""';

  /** Tell every partition the upstream watermark if it moved since the last broadcast. */
  broadcast(): boolean {
    const w = this.upstream.watermark;
    if (w <= this.broadcastAt) return false;
    this.broadcastAt = w;
    this.idleSent = false; // a watermark tells the receivers this sender is active
    if (this.direct !== undefined) {
      for (const r of this.direct) r.watermarkFrom(this.task, w);
      return true;
    }
    const frame = `[${this.task},${watermarkText(w)}]`;
    for (let p = 0; p < this.partitions; p++) this.output.append(this.topic, null, frame, 0, p);
    return true;
  }

  /**
   * The task's input partition has been quiet for a while (a live run): tell every partition to
   * leave this sender out of its watermark until it sends again, so a quiet partition does not
   * hold windows back forever (Flink's idleness). True when something was sent.
   */
  broadcastIdle(): boolean {
    if (this.idleSent || !this.fromSource || this.upstream.watermark === Infinity) return false;
    this.idleSent = true;
    if (this.direct !== undefined) {
      for (const r of this.direct) r.idleFrom(this.task);
      return true;
    }
    const frame = `[${this.task},"i"]`;
    for (let p = 0; p < this.partitions; p++) this.output.append(this.topic, null, frame, 0, p);
    return true;
  }

  /** Broadcasts written while recovering were dropped: send the current watermark again. */
  forgetBroadcasts(): void {
    this.broadcastAt = -Infinity;
    this.idleSent = false;
  }
}

/** A line of the JSON-lines packs written by earlier versions. */
interface LegacyEnvelope {
  s: number;
  /** The sender is idle. */
  i?: 1;
  w?: number | null;
  e?: 1;
  t?: number;
  k?: Key;
  o?: [string, number, number];
  r?: string;
  h?: unknown;
  d?: 1;
  v?: unknown;
}

/** A record waiting in a receiver for its turn: its context, with its stamp and value. */
class HeldRecord implements RecordContext {
  constructor(
    /** Its sender's watermark from before the event. */
    readonly stamp: number,
    /** Set once decoded (a frame's value may be rebuilt from its line). */
    public value: unknown,
    public key: Key | undefined,
    public timestamp: number,
    public topic: string,
    public partition: number,
    public offset: number,
    public raw: string,
    public headers: readonly RecordHeader[] | undefined,
  ) {}
}

/** One sender's records in the order it sent them, not released yet. */
class HeldQueue {
  items: HeldRecord[] = [];
  /** The next record to release. */
  head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  peek(): HeldRecord {
    return this.items[this.head];
  }
  /** Drop the released records' slots. */
  compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** What a receiver checkpoints: each sender's watermark, and the records it holds. */
export interface ExchangeState {
  senders: Array<number | null>;
  /** Per sender, the held records in the frame format (see the wire format above). */
  held?: string[][];
}

/**
 * Feeds a repartition topic's records to the steps after the keyBy; their watermark origin.
 *
 * **Deterministic release.** The order in which the frames of different senders arrive depends on
 * timing (when each task ran, committed and was fetched). So a receiver does not pass records on
 * as they come: it holds them, one queue per sender, and releases them in the order of
 * (sender's watermark before the event, sender, order sent) — a record as soon as no sender can
 * still send one that sorts before it (every other sender's frontier, its last watermark or
 * record, is past it). Before a record goes on, the receiver's watermark moves to the record's
 * own stamp: windows after the exchange close, and records are judged late, exactly as they
 * would be if the records had arrived in that order, whatever the timing. So N partition tasks
 * give the same outputs, key by key, on every run and on every backend (the embedded log, Kafka),
 * and a record is late after the exchange only if it was late at its sender. Between records, the
 * watermark is the lowest over the senders' frontiers and the held records' stamps.
 *
 * Idleness is the exception: a sender that said it is idle (a live run's quiet partition) holds
 * nothing back until it sends again, which depends on timing by nature.
 */
export class ExchangeReceiver {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  readonly timeDriven: TimeDriven[] = [];
  watermark = -Infinity;
  /** Each sender task's frontier: the highest watermark it has sent (every later frame carries at least this). */
  readonly senders: number[];
  /** Senders that said they are idle and have sent nothing since (they hold nothing back). */
  private readonly idle: boolean[];
  private readonly held: HeldQueue[];
  private heldCount = 0;
  /** A sender's input started over after its end (the watermark may go back: see senderAt). */
  private reopened = false;
  /** Releasing now (a step downstream must not release again from within). */
  private releasing = false;

  constructor(
    readonly id: string,
    readonly topic: string,
    tasks: number,
    private readonly deadLetter: DeadLetterHandler,
    /** Rebuilds a value its sender left out (VALUE_FROM_RAW): the keyBy's source's decoding. */
    private readonly decodeRaw: ((raw: string) => unknown) | undefined,
    /**
     * Some step keeps input lines in its state (an interval join): copy each line out of the pack,
     * or one kept line would keep its whole pack (up to 64 KiB) alive.
     */
    private readonly copyRaw: boolean,
  ) {
    this.senders = new Array<number>(tasks).fill(-Infinity);
    this.idle = new Array<boolean>(tasks).fill(false);
    this.held = Array.from({ length: tasks }, () => new HeldQueue());
  }

  /** One record of the repartition topic: frames of keyed records and senders' watermarks. */
  receive(text: string): void {
    this.take(text, false);
    this.release();
  }

  /** Parse a pack of frames into the held queues (`restoring`: records a snapshot held). */
  private take(text: string, restoring: boolean): void {
    if (text.charCodeAt(0) === 123 /* "{": written by an earlier version */) return this.takeLegacy(text);
    const end = text.length;
    let pos = 0;
    while (pos < end) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) nl = end;
      const head = JSON.parse(text.slice(pos, nl)) as FrameHead;
      pos = nl + 1;
      const sender = head[0];
      if (head.length === 2) {
        if (head[1] === "i") this.senderIdle(sender);
        else this.senderAt(sender, watermarkOf(head[1]));
        continue;
      }
      const stamp = watermarkOf(head[1]);
      if (!restoring) this.senderAt(sender, stamp);
      const rawEnd = pos + head[7];
      const raw = text.slice(pos, rawEnd);
      const flags = head[8];
      const r = new HeldRecord(
        stamp,
        undefined,
        head[3],
        head[2],
        head[4],
        head[5],
        head[6],
        this.copyRaw ? Buffer.from(raw, "utf8").toString("utf8") : raw,
        decodeHeaders(head[9]),
      );
      let value: unknown;
      if ((flags & VALUE_FROM_RAW) !== 0) {
        pos = rawEnd + 1;
        value = this.decodeRaw === undefined ? undefined : this.decodeRaw(raw);
        if (value === undefined) {
          this.counters.recordsIn++;
          this.deadLetter(
            r,
            "the value could not be rebuilt from its line after the repartition (was the pipeline changed?)",
            this.id,
          );
          continue;
        }
      } else {
        let valueEnd = text.indexOf("\n", rawEnd);
        if (valueEnd < 0) valueEnd = end;
        const json: unknown = JSON.parse(text.slice(rawEnd, valueEnd));
        value = (flags & VALUE_TAGGED) !== 0 ? decodeJsonValue(json) : json;
        pos = valueEnd + 1;
      }
      r.value = value;
      this.held[sender].items.push(r);
      this.heldCount++;
    }
  }

  private hold(sender: number, stamp: number, value: unknown, ctx: RecordContext): void {
    const { key, timestamp, topic, partition, offset, raw, headers } = ctx;
    this.held[sender].items.push(
      new HeldRecord(stamp, value, key, timestamp, topic, partition, offset, raw, headers),
    );
    this.heldCount++;
  }

  private senderIdle(sender: number): void {
    this.idle[sender] = true;
  }

  /**
   * A frame from `sender`, whose watermark was `w` (it is active). A finite watermark after the
   * sender's +infinity means its input had ended and more came (Task.endOfInput): the sender starts
   * over from there, and the watermark here may go back with it (the windows the end closed stay closed).
   */
  private senderAt(sender: number, w: number): void {
    this.idle[sender] = false;
    const was = this.senders[sender];
    if (w > was) this.senders[sender] = w;
    else if (was === Infinity && w < Infinity) {
      this.senders[sender] = w;
      this.reopened = true;
    }
  }

  /**
   * Pass on every held record whose turn has come (see the class comment), each after moving the
   * watermark to its stamp; then the watermark between records.
   */
  private release(): void {
    if (this.releasing) return;
    this.releasing = true;
    try {
      // A sender's input started over after its end: the watermark goes back first.
      if (this.reopened) this.settleWatermark();
      const held = this.held;
      const senders = this.senders;
      const n = held.length;
      while (this.heldCount > 0) {
        // The held record first in (stamp, sender) order...
        let best = -1;
        let stamp = Infinity;
        for (let s = 0; s < n; s++) {
          const q = held[s];
          if (q.head < q.items.length && (best < 0 || q.items[q.head].stamp < stamp)) {
            best = s;
            stamp = q.items[q.head].stamp;
          }
        }
        // ...and the first key any other sender may still bring (its next held record, or for one
        // holding none and not idle, its frontier): best's records before that key go, in order.
        let bound = Infinity;
        let boundSender = n;
        for (let s = 0; s < n; s++) {
          if (s === best) continue;
          const q = held[s];
          let k: number;
          if (q.head < q.items.length) k = q.items[q.head].stamp;
          else if (this.idle[s]) continue;
          else k = senders[s];
          if (k < bound || (k === bound && s < boundSender)) {
            bound = k;
            boundSender = s;
          }
        }
        const q = held[best];
        let released = 0;
        while (q.head < q.items.length) {
          const r = q.items[q.head];
          if (!(r.stamp < bound || bound === Infinity || (r.stamp === bound && best < boundSender))) break;
          q.items[q.head++] = undefined as unknown as HeldRecord;
          this.heldCount--;
          released++;
          if (r.stamp > this.watermark) this.moveTo(r.stamp);
          this.pushOn(r.value, r);
        }
        q.compact();
        if (released === 0) break;
      }
      this.settleWatermark();
    } finally {
      this.releasing = false;
    }
  }

  /**
   * The watermark between records: the lowest over the frontiers of the senders that are not idle,
   * and the held records' stamps. When every sender still going is idle, the highest of theirs (as
   * Flink's watermark valve does: all quiet, the data seen so far is complete up to there). A
   * finished sender (+infinity) does not speak for an idle one.
   */
  private settleWatermark(): void {
    let min = Infinity;
    let active = false;
    let idleMax = -Infinity;
    let anyIdle = false;
    for (let i = 0; i < this.senders.length; i++) {
      const w = this.senders[i];
      if (this.idle[i] && w !== Infinity) {
        anyIdle = true;
        if (w > idleMax) idleMax = w;
      } else {
        if (w !== Infinity) active = true;
        if (w < min) min = w;
      }
    }
    if (anyIdle && !active) min = idleMax;
    if (this.heldCount > 0)
      for (const q of this.held) if (q.size > 0 && q.peek().stamp < min) min = q.peek().stamp;
    const reopened = this.reopened;
    this.reopened = false;
    if (min === this.watermark || (min < this.watermark && !reopened)) return;
    this.moveTo(min);
  }

  private moveTo(w: number): void {
    this.watermark = w;
    const steps = this.timeDriven;
    for (let i = 0; i < steps.length; i++) steps[i].onTime();
  }

  private pushOn(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    this.counters.recordsOut++;
    try {
      this.next.push(value, ctx);
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      this.deadLetter(ctx, err.message, err.stepId);
    }
  }

  /** A pack of JSON lines, as versions before the frame format wrote them. */
  private takeLegacy(text: string): void {
    for (const line of text.split("\n")) {
      const env = JSON.parse(line) as LegacyEnvelope;
      if (env.i === 1) {
        this.senderIdle(env.s);
        continue;
      }
      const stamp = env.e === 1 ? Infinity : (env.w ?? -Infinity);
      this.senderAt(env.s, stamp);
      if (env.o === undefined) continue;
      const ctx: RecordContext = {
        key: env.k,
        timestamp: env.t!,
        topic: env.o[0],
        partition: env.o[1],
        offset: env.o[2],
        raw: env.r ?? "",
        headers: decodeHeaders(env.h),
      };
      this.hold(env.s, stamp, env.d === 1 ? decodeJsonValue(env.v) : env.v, ctx);
    }
  }

  /**
   * A record straight from its sender (`ctx` as the keyBy left it): a record of this task's own
   * partition, or of any, when every task runs in this process. Released like any other: at once
   * when nothing is held and no sender can still send one before it, else held (a copy of `ctx`).
   */
  deliver(sender: number, watermark: number, value: unknown, ctx: RecordContext): void {
    this.senderAt(sender, watermark);
    if (this.heldCount === 0 && !this.releasing && !this.reopened && !this.blocked(sender, watermark)) {
      if (watermark > this.watermark) this.moveTo(watermark);
      this.pushOn(value, ctx);
      return;
    }
    this.hold(sender, watermark, value, ctx);
    this.release();
  }

  /** A sender's watermark moved (a broadcast, when every task runs in this process). */
  watermarkFrom(sender: number, w: number): void {
    this.senderAt(sender, w);
    this.release();
  }

  /** A sender is idle (when every task runs in this process). */
  idleFrom(sender: number): void {
    this.senderIdle(sender);
    this.release();
  }

  /** Could a sender other than `sender` still send a record that goes before one stamped `stamp`? */
  private blocked(sender: number, stamp: number): boolean {
    const senders = this.senders;
    for (let s = 0; s < senders.length; s++) {
      if (s === sender || this.held[s].size > 0 || this.idle[s]) continue;
      const f = senders[s];
      if (f < stamp || (f === stamp && s < sender && f !== Infinity)) return true;
    }
    return false;
  }

  /** Every sender has said its input is complete (and every held record went on). */
  get complete(): boolean {
    return this.watermark === Infinity && this.heldCount === 0;
  }

  snapshot(): ExchangeState {
    const senders = this.senders.map((w) => (w === Infinity ? 1e308 : Number.isFinite(w) ? w : null));
    if (this.heldCount === 0) return { senders };
    return { senders, held: this.held.map((q, s) => q.items.slice(q.head).map((r) => this.frameOf(s, r))) };
  }

  /** A held record as a data frame (a value its source can rebuild from the line is left out). */
  private frameOf(sender: number, r: HeldRecord): string {
    const ctx = r;
    let flags = VALUE_FROM_RAW;
    let valueJson = "";
    if (this.decodeRaw === undefined) {
      let encoded: { json: string; tagged: boolean };
      try {
        encoded = valueToJson(r.value);
      } catch (err) {
        throw new WeirError(
          "USAGE",
          `step ${this.id}: a record waiting at the repartition cannot be checkpointed as JSON: ${(err as Error).message}`,
        );
      }
      flags = encoded.tagged ? VALUE_TAGGED : 0;
      valueJson = encoded.json;
    }
    return (
      `[${sender},${watermarkText(r.stamp)},${ctx.timestamp},${JSON.stringify(ctx.key)},` +
      `${JSON.stringify(ctx.topic)},${ctx.partition},${ctx.offset},${ctx.raw.length},${flags}${encodeHeaders(ctx.headers)}]\n` +
      ctx.raw +
      valueJson
    );
  }

  /** A snapshot's state; a bare array of sender watermarks is what versions before held records wrote. */
  restore(saved: ExchangeState | Array<number | null>): void {
    const senders = Array.isArray(saved) ? saved : saved.senders;
    for (let i = 0; i < this.senders.length && i < senders.length; i++) {
      const w = senders[i];
      this.senders[i] = w === null ? -Infinity : w >= 1e308 ? Infinity : w;
    }
    if (!Array.isArray(saved) && saved.held !== undefined)
      for (const frames of saved.held) for (const frame of frames) this.take(frame, true);
    // The watermark as it stood: the senders' and held records' lowest (no step fires: their
    // state is restored as it was after the last firing).
    let min = Infinity;
    for (const w of this.senders) if (w < min) min = w;
    for (const q of this.held) if (q.size > 0 && q.peek().stamp < min) min = q.peek().stamp;
    this.watermark = min;
  }
}
