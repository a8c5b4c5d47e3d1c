/**
 * `--broker` / `$WEIR_BROKER`: which Kafka cluster a command works on (undefined: the embedded log).
 * Cheap to import: checking the URL and connecting are in src/cli/kafka/ and src/kafka/, loaded
 * only when a command works on Kafka.
 */
import { usageError } from "../errors.js";

/** Where `--broker` / `$WEIR_BROKER` came from (for messages about a bad value). */
export interface BrokerChoice {
  url: string;
  from: "--broker" | "WEIR_BROKER";
}

/**
 * The Kafka cluster a command works on: `--broker`, else `$WEIR_BROKER`; undefined means the
 * embedded log. The URL is checked when the command connects (src/kafka/connection.ts).
 */
export function resolveBroker(
  opts: { broker?: string },
  env: NodeJS.ProcessEnv = process.env,
): BrokerChoice | undefined {
  if (opts.broker !== undefined) {
    if (opts.broker.trim() === "")
      throw usageError(
        "--broker needs a URL like kafka://127.0.0.1:9092 (leave it out to use the embedded log)",
      );
    return { url: opts.broker.trim(), from: "--broker" };
  }
  const fromEnv = env.WEIR_BROKER?.trim();
  if (fromEnv !== undefined && fromEnv !== "") return { url: fromEnv, from: "WEIR_BROKER" };
  return undefined;
}

/** Help of the `--broker <url>` option of the commands that can work on Kafka. */
export const BROKER_OPTION_HELP =
  "work on this Kafka cluster instead of the embedded log: kafka://host:port[,host:port] (default: $WEIR_BROKER)";
