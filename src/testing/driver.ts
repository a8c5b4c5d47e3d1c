/**
 * The testing kit (what Kafka Streams' TopologyTestDriver is for Java): run a pipeline in-process,
 * feed records with event times, move the watermark or the wall clock, and read each output — in
 * any test runner, deterministic, with no files and no broker.
 *
 *   const t = new TestDriver(myPipeline);
 *   t.send("events", { user_id: 1, date: "2021-11-30 00:00:00", event: "Interaction" });
 *   t.end();
 *   assert.deepEqual(t.readValues("paid_user"), [...]);
 */
import type { PipelineDefinition } from "../api/pipeline.js";
import { Task, type TaskState } from "../runtime/task.js";
import type { StateChanges } from "../runtime/step-identity.js";
import type { FailingStep } from "../runtime/dead-letters.js";
import type { SinkRecord } from "../sinks/contract.js";
import type { OutputCollector } from "../operators/types.js";
import type { RecordContext } from "../graph/graph.js";
import { UnwritableValue } from "../util/records.js";

export interface OutputRecord {
  key: string | null;
  value: unknown;
  /** Event time of the output record, ms. */
  timestamp: number;
}

/** A dead letter or late record as the pipeline wrote it (DESIGN.md §4). */
export interface RejectedRecord {
  error: string;
  raw: string;
  topic: string;
  partition: number;
  offset: number;
}

export interface SendOptions {
  /** The record's log timestamp (its event time when the pipeline has no eventTime). */
  timestamp?: number | Date;
  partition?: number;
}

/** A version of a key in a versioned table, as the test driver keeps it. */
export interface TableEntry {
  key: string;
  version: number;
  eventTime: number;
  value: unknown;
}

class MemoryOutputs implements OutputCollector {
  readonly topics = new Map<string, Array<{ key: string | null; value: string; timestamp: number }>>();
  /** Every version of every key, oldest first (values as JSON text, like a real store keeps them). */
  readonly tables = new Map<
    string,
    Map<string, Array<{ version: number; eventTime: number; json: string }>>
  >();
  readonly lake = new Map<string, string[]>();
  /** What each `sinkTo` step was handed (the sink itself is not opened: a test sees its input). */
  readonly delivered = new Map<string, SinkRecord[]>();

  deliver(step: string, record: SinkRecord): void {
    let list = this.delivered.get(step);
    if (list === undefined) this.delivered.set(step, (list = []));
    list.push(record);
  }

  append(topic: string, key: string | null, value: string, timestamp: number): void {
    let list = this.topics.get(topic);
    if (list === undefined) this.topics.set(topic, (list = []));
    list.push({ key, value, timestamp });
  }

  upsert(table: string, key: string, value: unknown, ctx: RecordContext, _seq: number, json?: string): void {
    let keys = this.tables.get(table);
    if (keys === undefined) this.tables.set(table, (keys = new Map()));
    let versions = keys.get(key);
    if (versions === undefined) keys.set(key, (versions = []));
    versions.push({
      version: versions.length + 1,
      eventTime: ctx.timestamp,
      json: json ?? JSON.stringify(value),
    });
  }

  land(dataset: string, row: unknown): void {
    let text: string;
    try {
      text = JSON.stringify(row);
    } catch (err) {
      // As the lake does: a dead letter of the step, not an error of the test.
      throw new UnwritableValue(`cannot write the row as JSON: ${(err as Error).message}`, { cause: err });
    }
    let rows = this.lake.get(dataset);
    if (rows === undefined) this.lake.set(dataset, (rows = []));
    rows.push(text);
  }
}

export class TestDriver {
  private readonly outputs = new MemoryOutputs();
  private task: Task;
  private readonly offsets = new Map<string, number>();
  private readonly read = new Map<string, number>();
  private clock: number;

  constructor(
    public definition: PipelineDefinition,
    options: { wallClock?: number | Date } = {},
  ) {
    this.clock = toMs(options.wallClock ?? 0);
    this.task = new Task(definition.graph, this.outputs, { now: () => this.clock });
  }

  /** Send one record: an object (sent as its JSON text) or a raw line (sent as is, malformed or not). */
  send(topic: string, value: unknown, options: SendOptions = {}): this {
    const line = typeof value === "string" ? value : JSON.stringify(value);
    const partition = options.partition ?? 0;
    const tp = `${topic}/${partition}`;
    const offset = this.offsets.get(tp) ?? 0;
    this.offsets.set(tp, offset + 1);
    this.task.processLine(topic, partition, offset, toMs(options.timestamp ?? this.clock), line);
    return this;
  }

  /** Send many records in order. */
  sendAll(topic: string, values: Iterable<unknown>, options: SendOptions = {}): this {
    for (const v of values) this.send(topic, v, options);
    return this;
  }

  /** Move the watermark of the sources reading `topic` (all sources if omitted) forward. */
  advanceWatermark(to: number | Date | string, topic?: string): this {
    this.task.advanceWatermark(toMs(to), topic);
    return this;
  }

  /** Move the wall clock (processing-time windows) forward by `ms`. */
  advanceWallClock(ms: number): this {
    this.clock += ms;
    this.task.tick();
    return this;
  }

  /** End of input: the watermark becomes +infinity and every window fires. */
  end(): this {
    this.task.endOfInput();
    return this;
  }

  /** Output records of a topic written since the last read of it. */
  readRecords(topic: string): OutputRecord[] {
    const all = this.outputs.topics.get(topic) ?? [];
    const from = this.read.get(topic) ?? 0;
    this.read.set(topic, all.length);
    return all.slice(from).map((r) => ({ key: r.key, value: JSON.parse(r.value), timestamp: r.timestamp }));
  }

  /** Output values of a topic written since the last read of it (parsed JSON). */
  readValues<T = any>(topic: string): T[] {
    return this.readRecords(topic).map((r) => r.value as T);
  }

  /** Every record ever written to a topic (not affected by reads). */
  allValues<T = any>(topic: string): T[] {
    return (this.outputs.topics.get(topic) ?? []).map((r) => JSON.parse(r.value) as T);
  }

  /** The latest value of every key of a versioned table, in the order keys first appeared. */
  tableValues<T = any>(table: string): Map<string, T> {
    const out = new Map<string, T>();
    for (const [key, versions] of this.outputs.tables.get(table) ?? [])
      out.set(key, JSON.parse(versions[versions.length - 1].json) as T);
    return out;
  }

  /** Every version of one key of a versioned table, newest first. */
  tableVersions(table: string, key: string | number): TableEntry[] {
    const versions = this.outputs.tables.get(table)?.get(String(key)) ?? [];
    return versions
      .map((v) => ({
        key: String(key),
        version: v.version,
        eventTime: v.eventTime,
        value: JSON.parse(v.json),
      }))
      .reverse();
  }

  /** The rows landed in a lake dataset, in order (as JSON round-trips them: dates become ISO text). */
  lakeRows<T = any>(dataset: string): T[] {
    return (this.outputs.lake.get(dataset) ?? []).map((r) => JSON.parse(r) as T);
  }

  /**
   * The records handed to the sink of a `sinkTo` step (by its step id, `sink:<sink name>` unless
   * named), in order: value, key, event time and the record's stable id.
   */
  sinkRecords<T = any>(step: string): Array<SinkRecord<T>> {
    return (this.outputs.delivered.get(step) ?? []) as Array<SinkRecord<T>>;
  }

  deadLetters(): RejectedRecord[] {
    return this.allValues<RejectedRecord>(this.task.deadLetterTopic);
  }

  /**
   * Steps found failing on every record — at least their first (or a later run of) 100 records all
   * became dead letters — with the most common reason: what `weir run` warns about. Empty when no
   * step did.
   */
  failingSteps(): FailingStep[] {
    return [...this.task.deadLetterWatch.allWarnings()];
  }

  lateRecords(): RejectedRecord[] {
    return this.allValues<RejectedRecord>(this.task.lateTopic);
  }

  watermark(): number {
    return this.task.watermark();
  }

  /** The task's checkpointable state (what a checkpoint stores). */
  snapshot(): TaskState {
    return JSON.parse(JSON.stringify(this.task.snapshot()));
  }

  /**
   * Simulate a restart: a fresh task restored from `state`, outputs kept. Restart a changed pipeline
   * by passing its new definition; `changes` drops or renames the state of steps that changed
   * (as `weir run --drop-state / --rename-state`).
   */
  restart(state: TaskState, options: { definition?: PipelineDefinition; changes?: StateChanges } = {}): this {
    if (options.definition !== undefined) this.definition = options.definition;
    this.task = new Task(this.definition.graph, this.outputs, { now: () => this.clock });
    this.task.restore(state, options.changes);
    return this;
  }

  metrics() {
    return this.task.metrics();
  }
}

function toMs(t: number | Date | string): number {
  if (typeof t === "number") return t;
  if (t instanceof Date) return t.getTime();
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${t}`);
  return ms;
}
