/**
 * How each kind of graph node becomes an operator: one factory per node kind, looked up by the
 * node's `kind` when a Task is built. Adding an operator kind means adding its node type to
 * src/graph/graph.ts, its operator to src/operators/ and its factory here — not editing Task.
 *
 * Factories run once per step when a Task is constructed, never per record: the operators they
 * return are the same classes the records flow through, wired by Task exactly as before.
 */
import { WeirError } from "../errors.js";
import type { GraphNode, NodeKind, PipelineGraph, RecordContext } from "../graph/graph.js";
import { compile } from "../schema/index.js";
import { AggregateOperator } from "../operators/aggregate.js";
import { EmitOperator } from "../operators/emit.js";
import { ExchangeReceiver, ExchangeSender, repartitionTopic } from "../operators/exchange.js";
import { FilterOperator } from "../operators/filter.js";
import { FlatMapOperator } from "../operators/flat-map.js";
import { IntervalJoinOperator, type WatermarkOrigin } from "../operators/interval-join.js";
import { KeyByOperator } from "../operators/key-by.js";
import { LakeSinkOperator } from "../operators/lake-sink.js";
import { MapOperator } from "../operators/map.js";
import { SessionAggregateOperator } from "../operators/session-aggregate.js";
import { TopicSinkOperator } from "../operators/sink.js";
import { ConnectorSinkOperator } from "../operators/connector-sink.js";
import { SourceOperator } from "../operators/source.js";
import { TableSinkOperator, type TableSequence } from "../operators/table-sink.js";
import type { Operator, OutputCollector, Stateful, TimeDriven } from "../operators/types.js";
import { WindowAggregateOperator, type Clock } from "../operators/window-aggregate.js";
import type { LakeDatasetSpec } from "../sinks/types.js";

/** What a factory may use and tell while the Task is being built (Task implements it). */
export interface BuildContext {
  readonly graph: PipelineGraph;
  readonly output: OutputCollector;
  /** Set when the task is partition task `task` of `tasks`: keyBy steps exchange records. */
  readonly exchange: { readonly task: number; readonly tasks: number } | undefined;
  /** The wall clock of processing-time windows. */
  readonly wallClock: Clock;
  /** The pipeline has an interval join, which keeps input lines in its state. */
  readonly keepsLines: boolean;
  /** A step built before this one (every input of a step is built before it). */
  built(id: string): { node: GraphNode; op: any } | undefined;
  /** The watermark an event-time step after step `id` lives by (the nearest source or join upstream). */
  originOf(id: string): WatermarkOrigin;
  /** The source whose decoding of the input line is the value reaching this keyBy, if any. */
  valuePreservingSource(keyBy: GraphNode): SourceOperator | undefined;
  /** Make a record a dead letter of step `stepId`. */
  deadLetter(ctx: RecordContext, reason: string, stepId: string): void;
  /** The handler of records too late for step `stepId`. */
  lateAt(stepId: string): (ctx: RecordContext, reason: string) => void;
  addSource(op: SourceOperator): void;
  addStateful(op: Stateful): void;
  addProcessingTimeStep(op: TimeDriven): void;
  /** A keyBy's exchange through its repartition topic (partition tasks). */
  addExchange(keyById: string, topic: string, receiver: ExchangeReceiver, sender: ExchangeSender): void;
  /** The update counter of versioned table `table` (registered with its versions on first use). */
  tableSequence(table: string, versions: number): TableSequence;
  /** A lake dataset the task writes (the first spec of a name counts). */
  addLakeDataset(spec: LakeDatasetSpec): void;
  /** An output topic the task writes (the first sink of a topic sets its partitions). */
  addOutputTopic(topic: string, partitions: number): void;
}

/** A built step: its operator, and how the Task wires it. */
export interface BuiltStep {
  readonly op: any;
  /**
   * What each input of the step (`inputsOf(node)`, in order) pushes into. Default: the operator
   * itself. Empty: no input pushes records to it (an emit step gets its aggregate's updates).
   */
  readonly inputs?: readonly Operator[];
  /** The step passes records on through `next` (false for sinks and aggregates). Default: true. */
  readonly forwards?: boolean;
}

export type OperatorFactory<K extends NodeKind> = (
  node: Extract<GraphNode, { kind: K }>,
  ctx: BuildContext,
) => BuiltStep;

/** One factory per node kind; the type makes a kind without a factory a compile error. */
export const OPERATOR_FACTORIES: { readonly [K in NodeKind]: OperatorFactory<K> } = {
  source(node, ctx) {
    const op = new SourceOperator(
      node.id,
      node.topic,
      node.schema ? compile(node.schema, { zone: ctx.graph.zone }) : undefined,
      node.eventTime,
      node.maxOutOfOrdernessMs,
      ctx.deadLetter,
    );
    ctx.addSource(op);
    return { op };
  },

  filter: (node) => ({ op: new FilterOperator(node.id, node.fn) }),
  map: (node) => ({ op: new MapOperator(node.id, node.fn) }),
  flatMap: (node) => ({ op: new FlatMapOperator(node.id, node.fn) }),

  keyBy(node, ctx) {
    const op = new KeyByOperator(node.id, node.fn);
    const exchange = ctx.exchange;
    if (exchange !== undefined) {
      const topic = repartitionTopic(ctx.graph.pipeline, node.id);
      const valueSource = ctx.valuePreservingSource(node);
      const receiver = new ExchangeReceiver(
        node.id,
        topic,
        exchange.tasks,
        ctx.deadLetter,
        valueSource === undefined ? undefined : (raw) => valueSource.decodeValue(raw),
        ctx.keepsLines,
      );
      const sender = new ExchangeSender(
        `${node.id}/exchange`,
        topic,
        exchange.task,
        exchange.tasks,
        ctx.originOf(node.input!),
        ctx.output,
        receiver,
        ctx.originOf(node.input!) instanceof SourceOperator,
        valueSource !== undefined,
      );
      ctx.addExchange(node.id, topic, receiver, sender);
    }
    return { op };
  },

  aggregate(node, ctx) {
    let op;
    if (node.window === undefined) {
      op = new AggregateOperator(node.id, node.fn);
    } else {
      const origin = ctx.originOf(node.input!);
      const clock: Clock =
        node.window.time === "processing" ? ctx.wallClock : { now: () => origin.watermark };
      op =
        node.window.type === "session"
          ? new SessionAggregateOperator(
              node.id,
              node.fn,
              node.window,
              node.allowedLatenessMs,
              clock,
              ctx.lateAt(node.id),
              ctx.deadLetter,
            )
          : new WindowAggregateOperator(
              node.id,
              node.fn,
              node.window,
              node.allowedLatenessMs,
              clock,
              ctx.lateAt(node.id),
              ctx.deadLetter,
            );
      if (node.window.time === "processing") ctx.addProcessingTimeStep(op);
      else origin.timeDriven.push(op);
    }
    ctx.addStateful(op);
    // Its updates go to the emit steps that registered with it, not through `next`.
    return { op, forwards: false };
  },

  emit(node, ctx) {
    const parent = ctx.built(node.input!);
    if (parent === undefined || parent.node.kind !== "aggregate") {
      throw new WeirError("INVALID_PIPELINE", `step ${node.id}: when()/toStream() must follow an aggregate`);
    }
    const op = new EmitOperator(node.id, node.mode, node.predicate);
    parent.op.addConsumer(op);
    return { op, inputs: [] };
  },

  join(node, ctx) {
    const left = ctx.originOf(node.input);
    const right = ctx.originOf(node.other);
    const op = new IntervalJoinOperator(node.id, node, left, right, ctx.lateAt(node.id), ctx.deadLetter);
    left.timeDriven.push(op);
    if (right !== left) right.timeDriven.push(op);
    ctx.addStateful(op);
    // Both parents push into the join, each through its own side.
    return { op, inputs: [op.left, op.right] };
  },

  table(node, ctx) {
    const seq = ctx.tableSequence(node.table, node.versions);
    return { op: new TableSinkOperator(node.id, node.table, seq, node.keyFn, ctx.output), forwards: false };
  },

  lake(node, ctx) {
    const op = new LakeSinkOperator(node.id, node.dataset, ctx.output);
    ctx.addLakeDataset({ name: node.dataset, format: node.format, partitionBy: node.partitionBy });
    return { op, forwards: false };
  },

  connector(node, ctx) {
    const op = new ConnectorSinkOperator(node.id, ctx.graph.pipeline, node.keyFn, ctx.output);
    return { op, forwards: false };
  },

  sink(node, ctx) {
    const op = new TopicSinkOperator(node.id, node.topic, node.keyFn, ctx.output);
    ctx.addOutputTopic(node.topic, node.partitions);
    return { op, forwards: false };
  },
};

/** Build the operator of `node` with the factory of its kind. */
export function buildStep(node: GraphNode, ctx: BuildContext): BuiltStep {
  const factory = OPERATOR_FACTORIES[node.kind] as OperatorFactory<NodeKind> | undefined;
  if (factory === undefined)
    throw new WeirError("INVALID_PIPELINE", `step ${node.id}: no operator for steps of kind ${node.kind}`);
  return factory(node as never, ctx);
}
