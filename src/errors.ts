/**
 * One error type for Weir. Every error carries a code from a closed list, so callers (and the CLI)
 * can tell a user's mistake from a bug, and whether retrying can help.
 *
 * Errors in *data* (a bad JSON line, a record failing its schema) are not exceptions: they travel
 * as dead letters. WeirError is for the caller's mistakes and for the environment failing.
 *
 * UserError is the message for the person at the command line or the dashboard (a bad flag, a
 * port in use), with the exit code the CLI ends with. It lives here, below every layer, so that
 * the dashboard and other front ends can raise it without importing the CLI.
 */
export const ErrorCodes = {
  /** The user asked for something that cannot be done as asked (bad flag, bad name, bad value). */
  USAGE: "USAGE",
  UNKNOWN_TOPIC: "UNKNOWN_TOPIC",
  TOPIC_EXISTS: "TOPIC_EXISTS",
  BAD_DATA_DIR: "BAD_DATA_DIR",
  /** Another process holds the write lock of a partition (one writer per partition). */
  PARTITION_LOCKED: "PARTITION_LOCKED",
  /** A live process holds the committed writer of that id (one holder per id, src/log/contract.ts). */
  WRITER_LOCKED: "WRITER_LOCKED",
  /** Bytes on disk fail their checksum or framing where they must not. */
  CORRUPT: "CORRUPT",
  OFFSET_OUT_OF_RANGE: "OFFSET_OUT_OF_RANGE",
  CLOSED: "CLOSED",
  INVALID_PIPELINE: "INVALID_PIPELINE",
  /** A pipeline is running (another process holds it) and cannot be run again or reset meanwhile. */
  PIPELINE_RUNNING: "PIPELINE_RUNNING",
  /** A checkpoint holds state of steps that changed or went away since it was written. */
  INCOMPATIBLE_STATE: "INCOMPATIBLE_STATE",
  /** A run stopped because too many of its records became dead letters (its max dead-letter ratio). */
  DEAD_LETTER_RATIO: "DEAD_LETTER_RATIO",
  IO: "IO",
  /** A user's sink (`sinkTo`) threw: the run stops with the step and the sink named. */
  SINK_FAILED: "SINK_FAILED",
  /** A pipeline's own source (`p.source(topic, { from })`) threw: the run stops with the source named. */
  SOURCE_FAILED: "SOURCE_FAILED",
  /** A Kafka cluster could not be reached or refused a request. */
  BROKER: "BROKER",
  INTERNAL: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes that describe a mistake of the user: the CLI prints one line and no stack trace. */
const USER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "USAGE",
  "UNKNOWN_TOPIC",
  "TOPIC_EXISTS",
  "BAD_DATA_DIR",
  "PARTITION_LOCKED",
  "WRITER_LOCKED",
  "OFFSET_OUT_OF_RANGE",
  "INVALID_PIPELINE",
  "INCOMPATIBLE_STATE",
  "PIPELINE_RUNNING",
  "DEAD_LETTER_RATIO",
]);

export class WeirError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WeirError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  /** True when the error is the user's to fix (print one line, exit non-zero, no stack). */
  get isUserError(): boolean {
    return USER_CODES.has(this.code);
  }
}

export function isWeirError(err: unknown): err is WeirError {
  return err instanceof WeirError;
}

/**
 * A mistake of the user: main prints `weir: <message>` (no stack) and exits with `exitCode`. A
 * `cause` (the error behind it) is printed, with its stack, under --debug.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/** A bad flag, a bad flag value or a bad combination of flags (exit code 2). */
export function usageError(message: string): UserError {
  return new UserError(message, 2);
}
