/**
 * The dataflow graph: plain data built by the pipeline API and executed by the runtime. Every step
 * has a stable id that is at once its state key, checkpoint key, metric label and dashboard id.
 * User functions live in the nodes but never in what `describe` prints.
 */
import type { RecordHeader } from "../log/types.js";
import type { AggregateFunction } from "../operators/aggregations.js";
import type { WindowSpec } from "../time/windows.js";
import { describeWindow } from "../time/windows.js";
import type { AnySchema } from "../schema/index.js";
import type { LakeFormat } from "../sinks/types.js";

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

interface NodeBase {
  /** Stable step name. */
  readonly id: string;
  /** The step this one reads from (null for sources). */
  readonly input: string | null;
}

export interface SourceNode extends NodeBase {
  readonly kind: "source";
  readonly topic: string;
  readonly schema: AnySchema | undefined;
  readonly eventTime: ((value: any) => Date | number) | undefined;
  readonly maxOutOfOrdernessMs: number;
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
  | SinkNode
  | TableSinkNode
  | LakeSinkNode;
export type NodeKind = GraphNode["kind"];

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
  steps: Array<{ id: string; kind: NodeKind; input: string | null; detail: string }>;
  /** Topics written. */
  outputs: string[];
  /** Versioned tables written. */
  tables: string[];
  /** Lake datasets written. */
  datasets: string[];
}

export function describeGraph(graph: PipelineGraph): GraphDescription {
  const steps = graph.nodes.map((n) => ({ id: n.id, kind: n.kind, input: n.input, detail: detailOf(n) }));
  const outputs = [
    ...new Set(graph.nodes.filter((n): n is SinkNode => n.kind === "sink").map((n) => n.topic)),
  ];
  outputs.push(`${graph.pipeline}.dlq`);
  if (graph.nodes.some((n) => n.kind === "aggregate" && n.window && n.window.time === "event")) {
    outputs.push(`${graph.pipeline}.late`);
  }
  const tables = [...new Set(graph.nodes.flatMap((n) => (n.kind === "table" ? [n.table] : [])))];
  const datasets = [...new Set(graph.nodes.flatMap((n) => (n.kind === "lake" ? [n.dataset] : [])))];
  if (graph.deadLettersToLake) datasets.push(`${graph.pipeline}_dead_letters`);
  return { pipeline: graph.pipeline, steps, outputs, tables, datasets };
}

function detailOf(n: GraphNode): string {
  switch (n.kind) {
    case "source":
      return `topic ${n.topic}; schema ${n.schema ? n.schema.describe() : "any JSON"}; watermark max event time - ${n.maxOutOfOrdernessMs} ms`;
    case "aggregate":
      return n.window
        ? `${n.fn.name} over ${describeWindow(n.window)}` +
            (n.allowedLatenessMs > 0 ? `, allowed lateness ${n.allowedLatenessMs} ms` : "")
        : `${n.fn.name} (running)`;
    case "emit":
      return n.predicate ? `when(...) emit ${n.mode}` : `stream of updates (${n.mode})`;
    case "sink":
      return `to topic ${n.topic}`;
    case "table":
      return `to versioned table ${n.table} (${n.versions} versions per key)`;
    case "lake":
      return `to lake dataset ${n.dataset} (${n.format}, partitioned by ${n.partitionBy})`;
    default:
      return n.kind;
  }
}

export function formatGraph(d: GraphDescription): string {
  const idWidth = Math.max(4, ...d.steps.map((s) => s.id.length));
  const lines = [`pipeline ${d.pipeline}`];
  for (const s of d.steps) {
    const from = s.input ? ` <- ${s.input}` : "";
    lines.push(`  ${s.id.padEnd(idWidth)}  ${s.detail}${from}`);
  }
  lines.push(`outputs: ${d.outputs.join(", ")}`);
  if (d.tables.length > 0) lines.push(`tables: ${d.tables.join(", ")}`);
  if (d.datasets.length > 0) lines.push(`lake datasets: ${d.datasets.join(", ")}`);
  return lines.join("\n");
}
