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
 * event, and each sender also broadcasts its watermark to every partition when it moves, so a
 * partition that receives no records from a sender still learns how far that sender has got. The
 * receiver's watermark is the lowest over all senders (as in Flink); +infinity from every sender
 * means every sender's input is complete.
 */
import type { Key, RecordContext } from "../graph/graph.js";
import type { RecordHeader } from "../log/types.js";
import type { OutputCollector, Operator, StepCounters, TimeDriven } from "./types.js";
import { StepFailure, newRecordContext } from "./types.js";
import type { DeadLetterHandler } from "./source.js";
import { Partitioner } from "../log/partitioner.js";
import { decodeJsonValue, valueToJson } from "../util/json-value.js";

/** What the exchange needs of the step upstream of the keyBy: its watermark. */
export interface WatermarkSource {
  readonly watermark: number;
}

export function repartitionTopic(pipeline: string, keyByStep: string): string {
  return `weir.${pipeline}.${keyByStep}.repartition`;
}

function encodeHeaders(headers: readonly RecordHeader[] | undefined): string {
  if (headers === undefined || headers.length === 0) return "";
  return `,"h":${JSON.stringify(headers.map((h) => [h.key, h.value.toString("base64")]))}`;
}

function decodeHeaders(h: unknown): RecordHeader[] | undefined {
  if (!Array.isArray(h)) return undefined;
  return h.map(([key, value]: [string, string]) => ({ key, value: Buffer.from(value, "base64") }));
}

function watermarkField(w: number): string {
  return w === Infinity ? `"e":1` : `"w":${Number.isFinite(w) ? w : "null"}`;
}

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
  ) {
    this.partitioner = new Partitioner(partitions);
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
    if (partition === this.task) {
      this.counters.recordsOut++;
      this.local.deliver(this.task, this.upstream.watermark, value, ctx);
      return;
    }
    let encoded: { json: string; tagged: boolean };
    try {
      encoded = valueToJson(value);
    } catch (err) {
      throw new StepFailure(
        this.id,
        new Error(`the value cannot cross a repartition as JSON: ${(err as Error).message}`),
      );
    }
    const line =
      `{"s":${this.task},${watermarkField(this.upstream.watermark)},"t":${ctx.timestamp},"k":${JSON.stringify(key)}` +
      `,"o":[${JSON.stringify(ctx.topic)},${ctx.partition},${ctx.offset}],"r":${JSON.stringify(ctx.raw)}` +
      `${encodeHeaders(ctx.headers)}${encoded.tagged ? `,"d":1` : ""},"v":${encoded.json}}`;
    this.counters.recordsOut++;
    this.output.append(this.topic, keyText, line, ctx.timestamp, partition);
  }

  /** Tell every partition the upstream watermark if it moved since the last broadcast. */
  broadcast(): boolean {
    const w = this.upstream.watermark;
    if (w <= this.broadcastAt) return false;
    this.broadcastAt = w;
    this.idleSent = false; // a watermark tells the receivers this sender is active
    const line = `{"s":${this.task},${watermarkField(w)}}`;
    for (let p = 0; p < this.partitions; p++) this.output.append(this.topic, null, line, 0, p);
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
    const line = `{"s":${this.task},"i":1}`;
    for (let p = 0; p < this.partitions; p++) this.output.append(this.topic, null, line, 0, p);
    return true;
  }

  /** Broadcasts written while recovering were dropped: send the current watermark again. */
  forgetBroadcasts(): void {
    this.broadcastAt = -Infinity;
    this.idleSent = false;
  }
}

interface ExchangeEnvelope {
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

/** Feeds a repartition topic's records to the steps after the keyBy; their watermark origin. */
export class ExchangeReceiver {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  readonly timeDriven: TimeDriven[] = [];
  watermark = -Infinity;
  /** Each sender task's watermark. */
  readonly senders: number[];
  private readonly ctx: RecordContext = newRecordContext();

  constructor(
    readonly id: string,
    readonly topic: string,
    tasks: number,
    private readonly deadLetter: DeadLetterHandler,
  ) {
    this.senders = new Array<number>(tasks).fill(-Infinity);
    this.idle = new Array<boolean>(tasks).fill(false);
  }

  /** Senders that said they are idle and have sent nothing since (left out of the watermark). */
  private readonly idle: boolean[];

  /** One Kafka record of the repartition topic: lines of keyed records and senders' watermarks. */
  receive(text: string): void {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      this.receiveLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.receiveLine(start === 0 ? text : text.slice(start));
  }

  private receiveLine(line: string): void {
    const env = JSON.parse(line) as ExchangeEnvelope;
    if (env.i === 1) {
      if (!this.idle[env.s]) {
        this.idle[env.s] = true;
        this.recompute(true);
      }
      return;
    }
    this.idle[env.s] = false;
    const w = env.e === 1 ? Infinity : (env.w ?? -Infinity);
    if (w > this.senders[env.s]) {
      this.senders[env.s] = w;
      this.recompute(true);
    }
    if (env.o === undefined) return;
    this.counters.recordsIn++;
    const ctx = this.ctx;
    ctx.key = env.k;
    ctx.timestamp = env.t!;
    ctx.topic = env.o[0];
    ctx.partition = env.o[1];
    ctx.offset = env.o[2];
    ctx.raw = env.r ?? "";
    ctx.headers = decodeHeaders(env.h);
    const value = env.d === 1 ? decodeJsonValue(env.v) : env.v;
    this.counters.recordsOut++;
    try {
      this.next.push(value, ctx);
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      this.deadLetter(ctx, err.message, err.stepId);
    }
  }

  /**
   * A record of this task's own partition, straight from its sender in this task (`ctx` as the
   * keyBy left it). A step failing throws back to the source, which makes it a dead letter.
   */
  deliver(sender: number, watermark: number, value: unknown, ctx: RecordContext): void {
    this.idle[sender] = false;
    if (watermark > this.senders[sender]) {
      this.senders[sender] = watermark;
      this.recompute(true);
    }
    this.counters.recordsIn++;
    this.counters.recordsOut++;
    this.next.push(value, ctx);
  }

  /** Every sender has said its input is complete. */
  get complete(): boolean {
    return this.watermark === Infinity;
  }

  snapshot(): Array<number | null> {
    return this.senders.map((w) => (w === Infinity ? 1e308 : Number.isFinite(w) ? w : null));
  }

  restore(saved: Array<number | null>): void {
    for (let i = 0; i < this.senders.length && i < saved.length; i++) {
      const w = saved[i];
      this.senders[i] = w === null ? -Infinity : w >= 1e308 ? Infinity : w;
    }
    this.recompute(false);
  }

  /**
   * The lowest watermark over the senders that are not idle. When every sender still going is idle,
   * the highest of theirs (as Flink's watermark valve does: all quiet, the data seen so far is
   * complete up to there). A finished sender (+infinity) does not speak for an idle one.
   */
  private recompute(fire: boolean): void {
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
    if (min <= this.watermark) return;
    this.watermark = min;
    if (!fire) return;
    const steps = this.timeDriven;
    for (let i = 0; i < steps.length; i++) steps[i].onTime();
  }
}
