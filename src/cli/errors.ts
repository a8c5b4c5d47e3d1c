/**
 * The CLI's exit codes, and its messages for user mistakes that name `weir` commands. The error
 * classes themselves (UserError, usageError, WeirError) are in src/errors.ts; main.ts turns them
 * into one line on stderr and an exit code.
 */
import { existsSync } from "node:fs";
import { WeirError } from "../errors.js";
import { q } from "./format.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function unknownTopicError(topic: string, dataDir: string): WeirError {
  const where = existsSync(dataDir) ? `in ${dataDir}` : `(no data directory at ${dataDir})`;
  return new WeirError(
    "UNKNOWN_TOPIC",
    `unknown topic ${q(topic)} ${where}; create it with \`weir topics create ${q(topic)}\` or write to it with ` +
      `\`weir produce ${q(topic)}\` (\`weir topics list\` shows the topics; --data-dir or WEIR_DATA_DIR selects the data directory)`,
  );
}
