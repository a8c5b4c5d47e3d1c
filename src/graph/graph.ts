/**
 * The dataflow graph: plain data built by the pipeline API and executed by the runtime. Every step
 * has a stable id that is at once its state key, checkpoint key, metric label and dashboard id.
 * User functions live in the nodes but never in what `describe` prints.
 */
import type { RecordHeader } from "../log/types.js";
import type { WindowSpec } from "../time/windows.js";
import { describeWindow } from "../time/windows.js";
import { formatDuration } from "../util/duration.js";
import type { AnySchema } from "../schema/index.js";
import type { LakeFormat } from "../sinks/types.js";
import type { Sink } from "../sinks/contract.js";
import type { Source } from "../sources/contract.js";

/** Keys of keyed streams: primitive, so equal keys are equal in a Map and serialize as they are. */
export type Key = string | number;

/**
 * The metadata travelling with a record through a pipeline. One context object per source is
 * reused for every record, so operators must read what they need synchronously.
 */
export interface RecordContext {
  key: Key | undefined;
  /** Event time, ms since the epoch. */
  timestamp: number;
  topic: string;
  partition: number;
  offset: number;
  /** The source line as it arrived (for dead letters and late records). */
  raw: string;
  headers: readonly RecordHeader[] | undefined;
}

export type EmitMode = "crossing" | "changes" | "final";

/**
 * How an aggregation folds records into an accumulator (src/operators/aggregations.ts builds them).
 * `add` returns the new accumulator, so immutable numbers and mutable objects both work.
 */
export interface AggregateFunction<T, A, R> {
  /** Shown by `weir describe` and used in default step names. */
  readonly name: string;
  /** The field a built-in aggregation folds (`sum((e) => e.price)`): part of its state's identity. */
  readonly field?: (value: T) => unknown;
  init(): A;
  add(acc: A, value: T): A;
  /** Combine two accumulators (session windows merge with it). */
  merge?(a: A, b: A): A;
  result(acc: A): R;
  /** A JSON-safe form of an accumulator for checkpoints (default: the accumulator itself). */
  save?(acc: A): unknown;
  /** The inverse of `save`. */
  load?(saved: unknown): A;
}

/** Which right records an interval join pairs with a left one (src/operators/interval-join.ts). */
export type JoinPick = "nearest" | "all";
/** What an interval join does with a left record no right record matched. */
export type JoinUnmatched = "drop" | "keep";

interface NodeBase {
  /** Stable step name. */
  readonly id: string;
  /** The step this one reads from (null for sources; a join's left input — see `inputsOf`). */
  readonly input: string | null;
}

export interface SourceNode extends NodeBase {
  readonly kind: "source";
  readonly topic: string;
  readonly schema: AnySchema | undefined;
  readonly eventTime: ((value: any) => Date | number) | undefined;
  readonly maxOutOfOrdernessMs: number;
  /** The pipeline's own source (`from`, src/sources/contract.ts): ingested into `topic` by the run. */
  readonly from?: Source;
}
export interface FilterNode extends NodeBase {
  readonly kind: "filter";
  readonly fn: (value: any, ctx: RecordContext) => boolean;
}
export interface MapNode extends NodeBase {
  readonly kind: "map";
  readonly fn: (value: any, ctx: RecordContext) => unknown;
}
export interface FlatMapNode extends NodeBase {
  readonly kind: "flatMap";
  readonly fn: (value: any, ctx: RecordContext) => Iterable<unknown>;
}
export interface KeyByNode extends NodeBase {
  readonly kind: "keyBy";
  readonly fn: (value: any) => Key;
}
export interface AggregateNode extends NodeBase {
  readonly kind: "aggregate";
  readonly fn: AggregateFunction<any, any, any>;
  readonly window: WindowSpec | undefined;
  readonly allowedLatenessMs: number;
}
/** Turns an aggregate's updates into records: `when(predicate, { emit })` and `toStream()`. */
export interface EmitNode extends NodeBase {
  readonly kind: "emit";
  readonly mode: EmitMode;
  readonly predicate: ((value: any, key: any) => boolean) | undefined;
}
export interface SinkNode extends NodeBase {
  readonly kind: "sink";
  readonly topic: string;
  readonly keyFn: ((value: any) => Key | null | undefined) | undefined;
  readonly partitions: number;
}

/**
 * `left.intervalJoin(right, ...)` / `joinNearest`: an event-time interval join of two streams
 * (src/operators/interval-join.ts). `input` is the left stream, `other` the right one.
 */
export interface JoinNode extends NodeBase {
  readonly kind: "join";
  readonly input: string;
  /** The right-hand input. */
  readonly other: string;
  /** A right record may lie this far before the left record's time, ms. */
  readonly beforeMs: number;
  /** A right record may lie this far after the left record's time, ms. */
  readonly afterMs: number;
  readonly pick: JoinPick;
  readonly unmatched: JoinUnmatched;
  /** Match only equal keys (undefined: any record within the interval). */
  readonly on: { readonly left: (value: any) => Key; readonly right: (value: any) => Key } | undefined;
}

/** `.sinkTo(sink)`: every record goes to a user's sink (src/sinks/contract.ts), tied to checkpoints. */
export interface ConnectorSinkNode extends NodeBase {
  readonly kind: "connector";
  readonly sink: Sink<any>;
  readonly keyFn: ((value: any) => Key | null | undefined) | undefined;
}

/** `.toTable(name, ...)`: each record becomes the next version of its key in a versioned table. */
export interface TableSinkNode extends NodeBase {
  readonly kind: "table";
  readonly table: string;
  readonly versions: number;
  readonly keyFn: ((value: any) => Key) | undefined;
}
/** `.toLake(name, ...)`: each record becomes a row of a date-partitioned lake dataset. */
export interface LakeSinkNode extends NodeBase {
  readonly kind: "lake";
  readonly dataset: string;
  readonly format: LakeFormat;
  readonly partitionBy: "date" | "none";
}

export type GraphNode =
  | SourceNode
  | FilterNode
  | MapNode
  | FlatMapNode
  | KeyByNode
  | AggregateNode
  | EmitNode
  | JoinNode
  | SinkNode
  | TableSinkNode
  | LakeSinkNode
  | ConnectorSinkNode;
export type NodeKind = GraphNode["kind"];

/** The steps a node reads from: none for a source, two for a join (left, then right), else one. */
export function inputsOf(node: GraphNode): string[] {
  if (node.input === null) return [];
  return node.kind === "join" ? [node.input, node.other] : [node.input];
}

/** Does the pipeline write late records (`<pipeline>.late`): event-time windows or joins. */
/**
 * The lake dataset of a pipeline's dead letters (with `deadLettersToLake`): `<pipeline>_dead_letters`,
 * with any `-` of the pipeline's name as `_` so that the dataset is a plain SQL name.
 */
export function deadLetterDatasetName(pipeline: string): string {
  return `${pipeline.replace(/-/g, "_")}_dead_letters`;
}

export function writesLateRecords(graph: PipelineGraph): boolean {
  return graph.nodes.some(
    (n) =>
      (n.kind === "aggregate" && n.window !== undefined && n.window.time === "event") || n.kind === "join",
  );
}

export interface PipelineGraph {
  readonly pipeline: string;
  /** IANA zone (or "+hh:mm") of zone-less date-times in the sources; undefined: UTC. */
  readonly zone: string | undefined;
  /** Dead letters are also landed as lake dataset `<pipeline>_dead_letters`. */
  readonly deadLettersToLake: boolean;
  /** In creation order, which is also a topological order (inputs come first). */
  readonly nodes: readonly GraphNode[];
}

/** The graph as plain JSON: what `weir describe`, the API and the dashboard show. */
export interface GraphDescription {
  pipeline: string;
  /** `input` is the step read from (a join's left input); `other` a join's right input. */
  steps: Array<{ id: string; kind: NodeKind; input: string | null; other?: string; detail: string }>;
  /** Topics written. */
  outputs: string[];
  /** Versioned tables written. */
  tables: string[];
  /** Lake datasets written. */
  datasets: string[];
  /** The user's sinks (`sinkTo`), as `<sink name> (<step id>)`; absent when there are none. */
  sinks?: string[];
  /** The pipeline's own sources (`from`), as `<source name> -> <topic>`; absent when there are none. */
  sources?: string[];
}

export function describeGraph(graph: PipelineGraph): GraphDescription {
  const steps = graph.nodes.map((n) => ({
    id: n.id,
    kind: n.kind,
    input: n.input,
    ...(n.kind === "join" ? { other: n.other } : {}),
    detail: detailOf(n),
  }));
  const outputs = [
    ...new Set(graph.nodes.filter((n): n is SinkNode => n.kind === "sink").map((n) => n.topic)),
  ];
  outputs.push(`${graph.pipeline}.dlq`);
  if (writesLateRecords(graph)) outputs.push(`${graph.pipeline}.late`);
  const tables = [...new Set(graph.nodes.flatMap((n) => (n.kind === "table" ? [n.table] : [])))];
  const datasets = [...new Set(graph.nodes.flatMap((n) => (n.kind === "lake" ? [n.dataset] : [])))];
  if (graph.deadLettersToLake) datasets.push(deadLetterDatasetName(graph.pipeline));
  const sinks = graph.nodes.flatMap((n) => (n.kind === "connector" ? [`${n.sink.name} (${n.id})`] : []));
  const sources = graph.nodes.flatMap((n) =>
    n.kind === "source" && n.from !== undefined ? [`${n.from.name} -> ${n.topic}`] : [],
  );
  return {
    pipeline: graph.pipeline,
    steps,
    outputs,
    tables,
    datasets,
    ...(sinks.length > 0 ? { sinks } : {}),
    ...(sources.length > 0 ? { sources } : {}),
  };
}

function detailOf(n: GraphNode): string {
  switch (n.kind) {
    case "source":
      return `topic ${n.topic}${n.from !== undefined ? ` (ingested from ${n.from.name})` : ""}; schema ${n.schema ? n.schema.describe() : "any JSON"}; watermark max event time - ${n.maxOutOfOrdernessMs} ms`;
    case "aggregate":
      return n.window
        ? `${n.fn.name} over ${describeWindow(n.window)}` +
            (n.allowedLatenessMs > 0 ? `, allowed lateness ${n.allowedLatenessMs} ms` : "")
        : `${n.fn.name} (running)`;
    case "join": {
      const range =
        n.beforeMs === n.afterMs
          ? `within ${formatDuration(n.afterMs)}`
          : `from -${formatDuration(n.beforeMs)} to +${formatDuration(n.afterMs)}`;
      return (
        `interval join: ${n.pick === "nearest" ? "the nearest" : "every"} ${n.other} record ${range} of event time` +
        `${n.on ? ", equal keys" : ""}; unmatched ${n.unmatched === "keep" ? "kept (right: null)" : "dropped"}`
      );
    }
    case "emit":
      return n.predicate ? `when(...) emit ${n.mode}` : `stream of updates (${n.mode})`;
    case "sink":
      return `to topic ${n.topic}`;
    case "table":
      return `to versioned table ${n.table} (${n.versions} versions per key)`;
    case "lake":
      return `to lake dataset ${n.dataset} (${n.format}, partitioned by ${n.partitionBy})`;
    case "connector":
      return `to sink ${n.sink.name}`;
    default:
      return n.kind;
  }
}

export function formatGraph(d: GraphDescription): string {
  const idWidth = Math.max(4, ...d.steps.map((s) => s.id.length));
  const lines = [`pipeline ${d.pipeline}`];
  for (const s of d.steps) {
    const from = s.input ? ` <- ${s.input}${s.other !== undefined ? `, ${s.other}` : ""}` : "";
    lines.push(`  ${s.id.padEnd(idWidth)}  ${s.detail}${from}`);
  }
  lines.push(`outputs: ${d.outputs.join(", ")}`);
  if (d.tables.length > 0) lines.push(`tables: ${d.tables.join(", ")}`);
  if (d.datasets.length > 0) lines.push(`lake datasets: ${d.datasets.join(", ")}`);
  if (d.sinks !== undefined) lines.push(`sinks: ${d.sinks.join(", ")}`);
  if (d.sources !== undefined) lines.push(`sources: ${d.sources.join(", ")}`);
  return lines.join("\n");
}
