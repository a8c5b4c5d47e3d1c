/**
 * The log a `weir` command reads or writes, behind the one log interface (src/log/contract.ts):
 * the embedded log of the data directory (`--data-dir`, `$WEIR_DATA_DIR`), or the Kafka cluster
 * of `--broker` / `$WEIR_BROKER`. The commands work on either the same way; what differs is how
 * their messages name the log (and how to fix a mistake on it).
 */
import { existsSync } from "node:fs";
import type { WeirError } from "../errors.js";
import { openTopicLog, type TopicLog } from "../embed/topic-log.js";
import type { FlushPolicy } from "../log/types.js";
import { resolveBroker, type BrokerChoice } from "./broker.js";
import { checkDataDir, resolveDataDir } from "./data-dir.js";
import { unknownTopicError } from "./errors.js";

export interface CommandLog {
  readonly log: TopicLog;
  /** The cluster the command works on; undefined on the embedded log. */
  readonly broker: BrokerChoice | undefined;
  /** The one-line error for a topic that does not exist, saying how to create it. */
  unknownTopic(topic: string): WeirError;
}

export interface OpenCommandLogOptions {
  /** Embedded log only: when appended records are fsynced (default: the log's). */
  flush?: FlushPolicy;
  /**
   * The topic the command only reads: a data directory that does not exist is not created, the
   * topic is unknown (UNKNOWN_TOPIC naming the missing directory).
   */
  reads?: string;
}

/** Open the log of a command's options (checking the data directory or the cluster's URL). */
export async function openCommandLog(
  opts: { broker?: string; dataDir?: string },
  options: OpenCommandLogOptions = {},
): Promise<CommandLog> {
  const broker = resolveBroker(opts);
  if (broker !== undefined) {
    const { brokerAddress, unknownKafkaTopicError } = await import("./kafka/support.js");
    brokerAddress(broker); // a bad URL is a usage error naming where it came from
    const log = await openTopicLog({ broker: broker.url });
    return {
      log,
      broker,
      unknownTopic: (topic) => unknownKafkaTopicError(topic, broker),
    };
  }
  const dataDir = resolveDataDir(opts);
  if (options.reads !== undefined && !existsSync(dataDir)) throw unknownTopicError(options.reads, dataDir);
  checkDataDir(dataDir);
  const log = await openTopicLog(
    options.flush === undefined ? { dataDir } : { dataDir, flush: options.flush },
  );
  return {
    log,
    broker: undefined,
    unknownTopic: (topic) => unknownTopicError(topic, dataDir),
  };
}
