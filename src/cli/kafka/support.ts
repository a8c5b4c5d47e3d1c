/**
 * What the `weir` commands share when they work on a Kafka cluster (`--broker` / `$WEIR_BROKER`):
 * checking the URL, and messages that name the cluster and say how to fix a mistake.
 */
import type { BrokerChoice } from "../broker.js";
import { q } from "../format.js";
import { WeirError } from "../../errors.js";
import { parseBrokerUrl, type BrokerAddress } from "../../kafka/connection.js";

/** Parse the chosen URL; a bad one is a usage error naming where it came from. */
export function brokerAddress(choice: BrokerChoice): BrokerAddress {
  try {
    return parseBrokerUrl(choice.url);
  } catch (err) {
    if (choice.from === "WEIR_BROKER" && err instanceof WeirError) {
      throw new WeirError(
        "USAGE",
        err.message.replace(/^--broker /, "WEIR_BROKER=") + " (unset WEIR_BROKER to use the embedded log)",
      );
    }
    throw err;
  }
}

/** ` --broker URL` for a command to suggest (nothing when the cluster came from $WEIR_BROKER). */
export function brokerFlag(choice: BrokerChoice): string {
  return choice.from === "--broker" ? ` --broker ${q(choice.url)}` : "";
}

export function unknownKafkaTopicError(topic: string, choice: BrokerChoice): WeirError {
  const b = brokerFlag(choice);
  const where = choice.from === "WEIR_BROKER" ? `${choice.url} (from WEIR_BROKER)` : choice.url;
  return new WeirError(
    "UNKNOWN_TOPIC",
    `unknown topic ${q(topic)} on ${where}; create it with \`weir topics create ${q(topic)}${b}\` or write to it with ` +
      `\`weir produce ${q(topic)}${b}\` (\`weir topics list${b}\` shows the topics)`,
  );
}

export function kafkaTopicExistsError(topic: string, choice: BrokerChoice): WeirError {
  const b = brokerFlag(choice);
  return new WeirError(
    "TOPIC_EXISTS",
    `topic ${q(topic)} already exists on ${choice.url} (see \`weir topics describe ${q(topic)}${b}\`; use --if-not-exists to ignore it, ` +
      `or \`weir topics delete ${q(topic)}${b}\` first)`,
  );
}
