/**
 * Opening the one log interface (src/log/contract.ts) on either backend: the embedded log of a
 * data directory (shared with the runs of this process, src/embed/shared-log.ts), or a Kafka
 * cluster. Kafka's client is loaded only when a broker is given.
 *
 *   const log = await openTopicLog({ broker: "kafka://127.0.0.1:9092" });   // or { dataDir: ".weir" }
 *   try { console.log(await log.listTopics()); } finally { await log.close(); }
 */
import { resolve } from "node:path";
import type { TopicLog } from "../log/contract.js";
import type { FlushPolicy } from "../log/types.js";
import { leaseLog } from "./shared-log.js";

export type {
  AssignmentPolicy,
  GroupMember,
  JoinGroupOptions,
  CommittedState,
  CommittedWriter,
  CreateTopicOptions,
  FetchOptions,
  FetchPosition,
  FetchedPartition,
  LogBackendKind,
  LogEntry,
  LogPartition,
  LogPositions,
  LogTopic,
  LogTopicReader,
  LogTopicWriter,
  TopicLog,
} from "../log/contract.js";

export interface OpenTopicLogOptions {
  /** The embedded log's data directory (default `.weir`); created when missing. */
  dataDir?: string;
  /** A Kafka cluster (`kafka://host:port[,host:port]`) instead of the embedded log; undefined or "": the embedded log. */
  broker?: string | undefined;
  /**
   * Embedded log only: when appended records are forced to disk (default: the log's, fsync at
   * most every 50 ms). A log with its own policy is opened for this handle instead of the shared one.
   */
  flush?: FlushPolicy;
  /** Embedded log only: where recovery reports what it repaired. */
  logger?: (message: string) => void;
}

export async function openTopicLog(options: OpenTopicLogOptions = {}): Promise<TopicLog> {
  const broker = options.broker?.trim();
  if (broker !== undefined && broker !== "") {
    const { KafkaTopicLog } = await import("../kafka/kafka-topic-log.js");
    return KafkaTopicLog.connect(broker);
  }
  const dataDir = resolve(
    options.dataDir === undefined || options.dataDir === "" ? ".weir" : options.dataDir,
  );
  const { EmbeddedTopicLog } = await import("../log/embedded-topic-log.js");
  if (options.flush !== undefined) {
    const { EmbeddedLog } = await import("../log/index.js");
    const log = EmbeddedLog.open(dataDir, {
      flush: options.flush,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    return new EmbeddedTopicLog(log, () => log.close());
  }
  const lease = await leaseLog(dataDir, options.logger);
  return new EmbeddedTopicLog(lease.log, () => lease.release());
}
