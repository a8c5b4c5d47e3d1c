/**
 * How large a record may be, and what Weir says about a record it cannot read. One limit for every
 * way in and out (docs/semantics.md, Records and parsing):
 *
 * - an input line of `weir run --input`, a line `weir produce` appends, and a record a pipeline
 *   reads from a topic: at most MAX_RECORD_BYTES (the line without its line break; a record's value);
 * - what a step writes (a topic record's key and value, a table value, a lake row): at most
 *   MAX_RECORD_BYTES too, so that everything a pipeline writes fits in the embedded log, whose
 *   frames hold at most 64 MiB (src/log/record-codec.ts);
 * - a dead letter: at most MAX_DEAD_LETTER_BYTES, so that it fits in a Kafka broker's default
 *   message size (message.max.bytes, 1 MiB) as well as in the embedded log: a dead letter that
 *   cannot be written would stop the pipeline at the same record on every restart.
 */
import { WeirError } from "../errors.js";
import { decodePrefix, describeBytes, firstInvalidUtf8, isUtf8 } from "./text.js";

/**
 * A value a sink cannot write: it cannot be serialised (a cycle, nesting too deep, a toJSON that
 * throws) or it is over the maximum record size. Thrown synchronously by the sink before it writes
 * anything; the step writing the value turns it into a dead letter of that record. Any other error
 * of a sink (disk full, a lost connection) stops the run instead.
 */
export class UnwritableValue extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnwritableValue";
  }
}

/** The largest record, in bytes: 32 MiB. */
export const MAX_RECORD_BYTES = 32 * 1024 * 1024;

/**
 * The largest record (key and value) Weir writes to Kafka, in bytes: a broker refuses a record
 * batch over its `message.max.bytes` (1 MiB by default, the batch's own overhead included), and
 * a refused write would fail the transaction — and the run, at the same record on every restart.
 * A larger output is a dead letter of the step that writes it. WEIR_KAFKA_MAX_RECORD_BYTES raises
 * it for brokers (and topics) configured to take more.
 */
export const KAFKA_MAX_RECORD_BYTES = 1_000_000;

/** KAFKA_MAX_RECORD_BYTES, or WEIR_KAFKA_MAX_RECORD_BYTES when set (a positive integer). */
export function kafkaMaxRecordBytes(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.WEIR_KAFKA_MAX_RECORD_BYTES;
  if (text === undefined || text === "") return KAFKA_MAX_RECORD_BYTES;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1024)
    throw new WeirError(
      "USAGE",
      `WEIR_KAFKA_MAX_RECORD_BYTES=${JSON.stringify(text)}: expected a number of bytes, at least 1024`,
    );
  return n;
}

/** The largest dead letter (its JSON envelope), in bytes. */
export const MAX_DEAD_LETTER_BYTES = 1_000_000;

/**
 * Longest key of a versioned table, in bytes: PostgreSQL cannot index a longer one (a B-tree entry
 * holds at most 2704 bytes), so no store takes one, and a pipeline moves between stores unchanged.
 */
export const MAX_TABLE_KEY_BYTES = 2048;

/** A record over MAX_RECORD_BYTES becomes a dead letter whose `raw` is its first this many bytes. */
export const OVERSIZE_RAW_BYTES = 64 * 1024;

/** The dead-letter reason of a record of `bytes` bytes, over `limit`, whose raw holds its first `kept` bytes. */
export function tooLargeReason(bytes: number, limit: number, kept: number): string {
  return `record too large: ${bytes} bytes, over the limit of ${describeBytes(limit)}; raw holds its first ${kept} bytes`;
}

/** The dead-letter reason of a record whose byte `at` (from 0) is where it stops being UTF-8. */
export function invalidUtf8Reason(at: number): string {
  return `invalid UTF-8 at byte ${at}; raw has U+FFFD in place of the bytes that are not UTF-8`;
}

/** What `raw` shows of a record over the limit: its first OVERSIZE_RAW_BYTES, cut between characters. */
export function oversizeRaw(bytes: Buffer): string {
  return decodePrefix(bytes, 0, Math.min(OVERSIZE_RAW_BYTES, bytes.length));
}

/**
 * Why the record `bytes`, decoded as `text`, is not UTF-8 (its dead-letter reason), or undefined
 * when it is. Cheap in the common case: only a text holding U+FFFD can come from bytes that are
 * not UTF-8, and a search for one character runs at memory speed; isUtf8 runs only then.
 */
export function utf8Problem(bytes: Buffer, text: string): string | undefined {
  if (text.indexOf("\ufffd") === -1 || isUtf8(bytes)) return undefined;
  return invalidUtf8Reason(firstInvalidUtf8(bytes));
}

/**
 * The dead-letter reason of a line a line reader flagged (`oversize` or `invalidUtf8At` set: see
 * LineSplitter), `text` being the line it handed out.
 */
export function lineProblem(flags: { oversize: number; invalidUtf8At: number }, text: string): string {
  if (flags.oversize >= 0) return tooLargeReason(flags.oversize, MAX_RECORD_BYTES, Buffer.byteLength(text));
  return invalidUtf8Reason(flags.invalidUtf8At);
}

/**
 * A record header saying the record is a dead letter, and why (its value, UTF-8): what a pipeline's
 * own source could not write as a record (src/sources/ingest.ts) goes to the source topic with the
 * text that can be shown of it, and the pipeline's source makes it a dead letter with this reason —
 * one writer per topic, and the dead letter names the record's place in the topic.
 */
export const DEAD_LETTER_HEADER = "weir-dead-letter";

/** The reason a record's headers give for it being a dead letter, if they do. */
export function deadLetterReason(headers: readonly { key: string; value: Buffer }[]): string | undefined {
  for (let i = 0; i < headers.length; i++)
    if (headers[i].key === DEAD_LETTER_HEADER) return headers[i].value.toString("utf8");
  return undefined;
}
