/**
 * The fluent pipeline API. Each method adds one node to the graph and returns a typed handle;
 * nothing runs here. Types flow end to end: a misspelled field is a compile error.
 */
import { WeirError } from "../errors.js";
import type { AggregateFunction, EmitMode, Key, RecordContext } from "../graph/graph.js";
import {
  avgOf,
  countOf,
  distinctCountOf,
  fromSpec,
  maxOf,
  minOf,
  sumOf,
  type AggregateSpec,
} from "../operators/aggregations.js";
import type { Update, WindowedUpdate } from "../operators/emit.js";
import type { SyncResult } from "../operators/sync-only.js";
import { checkTableName } from "../sinks/table/common.js";
import type { LakeFormat } from "../sinks/types.js";
import type { Sink } from "../sinks/contract.js";
import type { WindowSpec } from "../time/windows.js";
import { parseDuration } from "../util/duration.js";
import { refuseAsync, type GraphBuilder, type StepOptions } from "./builder.js";
import {
  addJoin,
  nearestOptions,
  type IntervalJoinOptions,
  type Joined,
  type NearestJoinOptions,
} from "./join.js";

export interface SinkOptions<T> extends StepOptions {
  /** The output record's key; defaults to the stream's key (after keyBy or an aggregate), else none. */
  key?: (value: T) => Key | null | undefined;
  /** Partitions of the output topic when Weir creates it (default 1). */
  partitions?: number;
}

export interface ConnectorSinkOptions<T> extends StepOptions {
  /** The record's key for the sink (`SinkRecord.key`); defaults to the stream's key, else none. */
  key?: (value: T) => Key | null | undefined;
}

export class Stream<T> {
  /** @internal */
  constructor(
    protected readonly b: GraphBuilder,
    /** The id of the step producing this stream. */
    readonly stepId: string,
  ) {}

  filter<S extends T>(
    predicate: (value: T, ctx: RecordContext) => value is S,
    options?: StepOptions,
  ): Stream<S>;
  filter(predicate: (value: T, ctx: RecordContext) => boolean, options?: StepOptions): Stream<T>;
  filter(predicate: (value: T, ctx: RecordContext) => boolean, options: StepOptions = {}): Stream<T> {
    const id = this.b.idFor("filter", options.name);
    refuseAsync(id, "the filter predicate", predicate);
    this.b.add({ kind: "filter", id, input: this.stepId, fn: predicate });
    return new Stream<T>(this.b, id);
  }

  /**
   * A new value for each record. `fn` is synchronous: an async function (or one returning a
   * Promise) is a compile error, refused when the pipeline is built, and a dead letter at run time.
   */
  map<R>(fn: (value: T, ctx: RecordContext) => SyncResult<R>, options: StepOptions = {}): Stream<R> {
    const id = this.b.idFor("map", options.name);
    refuseAsync(id, "the map function", fn);
    this.b.add({ kind: "map", id, input: this.stepId, fn });
    return new Stream<R>(this.b, id);
  }

  /** Zero or more values for each record: an array or a (synchronous) generator. */
  flatMap<R>(
    fn: (value: T, ctx: RecordContext) => Iterable<SyncResult<R>>,
    options: StepOptions = {},
  ): Stream<R> {
    const id = this.b.idFor("flatMap", options.name);
    refuseAsync(id, "the flatMap function", fn);
    this.b.add({ kind: "flatMap", id, input: this.stepId, fn });
    return new Stream<R>(this.b, id);
  }

  /** Partition the stream by a key: what aggregations and windows are computed per. */
  keyBy<K extends Key>(fn: (value: T) => K, options: StepOptions = {}): KeyedStream<K, T> {
    const id = this.b.idFor("keyBy", options.name);
    refuseAsync(id, "the keyBy function", fn);
    this.b.add({ kind: "keyBy", id, input: this.stepId, fn });
    return new KeyedStream<K, T>(this.b, id);
  }

  /**
   * Event-time interval join with another stream of this pipeline: each record of this (left)
   * stream pairs with the records of `other` whose event time lies in [t - before, t + after]
   * (Flink's interval join). Outputs `{ left, right }` once the watermarks of both inputs pass
   * t + after, with the left record's event time; see docs/semantics.md#joins.
   */
  intervalJoin<R>(
    other: Stream<R>,
    options?: IntervalJoinOptions<T, R> & { unmatched?: "drop" },
  ): Stream<Joined<T, R>>;
  intervalJoin<R>(other: Stream<R>, options: IntervalJoinOptions<T, R>): Stream<Joined<T, R | null>>;
  intervalJoin<R>(other: Stream<R>, options: IntervalJoinOptions<T, R> = {}): Stream<Joined<T, R | null>> {
    return new Stream(this.b, addJoin(this.b, this.stepId, this.samePipelineAs(other), options));
  }

  /**
   * Pair each record with the record of `other` nearest in event time, at most `within` away either
   * way (a tie goes to the earlier one): `energy.joinNearest(weather, { within: "30m" })`.
   * Left records with no partner are dropped (counted) unless `unmatched: "keep"`.
   */
  joinNearest<R>(
    other: Stream<R>,
    options: NearestJoinOptions<T, R> & { unmatched?: "drop" },
  ): Stream<Joined<T, R>>;
  joinNearest<R>(other: Stream<R>, options: NearestJoinOptions<T, R>): Stream<Joined<T, R | null>>;
  joinNearest<R>(other: Stream<R>, options: NearestJoinOptions<T, R>): Stream<Joined<T, R | null>> {
    return new Stream(
      this.b,
      addJoin(this.b, this.stepId, this.samePipelineAs(other), nearestOptions(options)),
    );
  }

  private samePipelineAs(other: Stream<unknown>): string {
    if (!(other instanceof Stream) || other.b !== this.b)
      throw new WeirError("INVALID_PIPELINE", "a join's other stream must come from the same pipeline");
    return other.stepId;
  }

  /** Write every record (as JSON) to a topic. */
  to(topic: string, options: SinkOptions<T> = {}): void {
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
      throw new WeirError(
        "INVALID_PIPELINE",
        `output topic name ${JSON.stringify(topic)} must be 1-249 characters of letters, digits, '.', '_' and '-'`,
      );
    }
    const partitions = options.partitions ?? 1;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new WeirError(
        "INVALID_PIPELINE",
        `partitions of topic ${topic} must be a positive integer, got ${partitions}`,
      );
    }
    const id = this.b.idFor(`to:${topic}`, options.name);
    refuseAsync(id, "the key function", options.key);
    this.b.add({ kind: "sink", id, input: this.stepId, topic, keyFn: options.key, partitions });
  }

  /**
   * Hand every record to a sink of your own (src/sinks/contract.ts): an HTTP endpoint, a database,
   * files. The sink is driven by the checkpoints: what it stages in `prepareCommit` is published in
   * `commit` once the checkpoint is durable; records it cannot deliver become dead letters.
   */
  sinkTo(sink: Sink<T>, options: ConnectorSinkOptions<T> = {}): void {
    if (
      sink === null ||
      typeof sink !== "object" ||
      typeof sink.open !== "function" ||
      typeof sink.name !== "string"
    )
      throw new WeirError(
        "INVALID_PIPELINE",
        "sinkTo() takes a sink: an object with a name and an open(context) method",
      );
    const id = this.b.idFor(`sink:${sink.name}`, options.name);
    refuseAsync(id, "the key function", options.key);
    this.b.add({ kind: "connector", id, input: this.stepId, sink: sink as Sink<any>, keyFn: options.key });
  }

  /**
   * Keep every record as the newest version of its key in a versioned table (SQLite in the data
   * directory, or PostgreSQL): `weir table NAME` and `weir query` read it.
   */
  toTable(table: string, options: TableOptions<T> = {}): void {
    try {
      checkTableName(table);
    } catch (err) {
      throw new WeirError("INVALID_PIPELINE", (err as Error).message);
    }
    const versions = options.versions ?? 3;
    if (!Number.isInteger(versions) || versions < 1) {
      throw new WeirError(
        "INVALID_PIPELINE",
        `versions of table ${table} must be a positive integer, got ${versions}`,
      );
    }
    const id = this.b.idFor(`table:${table}`, options.name);
    refuseAsync(id, "the key function", options.key);
    this.b.add({ kind: "table", id, input: this.stepId, table, versions, keyFn: options.key });
  }

  /** Land every record as a row of a lake dataset (Parquet, JSON lines or CSV files under the data directory). */
  toLake(dataset: string, options: LakeOptions = {}): void {
    if (!SQL_NAME.test(dataset)) {
      throw new WeirError(
        "INVALID_PIPELINE",
        `lake dataset name ${JSON.stringify(dataset)} must be a SQL name: a letter or '_' then letters, digits or '_' (at most 63)`,
      );
    }
    const format = options.format ?? "parquet";
    if (format !== "parquet" && format !== "jsonl" && format !== "csv") {
      throw new WeirError(
        "INVALID_PIPELINE",
        `lake format must be parquet, jsonl or csv, got ${JSON.stringify(format)}`,
      );
    }
    const partitionBy = options.partitionBy ?? "date";
    const id = this.b.idFor(`lake:${dataset}`, options.name);
    this.b.add({ kind: "lake", id, input: this.stepId, dataset, format, partitionBy });
  }
}

export interface TableOptions<T> extends StepOptions {
  /** The row key; defaults to the stream's key (after keyBy or an aggregate). */
  key?: (value: T) => Key;
  /** Versions kept per key (HBase VERSIONS), default 3. */
  versions?: number;
}

export interface LakeOptions extends StepOptions {
  /** File format of the dataset, default "parquet". */
  format?: LakeFormat;
  /** "date" (default): Hive-style `date=YYYY-MM-DD` folders by the record's event time; "none": one folder. */
  partitionBy?: "date" | "none";
}

const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface WindowStepOptions extends StepOptions {
  /** Events up to this much behind the watermark still update their window (default 0). */
  allowedLateness?: string | number;
}

export class KeyedStream<K extends Key, T> extends Stream<T> {
  count(options?: StepOptions): Table<K, number> {
    return this.agg(countOf<T>(), options);
  }
  sum(field: (value: T) => number, options?: StepOptions): Table<K, number> {
    return this.agg(sumOf(field), options, { "the field function of sum": field });
  }
  avg(field: (value: T) => number, options?: StepOptions): Table<K, number> {
    return this.agg(avgOf(field), options, { "the field function of avg": field });
  }
  min(field: (value: T) => number, options?: StepOptions): Table<K, number> {
    return this.agg(minOf(field), options, { "the field function of min": field });
  }
  max(field: (value: T) => number, options?: StepOptions): Table<K, number> {
    return this.agg(maxOf(field), options, { "the field function of max": field });
  }
  distinctCount(field: (value: T) => string | number, options?: StepOptions): Table<K, number> {
    return this.agg(distinctCountOf(field), options, { "the field function of distinctCount": field });
  }
  aggregate<A, R = A>(spec: AggregateSpec<T, A, R>, options?: StepOptions): Table<K, R> {
    return this.agg(fromSpec(spec), options, specFunctions(spec));
  }

  window(spec: WindowSpec, options: WindowStepOptions = {}): WindowedStream<K, T> {
    const lateness =
      options.allowedLateness === undefined
        ? 0
        : typeof options.allowedLateness === "number"
          ? options.allowedLateness
          : parseDuration(options.allowedLateness);
    return new WindowedStream<K, T>(this.b, this.stepId, spec, lateness, options.name);
  }

  private agg<R>(
    fn: AggregateFunction<T, any, R>,
    options: StepOptions = {},
    userFunctions: UserFunctions = {},
  ): Table<K, R> {
    const id = this.b.idFor(fn.name, options.name);
    refuseAsyncFunctions(id, userFunctions);
    this.b.add({ kind: "aggregate", id, input: this.stepId, fn, window: undefined, allowedLatenessMs: 0 });
    return new Table<K, R>(this.b, id);
  }
}

export class WindowedStream<K extends Key, T> {
  /** @internal */
  constructor(
    private readonly b: GraphBuilder,
    private readonly input: string,
    private readonly spec: WindowSpec,
    private readonly allowedLatenessMs: number,
    private readonly name: string | undefined,
  ) {}

  count(options?: StepOptions): WindowedTable<K, number> {
    return this.agg(countOf<T>(), options);
  }
  sum(field: (value: T) => number, options?: StepOptions): WindowedTable<K, number> {
    return this.agg(sumOf(field), options, { "the field function of sum": field });
  }
  avg(field: (value: T) => number, options?: StepOptions): WindowedTable<K, number> {
    return this.agg(avgOf(field), options, { "the field function of avg": field });
  }
  min(field: (value: T) => number, options?: StepOptions): WindowedTable<K, number> {
    return this.agg(minOf(field), options, { "the field function of min": field });
  }
  max(field: (value: T) => number, options?: StepOptions): WindowedTable<K, number> {
    return this.agg(maxOf(field), options, { "the field function of max": field });
  }
  distinctCount(field: (value: T) => string | number, options?: StepOptions): WindowedTable<K, number> {
    return this.agg(distinctCountOf(field), options, { "the field function of distinctCount": field });
  }
  aggregate<A, R = A>(spec: AggregateSpec<T, A, R>, options?: StepOptions): WindowedTable<K, R> {
    return this.agg(fromSpec(spec), options, specFunctions(spec));
  }

  private agg<R>(
    fn: AggregateFunction<T, any, R>,
    options: StepOptions = {},
    userFunctions: UserFunctions = {},
  ): WindowedTable<K, R> {
    if (this.spec.type === "session" && !fn.merge) {
      throw new WeirError(
        "INVALID_PIPELINE",
        `a session window needs an aggregate with merge(a, b); ${fn.name} has none`,
      );
    }
    const id = this.b.idFor(`window-${fn.name}`, options.name ?? this.name);
    refuseAsyncFunctions(id, userFunctions);
    this.b.add({
      kind: "aggregate",
      id,
      input: this.input,
      fn,
      window: this.spec,
      allowedLatenessMs: this.allowedLatenessMs,
    });
    return new WindowedTable<K, R>(this.b, id);
  }
}

export interface EmitOptions<M extends EmitMode> extends StepOptions {
  /**
   * `crossing` (default): one record per key (and window) on the update that makes the predicate true.
   * `changes`: one record on every update while it is true. `final` (windows only): one record when the window closes.
   */
  emit?: M;
}

/** A continuously updated aggregate per key. */
export class Table<K extends Key, V> {
  /** @internal */
  constructor(
    private readonly b: GraphBuilder,
    readonly stepId: string,
  ) {}

  /** A rule: records for keys whose value satisfies the predicate. */
  when(
    predicate: (value: V, key: K) => boolean,
    options: EmitOptions<"crossing" | "changes"> = {},
  ): Stream<Update<K, V>> {
    return emitStep(this.b, this.stepId, options.emit ?? "crossing", predicate, options.name, false);
  }

  /** Every update as a record. */
  toStream(options: StepOptions = {}): Stream<Update<K, V>> {
    return emitStep(this.b, this.stepId, "changes", undefined, options.name, false);
  }
}

/** A continuously updated aggregate per key and window. */
export class WindowedTable<K extends Key, V> {
  /** @internal */
  constructor(
    private readonly b: GraphBuilder,
    readonly stepId: string,
  ) {}

  when(
    predicate: (value: V, key: K) => boolean,
    options: EmitOptions<EmitMode> = {},
  ): Stream<WindowedUpdate<K, V>> {
    return emitStep(this.b, this.stepId, options.emit ?? "crossing", predicate, options.name, true);
  }

  /** Every update (`changes`, default) or each window's final value when it closes (`final`). */
  toStream(options: EmitOptions<"changes" | "final"> = {}): Stream<WindowedUpdate<K, V>> {
    return emitStep(this.b, this.stepId, options.emit ?? "changes", undefined, options.name, true);
  }
}

/** A step's user functions by what messages call them ("the field function of sum"). */
type UserFunctions = Record<string, unknown>;

function refuseAsyncFunctions(stepId: string, fns: UserFunctions): void {
  for (const what in fns) refuseAsync(stepId, what, fns[what]);
}

function specFunctions(spec: AggregateSpec<any, any, any>): UserFunctions {
  const { init, add, merge, result, save, load } = spec;
  return {
    "aggregate's init": init,
    "aggregate's add": add,
    "aggregate's merge": merge,
    "aggregate's result": result,
    "aggregate's save": save,
    "aggregate's load": load,
  };
}

const EMIT_MODES: readonly EmitMode[] = ["crossing", "changes", "final"];

function emitStep<R>(
  b: GraphBuilder,
  input: string,
  mode: EmitMode,
  predicate: ((value: any, key: any) => boolean) | undefined,
  name: string | undefined,
  windowed: boolean,
): Stream<R> {
  if (!EMIT_MODES.includes(mode)) {
    throw new WeirError(
      "INVALID_PIPELINE",
      `emit must be one of ${EMIT_MODES.join(", ")}, got ${JSON.stringify(mode)}`,
    );
  }
  if (mode === "final" && !windowed) {
    throw new WeirError(
      "INVALID_PIPELINE",
      `emit "final" needs a window: a running aggregate never closes (use "crossing" or "changes")`,
    );
  }
  const id = b.idFor(predicate ? "when" : "updates", name);
  refuseAsync(id, "the when predicate", predicate);
  b.add({ kind: "emit", id, input, mode, predicate });
  return new Stream<R>(b, id);
}
