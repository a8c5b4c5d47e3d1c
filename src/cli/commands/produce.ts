/**
 * `weir produce TOPIC`: append JSON lines from a file or stdin to a topic, of the embedded log or of
 * a Kafka cluster with `--broker` / `$WEIR_BROKER`: one path for both, a writer of the one log
 * interface (src/log/contract.ts). A missing topic is created with --partitions. On Kafka the
 * writer is the idempotent producer (acks=all), each record's partition chosen with the Java
 * client's murmur2 rule, as on the embedded log.
 *
 * Lines are streamed in large chunks, split by LineSplitter (src/util/lines.ts, the line reader of
 * `weir run --input` too) and appended in batches (one append per chunk, at most --batch records
 * each), so a file of millions of lines goes through quickly; lines that trickle in on stdin are
 * appended as soon as they arrive. Each record is the line's bytes exactly as written (without its
 * line break), also when they are not UTF-8; a line over the maximum record size
 * (src/util/records.ts) is not produced, with a warning naming it, and the others go on.
 */
import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import type { Command } from "commander";
import type { ProducerRecord } from "../../log/types.js";
import { UserError, WeirError } from "../../errors.js";
import { BROKER_OPTION_HELP, resolveBroker } from "../broker.js";
import { EXIT_FAILURE } from "../errors.js";
import { plural, q } from "../format.js";
import { intParser, parseFlushOption, parseRate, type GlobalOptions } from "../options.js";
import { info, warn } from "../output.js";
import { RatePacer, shutdownSignal } from "../shutdown.js";
import { openCommandLog } from "../topic-log.js";
import { LineSplitter } from "../../util/lines.js";
import { MAX_RECORD_BYTES } from "../../util/records.js";
import { describeBytes, wellFormed } from "../../util/text.js";

export interface ProduceOptions extends GlobalOptions {
  broker?: string;
  file?: string;
  keyField?: string;
  rate?: number;
  json?: boolean;
  partitions?: number;
  flush?: string;
  batch: number;
}

export function register(program: Command): void {
  program
    .command("produce")
    .description("append JSON lines from a file or stdin to a topic (one record per non-empty line)")
    .argument("<topic>", "topic to write to (created with --partitions if it does not exist)")
    .option("-f, --file <path>", "read lines from this file instead of stdin (- for stdin)")
    .option("-k, --key-field <field>", "use this JSON field as the record key (a.b for nested fields)")
    .option("-r, --rate <rate>", "pace appends: 500/s, 30000/min, 2000/h, or a number per second", parseRate)
    .option(
      "--json",
      "reject lines that are not valid JSON or not UTF-8 (reported with their line number) instead of storing them",
    )
    .option(
      "-p, --partitions <n>",
      "partitions when the topic has to be created (default: 1)",
      intParser(1, 100_000),
    )
    .option(
      "--flush <policy>",
      "when appends are fsynced: always, os or interval:<duration> (default: interval:50ms)",
    )
    .option("--batch <n>", "records per append", intParser(1, 1_000_000), 1000)
    .option("--broker <url>", BROKER_OPTION_HELP)
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  weir produce events --file events.jsonl --key-field user_id\n" +
        "  cat events.jsonl | weir produce events --rate 500/s\n" +
        "  weir produce events --partitions 4 --json < events.jsonl\n" +
        "  weir produce events --file events.jsonl --broker kafka://127.0.0.1:9092\n",
    )
    .action(async (topic: string, _opts: ProduceOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ProduceOptions>();
      await produce(topic, opts);
    });
}

/** The key of a parsed line: the field's value as a string; null when absent, null or not an object. */
export function keyFromValue(value: unknown, field: string, path: readonly string[] | null): string | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  let v: unknown = (value as Record<string, unknown>)[field];
  if (v === undefined && path !== null && !Object.prototype.hasOwnProperty.call(value, field)) {
    v = value;
    for (const part of path) {
      if (v === null || typeof v !== "object") return null;
      v = (v as Record<string, unknown>)[part];
    }
  }
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return JSON.stringify(v);
}

async function openInput(
  file: string | undefined,
): Promise<{ stream: Readable; size: number | null; name: string }> {
  if (file === undefined || file === "-") {
    if (process.stdin.isTTY)
      info("reading JSON lines from the terminal; end with Ctrl-D (use --file to read a file)");
    return { stream: process.stdin, size: null, name: "stdin" };
  }
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new UserError(`cannot read ${q(file)}: no such file (check --file)`);
    throw new UserError(`cannot read ${q(file)}: ${(err as Error).message}`);
  }
  if (st.isDirectory())
    throw new UserError(`cannot read ${q(file)}: it is a directory, not a file (check --file)`);
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  // Surface open errors (EACCES) as one line before any record is appended.
  await new Promise<void>((resolveOpen, reject) => {
    stream.once("open", () => resolveOpen());
    stream.once("error", (err) => reject(new UserError(`cannot read ${q(file)}: ${err.message}`)));
  });
  return { stream, size: st.isFile() ? st.size : null, name: file };
}

interface Progress {
  update(bytes: number, records: number): void;
  stop(): void;
}

async function createProgress(total: number): Promise<Progress> {
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: "producing [{bar}] {percentage}% | {done} of {size} | {records} records | {eta_formatted} left",
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  });
  const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  bar.start(total, 0, { done: mb(0), size: mb(total), records: 0 });
  return {
    update: (bytes, records) => bar.update(bytes, { done: mb(bytes), size: mb(total), records }),
    stop: () => bar.stop(),
  };
}

/** What a produce run did, for its summary. */
interface ProduceCounts {
  produced: number;
  notJson: number;
  /** Lines stored as written although their bytes are not UTF-8 (without --json). */
  notUtf8: number;
  /** Lines --json rejected (not JSON, not UTF-8). */
  rejected: number;
  /** Lines over the maximum record size (not produced). */
  tooLarge: number;
}

/** Where parsed lines go: the topic's writer (on Kafka, several batches in flight). */
export type AppendRecords = (records: ProducerRecord[]) => void | Promise<void>;

export async function produce(topic: string, opts: ProduceOptions): Promise<void> {
  const flush = resolveBroker(opts) === undefined ? await parseFlushOption(opts.flush) : undefined;
  const input = await openInput(opts.file);
  const stop = shutdownSignal();
  const counts: ProduceCounts = { produced: 0, notJson: 0, notUtf8: 0, rejected: 0, tooLarge: 0 };

  const { log, broker } = await openCommandLog(opts, flush === undefined ? {} : { flush });
  try {
    if (broker !== undefined && opts.flush !== undefined)
      info(
        `--flush applies to the embedded log; ${broker.url} acknowledges a batch once its in-sync replicas have it`,
      );
    const wanted = opts.partitions ?? 1;
    let created = false;
    if (!(await log.listTopics()).includes(topic)) {
      try {
        await log.createTopic(topic, { partitions: wanted });
        created = true;
      } catch (err) {
        // Created by someone else in the meantime.
        if (!(err instanceof WeirError && err.code === "TOPIC_EXISTS")) throw err;
      }
    }
    const writer = await log.openWriter(topic);
    if (created) {
      const on = broker === undefined ? "" : ` on ${broker.url}`;
      info(`created topic ${q(topic)}${on} with ${plural(wanted, "partition")} (it did not exist)`);
    } else if (opts.partitions !== undefined && writer.partitions !== opts.partitions) {
      info(
        `topic ${q(topic)} already has ${plural(writer.partitions, "partition")}; --partitions ${opts.partitions} ignored`,
      );
    }
    try {
      await appendLines(input, opts, stop, (records) => writer.append(records), counts);
    } catch (err) {
      // The input failed (an unreadable file...): what was read so far is still written, unless
      // writing is what failed.
      await writer.close().catch(() => {});
      throw err;
    }
    // Flushes: fsynced by the embedded log's --flush policy, acknowledged by Kafka's in-sync replicas.
    await writer.close();
  } finally {
    await log.close();
  }
  const { produced, notJson, notUtf8, rejected, tooLarge } = counts;

  const details: string[] = [];
  if (notJson > 0) details.push(`${notJson} not valid JSON`);
  if (notUtf8 > 0) details.push(`${notUtf8} not valid UTF-8, stored as written`);
  if (rejected > 0) details.push(`${plural(rejected, "line")} rejected`);
  if (tooLarge > 0) details.push(`${plural(tooLarge, "line")} over the maximum record size, not produced`);
  const summary = `produced ${plural(produced, "record")} to ${q(topic)}${details.length ? ` (${details.join(", ")})` : ""}`;
  if (stop.aborted) {
    warn(`interrupted; ${summary}`);
    process.exitCode = 130;
  } else if (produced === 0 && rejected + tooLarge > 0) {
    warn(`${summary}: no line of ${input.name} ${tooLarge === 0 ? "was valid JSON" : "could be produced"}`);
    process.exitCode = EXIT_FAILURE;
  } else {
    info(summary);
  }
}

/**
 * Read the input's lines, parse them (--json, --key-field), and hand them to `append` in batches of
 * at most --batch records, paced by --rate, with a progress bar on a terminal. Stops early when
 * `stop` fires. Counts go to `counts` as they happen.
 */
async function appendLines(
  input: { stream: Readable; size: number | null; name: string },
  opts: ProduceOptions,
  stop: AbortSignal,
  append: AppendRecords,
  counts: ProduceCounts,
): Promise<void> {
  const keyField = opts.keyField;
  const keyPath = keyField !== undefined && keyField.includes(".") ? keyField.split(".") : null;
  const strict = opts.json === true;
  const batchSize = opts.batch;
  let bytesRead = 0;
  const pacer = opts.rate !== undefined ? new RatePacer(opts.rate) : null;
  const progress =
    input.size !== null && input.size > 0 && process.stderr.isTTY && !opts.quiet
      ? await createProgress(input.size)
      : null;
  const onStop = () => input.stream.destroy();
  stop.addEventListener("abort", onStop, { once: true });

  let pending: ProducerRecord[] = [];
  const splitter = new LineSplitter();
  const onLine = (line: string, lineNumber: number): void => {
    if (splitter.oversize >= 0) {
      counts.tooLarge++;
      warn(
        `line ${lineNumber}: ${splitter.oversize} bytes, over the maximum record size of ${describeBytes(MAX_RECORD_BYTES)}; not produced`,
      );
      return;
    }
    // A line whose bytes are not UTF-8 is stored exactly as written (a pipeline reading it makes
    // it a dead letter naming the byte); its text, with U+FFFD, serves the JSON check and the key.
    let value: string | Buffer = line;
    if (splitter.invalidUtf8At >= 0) {
      if (strict) {
        counts.rejected++;
        warn(`line ${lineNumber}: not valid UTF-8 at byte ${splitter.invalidUtf8At} (JSON text is UTF-8)`);
        return;
      }
      value = Buffer.from(splitter.lineBytes());
      counts.notUtf8++;
    }
    let parsed: unknown;
    let valid = true;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      valid = false;
      if (strict) {
        counts.rejected++;
        warn(`line ${lineNumber}: not valid JSON: ${wellFormed((err as Error).message)}`);
        return;
      }
      counts.notJson++;
    }
    const key = keyField !== undefined && valid ? keyFromValue(parsed, keyField, keyPath) : null;
    // Key and value together are a record: at most the maximum record size (src/util/records.ts).
    if ((line.length + (key?.length ?? 0)) * 3 > MAX_RECORD_BYTES) {
      const bytes =
        (typeof value === "string" ? Buffer.byteLength(value) : value.length) +
        (key === null ? 0 : Buffer.byteLength(key));
      if (bytes > MAX_RECORD_BYTES) {
        counts.tooLarge++;
        warn(
          `line ${lineNumber}: key and value take ${bytes} bytes, over the maximum record size of ${describeBytes(MAX_RECORD_BYTES)}; not produced`,
        );
        return;
      }
    }
    pending.push({ key, value });
  };

  /** A failed append (not a failed read), thrown as it is. */
  let appendError: unknown;
  /** Append everything pending, in batches, paced when --rate is given. */
  const appendPending = async (): Promise<void> => {
    try {
      await appendBatches();
    } catch (err) {
      appendError = err;
      throw err;
    }
  };
  const appendBatches = async (): Promise<void> => {
    let i = 0;
    while (i < pending.length) {
      if (stop.aborted) break;
      let n = Math.min(batchSize, pending.length - i);
      if (pacer !== null) {
        n = await pacer.take(n, stop);
        if (n === 0) break;
      }
      await append(i === 0 && n === pending.length ? pending : pending.slice(i, i + n));
      counts.produced += n;
      i += n;
    }
    pending = [];
  };

  const takeLines = (): void => {
    for (let line = splitter.next(); line !== null; line = splitter.next()) onLine(line, splitter.lineNumber);
  };
  try {
    try {
      for await (const chunk of input.stream) {
        const buf = chunk as Buffer;
        bytesRead += buf.length;
        splitter.push(buf);
        takeLines();
        await appendPending();
        progress?.update(bytesRead, counts.produced);
        if (stop.aborted) break;
      }
    } catch (err) {
      if (appendError !== undefined) throw appendError;
      if (!stop.aborted) throw new UserError(`cannot read ${q(input.name)}: ${(err as Error).message}`);
    }
    if (!stop.aborted) {
      splitter.end();
      takeLines();
      await appendPending();
      progress?.update(bytesRead, counts.produced);
    }
  } finally {
    stop.removeEventListener("abort", onStop);
    progress?.stop();
  }
}
