/**
 * Every environment variable the `weir` command reads, in one table: `weir --help` prints it, and
 * docs/cli.md's table lists the same variables (test/cli/help-docs.test.ts checks both against every
 * variable read in src/, except the test-only ones below).
 */
import { CRASH_AT_VARIABLE } from "../runtime/crash-points.js";

export interface EnvironmentVariable {
  name: string;
  /** What it sets, when the corresponding option is not given. */
  meaning: string;
}

export const ENVIRONMENT: readonly EnvironmentVariable[] = [
  {
    name: "WEIR_DATA_DIR",
    meaning: "the data directory when --data-dir is not given (default ./.weir)",
  },
  {
    name: "WEIR_BROKER",
    meaning:
      "a Kafka cluster (kafka://host:port[,host:port]) for run, replay, topics, produce, consume and dashboard when --broker is not given",
  },
  {
    name: "WEIR_TABLE_STORE",
    meaning:
      "where versioned tables live (sqlite, sqlite:/path/file.db or postgres://user@host:port/db) for run, replay, table, query and dashboard when --table-store is not given",
  },
  {
    name: "WEIR_KAFKA_MAX_RECORD_BYTES",
    meaning:
      "the largest record weir writes to Kafka (default 1000000 bytes; a larger one is a dead letter): raise it for brokers that take more",
  },
  {
    name: "WEIR_TOKEN",
    meaning: "the token weir dashboard requires when --token is not given",
  },
  {
    name: "WEIR_TYPECHECK",
    meaning: "0: do not type-check a TypeScript pipeline module before running it, as --no-typecheck does",
  },
  {
    name: "WEIR_DEBUG",
    meaning: "1: print the stack trace of every error, as --debug does",
  },
];

/**
 * Variables that only tests set (fault injection, src/runtime/crash-points.ts): deliberately not in
 * `weir --help` nor in docs/cli.md.
 */
export const TEST_ONLY_ENVIRONMENT: readonly string[] = [CRASH_AT_VARIABLE];

/** The "Environment:" section of `weir --help`. */
export function environmentHelp(): string {
  const width = Math.max(...ENVIRONMENT.map((v) => v.name.length));
  return `Environment:\n${ENVIRONMENT.map((v) => `  ${v.name.padEnd(width)}  ${v.meaning}`).join("\n")}`;
}
