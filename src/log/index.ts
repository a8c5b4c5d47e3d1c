/** The embedded durable log: public API. */
export { EmbeddedLog } from "./embedded-log.js";
export type { TopicWriter } from "./topic-writer.js";
export type { PartitionReader } from "./partition-reader.js";
export { murmur2 } from "./partitioner.js";
export { parseFlushPolicy } from "./flush-policy.js";
export {
  DEFAULT_FLUSH_POLICY,
  DEFAULT_TOPIC_CONFIG,
  type FlushPolicy,
  type GroupOffsets,
  type LogOptions,
  type LogRecord,
  type PartitionDescription,
  type ProducerRecord,
  type RecordHeader,
  type RecordPosition,
  type TopicConfig,
  type TopicDescription,
} from "./types.js";
