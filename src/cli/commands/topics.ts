/**
 * `weir topics list|create|describe|delete`: manage the topics of the embedded log, or of a Kafka
 * cluster with `--broker` / `$WEIR_BROKER` (src/cli/kafka/topics.ts).
 *
 * `delete` is one implementation over the one log interface (src/log/contract.ts). The others stay
 * per backend: `create` sets what that interface does not carry (retention, segment sizes, the
 * replication factor) and reports the backend's resulting configuration, and `describe` and
 * `list --json` print each backend's own description (segments and sizes, or leaders and replicas).
 */
import type { Command } from "commander";
import type { TopicConfig, TopicDescription } from "../../log/types.js";
import { usageError, UserError, WeirError } from "../../errors.js";
import { BROKER_OPTION_HELP, resolveBroker } from "../broker.js";
import { resolveDataDir, withLog } from "../data-dir.js";
import { unknownTopicError } from "../errors.js";
import { formatBytes, formatDuration, plural, q, renderTable } from "../format.js";
import {
  intParser,
  parseBytes,
  parseBytesOrUnlimited,
  parseMsOrUnlimited,
  parseRetention,
  type GlobalOptions,
} from "../options.js";
import { info } from "../output.js";
import { openCommandLog } from "../topic-log.js";
import { existsSync } from "node:fs";

interface CreateOptions extends GlobalOptions {
  broker?: string;
  partitions?: number;
  replicationFactor?: number;
  retentionMs?: number;
  retention?: number;
  retentionBytes?: number;
  segmentBytes?: number;
  segmentMs?: number;
  ifNotExists?: boolean;
}

interface JsonOption extends GlobalOptions {
  broker?: string;
  json?: boolean;
}

interface DeleteOptions extends GlobalOptions {
  broker?: string;
  ifExists?: boolean;
}

/** The Kafka side of these commands, loaded only when --broker or $WEIR_BROKER is given. */
function kafka() {
  return import("../kafka/topics.js");
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

export function register(program: Command): void {
  const topics = program
    .command("topics")
    .description("manage topics: list, create, describe, delete")
    .addHelpText(
      "after",
      "\nExamples:\n  weir topics create events --partitions 4 --retention 3d\n  weir topics list\n" +
        "  weir topics describe events\n  weir topics delete events\n" +
        "  weir topics list --broker kafka://127.0.0.1:9092   # the topics of a Kafka cluster",
    );

  topics
    .command("list")
    .alias("ls")
    .description("list the topics, one name per line")
    .option("--json", "print every topic's configuration and partitions as JSON")
    .option("--broker <url>", BROKER_OPTION_HELP)
    .action(async (_opts: JsonOption, cmd: Command) => {
      const opts = cmd.optsWithGlobals<JsonOption>();
      const broker = resolveBroker(opts);
      if (broker !== undefined) return (await kafka()).listKafkaTopics(broker, opts);
      const dataDir = resolveDataDir(opts);
      if (!existsSync(dataDir)) {
        // Nothing was ever written here: no topics (and do not create the directory).
        process.stdout.write(opts.json ? "[]\n" : "");
        return;
      }
      await withLog(dataDir, (log) => {
        const names = [...log.listTopics()].sort();
        if (opts.json) {
          process.stdout.write(json(names.map((n) => log.describeTopic(n))));
        } else if (names.length > 0) {
          process.stdout.write(names.join("\n") + "\n");
        }
      });
    });

  topics
    .command("create")
    .description("create a topic")
    .argument("<name>", "topic name")
    .option("-p, --partitions <n>", "number of partitions", intParser(1, 100_000), 1)
    .option(
      "--replication-factor <n>",
      "on a Kafka cluster: copies of each partition (default: the cluster's default.replication.factor)",
      intParser(1, 100),
    )
    .option(
      "--retention <duration>",
      "keep records this long: 30m, 12h, 7d, or forever (default: 7d)",
      parseRetention,
    )
    .option("--retention-ms <ms>", "retention in milliseconds (-1: forever)", parseMsOrUnlimited)
    .option(
      "--retention-bytes <size>",
      "keep at most this much per partition: 512MB, 10GB (default: unlimited)",
      parseBytesOrUnlimited,
    )
    .option("--segment-bytes <size>", "roll segment files at this size (default: 64MB)", parseBytes)
    .option("--segment-ms <duration>", "roll segment files at this age (default: 7d)", parseRetention)
    .option("--if-not-exists", "succeed without changes when the topic already exists")
    .option("--broker <url>", BROKER_OPTION_HELP)
    .addHelpText(
      "after",
      "\nExample:\n  weir topics create events --partitions 4 --retention 3d --retention-bytes 10GB",
    )
    .action(async (name: string, _opts: CreateOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CreateOptions>();
      if (opts.retention !== undefined && opts.retentionMs !== undefined) {
        throw usageError("give either --retention or --retention-ms, not both");
      }
      const broker = resolveBroker(opts);
      if (broker !== undefined) {
        const retentionMs = opts.retentionMs ?? opts.retention;
        return (await kafka()).createKafkaTopic(broker, name, { ...opts, retentionMs });
      }
      if (opts.replicationFactor !== undefined) {
        throw usageError(
          "--replication-factor applies to topics on a Kafka cluster (--broker); the embedded log keeps one copy",
        );
      }
      const config: Partial<{ -readonly [K in keyof TopicConfig]: TopicConfig[K] }> = {};
      if (opts.partitions !== undefined) config.partitions = opts.partitions;
      const retentionMs = opts.retentionMs ?? opts.retention;
      if (retentionMs !== undefined) config.retentionMs = retentionMs;
      if (opts.retentionBytes !== undefined) config.retentionBytes = opts.retentionBytes;
      if (opts.segmentBytes !== undefined) config.segmentBytes = opts.segmentBytes;
      if (opts.segmentMs !== undefined) config.segmentMs = opts.segmentMs;
      await withLog(resolveDataDir(opts), (log) => {
        if (log.hasTopic(name)) {
          if (opts.ifNotExists) {
            info(`topic ${q(name)} already exists; left unchanged`);
            return;
          }
          throw usageErrorExists(name);
        }
        log.createTopic(name, config);
        const d = log.describeTopic(name);
        info(
          `created topic ${q(name)} with ${plural(d.partitions.length, "partition")} ` +
            `(retention ${formatDuration(d.config.retentionMs)}, ${formatBytes(d.config.retentionBytes)} per partition)`,
        );
      });
    });

  topics
    .command("describe")
    .description("show a topic's configuration and partitions (offsets, sizes, segments)")
    .argument("<name>", "topic name")
    .option("--json", "print as JSON")
    .option("--broker <url>", BROKER_OPTION_HELP)
    .action(async (name: string, _opts: JsonOption, cmd: Command) => {
      const opts = cmd.optsWithGlobals<JsonOption>();
      const broker = resolveBroker(opts);
      if (broker !== undefined) return (await kafka()).describeKafkaTopic(broker, name, opts);
      const dataDir = resolveDataDir(opts);
      if (!existsSync(dataDir)) throw unknownTopicError(name, dataDir);
      await withLog(dataDir, (log) => {
        if (!log.hasTopic(name)) throw unknownTopicError(name, dataDir);
        const d = log.describeTopic(name);
        process.stdout.write(opts.json ? json(d) : renderDescription(d));
      });
    });

  topics
    .command("delete")
    .alias("rm")
    .description("delete a topic and all its records")
    .argument("<name>", "topic name")
    .option("--if-exists", "succeed when the topic does not exist")
    .option("--broker <url>", BROKER_OPTION_HELP)
    .action(async (name: string, _opts: DeleteOptions, cmd: Command) => {
      await deleteTopic(name, cmd.optsWithGlobals<DeleteOptions>());
    });
}

/**
 * `topics delete`: one implementation for the embedded log and Kafka, through the one log
 * interface (a data directory that does not exist is not created: the topic is unknown).
 */
async function deleteTopic(name: string, opts: DeleteOptions): Promise<void> {
  let opened;
  try {
    opened = await openCommandLog(opts, { reads: name });
  } catch (err) {
    if (!(opts.ifExists && err instanceof WeirError && err.code === "UNKNOWN_TOPIC")) throw err;
    info(`topic ${q(name)} does not exist; nothing to delete`);
    return;
  }
  const { log, broker, unknownTopic } = opened;
  const on = broker === undefined ? "" : ` on ${broker.url}`;
  try {
    // A name that is not a topic (nor a valid name) is unknown, on either backend.
    let exists = (await log.listTopics()).includes(name);
    if (exists) {
      try {
        await log.deleteTopic(name);
      } catch (err) {
        if (!(err instanceof WeirError && err.code === "UNKNOWN_TOPIC")) throw err;
        exists = false; // deleted meanwhile
      }
    }
    if (exists) info(`deleted topic ${q(name)}${on}`);
    else if (opts.ifExists) info(`topic ${q(name)} does not exist${on}; nothing to delete`);
    else throw unknownTopic(name);
  } finally {
    await log.close();
  }
}

function usageErrorExists(name: string): Error {
  return new UserError(
    `topic ${q(name)} already exists (see \`weir topics describe ${q(name)}\`; use --if-not-exists to ignore it, ` +
      `or \`weir topics delete ${q(name)}\` first)`,
  );
}

/** The text form of `topics describe`. */
export function renderDescription(d: TopicDescription): string {
  const c = d.config;
  const head =
    `topic:      ${d.name}\n` +
    `partitions: ${d.partitions.length}\n` +
    `retention:  ${formatDuration(c.retentionMs)} (time), ${formatBytes(c.retentionBytes)} per partition (size)\n` +
    `segments:   roll at ${formatBytes(c.segmentBytes)} or ${formatDuration(c.segmentMs)}\n\n`;
  let records = 0;
  let size = 0;
  let segments = 0;
  const rows = d.partitions.map((p) => {
    records += p.endOffset - p.startOffset;
    size += p.sizeBytes;
    segments += p.segments;
    return [
      String(p.partition),
      String(p.startOffset),
      String(p.endOffset),
      String(p.endOffset - p.startOffset),
      formatBytes(p.sizeBytes),
      String(p.segments),
    ];
  });
  if (d.partitions.length > 1)
    rows.push(["total", "-", "-", String(records), formatBytes(size), String(segments)]);
  return head + renderTable(["PARTITION", "START", "END", "RECORDS", "SIZE", "SEGMENTS"], rows, "rrrrrr");
}
