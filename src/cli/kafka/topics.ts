/**
 * `weir topics list|create|describe --broker kafka://...`: the same commands on a Kafka cluster
 * (`topics delete` is one implementation for both backends, in src/cli/commands/topics.ts). Output formats follow the embedded log's (src/cli/commands/topics.ts); what Kafka does
 * not have (segment files, sizes on disk) is left out, what it adds (leaders, replicas) is shown.
 */
import type { BrokerChoice } from "../broker.js";
import { formatBytes, formatDuration, plural, q, renderTable } from "../format.js";
import { info } from "../output.js";
import { WeirError } from "../../errors.js";
import { brokerAddress, kafkaTopicExistsError, unknownKafkaTopicError } from "./support.js";
import { KafkaCluster } from "../../kafka/connection.js";

/** A topic as `topics describe --json` prints it. */
export interface KafkaTopicDescription {
  name: string;
  broker: string;
  config: {
    partitions: number;
    replicationFactor: number;
    retentionMs: number;
    retentionBytes: number;
    segmentBytes: number;
    segmentMs: number;
    cleanupPolicy: string;
  };
  partitions: Array<{
    partition: number;
    startOffset: number;
    endOffset: number;
    leader: number;
    replicas: number[];
    isr: number[];
  }>;
}

export interface KafkaCreateOptions {
  partitions?: number;
  replicationFactor?: number;
  retentionMs?: number;
  retentionBytes?: number;
  segmentBytes?: number;
  segmentMs?: number;
  ifNotExists?: boolean;
}

async function withCluster<T>(choice: BrokerChoice, fn: (cluster: KafkaCluster) => Promise<T>): Promise<T> {
  const cluster = new KafkaCluster(brokerAddress(choice));
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

export async function listKafkaTopics(choice: BrokerChoice, opts: { json?: boolean }): Promise<void> {
  await withCluster(choice, async (cluster) => {
    const names = await cluster.listTopics();
    if (opts.json) {
      const all = await Promise.all(names.map((n) => describe(cluster, choice, n)));
      process.stdout.write(json(all.filter((d) => d !== undefined)));
    } else if (names.length > 0) {
      process.stdout.write(names.join("\n") + "\n");
    }
  });
}

export async function createKafkaTopic(
  choice: BrokerChoice,
  name: string,
  opts: KafkaCreateOptions,
): Promise<void> {
  const config: Record<string, string> = {};
  if (opts.retentionMs !== undefined) config["retention.ms"] = String(opts.retentionMs);
  if (opts.retentionBytes !== undefined) config["retention.bytes"] = String(opts.retentionBytes);
  if (opts.segmentBytes !== undefined) config["segment.bytes"] = String(opts.segmentBytes);
  if (opts.segmentMs !== undefined) config["segment.ms"] = String(opts.segmentMs);
  await withCluster(choice, async (cluster) => {
    const exists = () => {
      if (!opts.ifNotExists) throw kafkaTopicExistsError(name, choice);
      info(`topic ${q(name)} already exists on ${choice.url}; left unchanged`);
    };
    if ((await cluster.listTopics()).includes(name)) return exists();
    try {
      await cluster.createTopic(name, {
        partitions: opts.partitions ?? 1,
        replicas: opts.replicationFactor,
        config,
      });
    } catch (err) {
      if (err instanceof WeirError && err.code === "TOPIC_EXISTS") return exists();
      throw err;
    }
    const d = await describe(cluster, choice, name);
    const c = d?.config;
    info(
      `created topic ${q(name)} on ${choice.url} with ${plural(d?.partitions.length ?? opts.partitions ?? 1, "partition")}` +
        (c
          ? ` (replication factor ${c.replicationFactor}, retention ${formatDuration(c.retentionMs)}, ${formatBytes(c.retentionBytes)} per partition)`
          : ""),
    );
  });
}

export async function describeKafkaTopic(
  choice: BrokerChoice,
  name: string,
  opts: { json?: boolean },
): Promise<void> {
  await withCluster(choice, async (cluster) => {
    const d = await describe(cluster, choice, name);
    if (d === undefined) throw unknownKafkaTopicError(name, choice);
    process.stdout.write(opts.json ? json(d) : renderKafkaDescription(d));
  });
}

/** Kafka's number-valued settings; -1 (no limit) when unset or unparseable. */
function numberSetting(config: Record<string, string>, name: string): number {
  const v = Number(config[name]);
  return Number.isFinite(v) ? v : -1;
}

async function describe(
  cluster: KafkaCluster,
  choice: BrokerChoice,
  name: string,
): Promise<KafkaTopicDescription | undefined> {
  const info = await cluster.describeTopic(name);
  if (info === undefined) return undefined;
  let config: Record<string, string>;
  try {
    config = await cluster.topicConfig(name);
  } catch (err) {
    // Deleted between the two requests.
    if (err instanceof WeirError && err.code === "UNKNOWN_TOPIC") return undefined;
    throw err;
  }
  return {
    name,
    broker: choice.url,
    config: {
      partitions: info.partitions.length,
      replicationFactor: Math.max(0, ...info.partitions.map((p) => p.replicas.length)),
      retentionMs: numberSetting(config, "retention.ms"),
      retentionBytes: numberSetting(config, "retention.bytes"),
      segmentBytes: numberSetting(config, "segment.bytes"),
      segmentMs: numberSetting(config, "segment.ms"),
      cleanupPolicy: config["cleanup.policy"] ?? "delete",
    },
    partitions: info.partitions.map((p) => ({
      partition: p.partition,
      startOffset: p.earliest,
      endOffset: p.latest,
      leader: p.leader,
      replicas: p.replicas,
      isr: p.isr,
    })),
  };
}

/** The text form of `topics describe --broker`. */
export function renderKafkaDescription(d: KafkaTopicDescription): string {
  const c = d.config;
  const head =
    `topic:      ${d.name}\n` +
    `cluster:    ${d.broker}\n` +
    `partitions: ${d.partitions.length} (replication factor ${c.replicationFactor})\n` +
    `retention:  ${formatDuration(c.retentionMs)} (time), ${formatBytes(c.retentionBytes)} per partition (size)` +
    (c.cleanupPolicy === "delete" ? "" : `, cleanup.policy ${c.cleanupPolicy}`) +
    `\n` +
    `segments:   roll at ${formatBytes(c.segmentBytes)} or ${formatDuration(c.segmentMs)}\n\n`;
  let records = 0;
  const node = (n: number) => (n < 0 ? "none" : String(n));
  const rows = d.partitions.map((p) => {
    records += p.endOffset - p.startOffset;
    return [
      String(p.partition),
      String(p.startOffset),
      String(p.endOffset),
      String(p.endOffset - p.startOffset),
      node(p.leader),
      p.replicas.join(","),
      p.isr.join(","),
    ];
  });
  if (d.partitions.length > 1) rows.push(["total", "-", "-", String(records), "", "", ""]);
  return (
    head +
    renderTable(["PARTITION", "START", "END", "RECORDS", "LEADER", "REPLICAS", "IN-SYNC"], rows, "rrrrrll")
  );
}
