/** Weir's public API. */
export {
  pipeline,
  type PipelineDefinition,
  type PipelineContext,
  type SourceOptions,
  type PipelineOptions,
} from "./api/pipeline.js";
export {
  Stream,
  KeyedStream,
  WindowedStream,
  Table,
  WindowedTable,
  type SinkOptions,
  type ConnectorSinkOptions,
  type EmitOptions,
} from "./api/stream.js";
export type { StepOptions } from "./api/builder.js";
export type { Update, WindowedUpdate } from "./operators/emit.js";
export type { Joined, IntervalJoinOptions, NearestJoinOptions } from "./api/join.js";
export {
  schema,
  compile,
  parseEventTime,
  formatTimestamp,
  type Infer,
  type Schema,
  type CompiledSchema,
} from "./schema/index.js";
export { parseDuration } from "./util/duration.js";
export { windows, type Window, type WindowSpec } from "./time/windows.js";
export type { Key, RecordContext, EmitMode } from "./graph/graph.js";
export { describeGraph, formatGraph } from "./graph/graph.js";
export type { AggregateSpec } from "./operators/aggregations.js";
export type { SyncResult, AsyncCallbacksAreNotSupported } from "./operators/sync-only.js";
export { TestDriver, type OutputRecord, type RejectedRecord } from "./testing/driver.js";
export type { FailingStep } from "./runtime/dead-letters.js";
export { WeirError, type ErrorCode } from "./errors.js";
export {
  run,
  type RunOptions,
  type RunHandle,
  type RunSummary,
  type RunStatus,
  type RunState,
  type RunStarted,
  type RunMetrics,
} from "./embed/run.js";
export {
  readTopic,
  openTables,
  openWarehouse,
  type ReadTopicOptions,
  type TopicRecord,
  type TablesOptions,
  type TableReader,
  type TableVersion,
  type WarehouseReader,
} from "./embed/readers.js";
export type { Sink, SinkWriter, SinkRecord, SinkContext, SinkWriteResult } from "./sinks/contract.js";
export type { Source, SplitReader, SourceBatch, SourceRecord, SourceContext } from "./sources/contract.js";
export {
  openTopicLog,
  type OpenTopicLogOptions,
  type TopicLog,
  type LogBackendKind,
  type LogTopic,
  type LogPartition,
  type LogTopicReader,
  type LogTopicWriter,
  type LogEntry,
  type LogPositions,
  type FetchOptions,
  type FetchPosition,
  type FetchedPartition,
  type CreateTopicOptions,
  type CommittedWriter,
  type CommittedState,
  type GroupMember,
  type JoinGroupOptions,
  type AssignmentPolicy,
} from "./embed/topic-log.js";
export {
  humanLogger,
  jsonLogger,
  silentLogger,
  withFields,
  type Logger,
  type LogLevel,
  type LogFields,
  type LoggerOptions,
} from "./util/logger.js";
export type { DeadLetterLimit } from "./runtime/dead-letters.js";
export type { PipelineMetricsSnapshot, StepSnapshot, LatencyBuckets } from "./runtime/metrics.js";
