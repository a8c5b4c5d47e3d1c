/**
 * `weir produce TOPIC --broker kafka://...`: the Kafka end of `weir produce`. The command
 * (src/cli/commands/produce.ts, which loads this module) parses the lines as for the embedded log;
 * this module creates the topic when it is missing and sends the records with the idempotent
 * producer (acks=all), each record's partition chosen with the Java client's murmur2 rule
 * (src/kafka/topic-sender.ts).
 */
import type { BrokerChoice } from "../broker.js";
import { plural, q } from "../format.js";
import { info } from "../output.js";
import type { ProducerRecord } from "../../log/types.js";
import { WeirError } from "../../errors.js";
import { brokerAddress } from "./support.js";
import { KafkaCluster, idempotentProducer } from "../../kafka/connection.js";
import { KafkaTopicSender } from "../../kafka/topic-sender.js";

/** The options of `weir produce` this path reads (src/cli/commands/produce.ts has them all). */
export interface KafkaProduceOptions {
  flush?: string;
  partitions?: number;
  batch: number;
}

/**
 * Make sure `topic` exists on the cluster (creating it with --partitions), run `fn` with a
 * function that sends records to it, then wait until the cluster acknowledged all of them.
 */
export async function withKafkaTopic(
  choice: BrokerChoice,
  topic: string,
  opts: KafkaProduceOptions,
  fn: (append: (records: ProducerRecord[]) => void | Promise<void>) => Promise<void>,
): Promise<void> {
  const address = brokerAddress(choice);
  if (opts.flush !== undefined)
    info(
      `--flush applies to the embedded log; ${choice.url} acknowledges a batch once its in-sync replicas have it`,
    );
  const cluster = new KafkaCluster(address);
  const producer = idempotentProducer(address, "weir-produce");
  try {
    let partitions = await cluster.partitionCount(topic);
    if (partitions === undefined) {
      const wanted = opts.partitions ?? 1;
      try {
        await cluster.createTopic(topic, { partitions: wanted });
        info(
          `created topic ${q(topic)} on ${choice.url} with ${plural(wanted, "partition")} (it did not exist)`,
        );
      } catch (err) {
        // Created by someone else in the meantime.
        if (!(err instanceof WeirError && err.code === "TOPIC_EXISTS")) throw err;
      }
      partitions = (await cluster.partitionCount(topic)) ?? wanted;
    } else if (opts.partitions !== undefined && partitions !== opts.partitions) {
      info(
        `topic ${q(topic)} already has ${plural(partitions, "partition")}; --partitions ${opts.partitions} ignored`,
      );
    }
    const sender = new KafkaTopicSender(producer, address, topic, partitions, { batchSize: opts.batch });
    try {
      await fn((records) => sender.append(records));
    } catch (err) {
      // The input failed (unreadable file...): what was read so far still goes out, as on the
      // embedded log, unless sending is what failed.
      await sender.flush().catch(() => {});
      throw err;
    }
    await sender.flush();
  } finally {
    await new Promise<void>((resolve) => producer.close(true, () => resolve()));
    await cluster.close();
  }
}
