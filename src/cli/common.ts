/**
 * Helpers shared by every `weir` sub-command: where the data directory is, how option values are
 * parsed, how user mistakes are reported, opening the embedded log, buffered stdout with
 * backpressure and quiet EPIPE handling, and graceful shutdown on SIGINT/SIGTERM.
 *
 * Conventions for command authors (see main.ts for how commands are registered):
 * - Create commands with `program.command(...)` so they inherit the error/exit settings.
 * - Read options with `cmd.optsWithGlobals()` (the global `--data-dir`, `--quiet` are on the program;
 *   do not define them again) and call `resolveDataDir(opts)`.
 * - Data goes to stdout (use `stdoutWriter()` for anything large); messages go to stderr via `info()`.
 * - A user's mistake is `throw new UserError("what was wrong; how to fix it")` (or `usageError(...)`
 *   for a bad combination of flags): main prints one line `weir: ...` and exits 1 (2 for usage).
 * - Keep a command file cheap to import: load heavy dependencies with `await import()` in the action.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import { WeirError } from "../errors.js";
import { parseDuration } from "../util/duration.js";
import type { FlushPolicy, LogOptions } from "../log/types.js";
import type { EmbeddedLog } from "../log/index.js";
import { promotedName, readPromotions, type OutputKind } from "../runtime/promotions.js";

/** The options every command sees through `cmd.optsWithGlobals()`. */
export interface GlobalOptions {
  dataDir?: string;
  quiet?: boolean;
  debug?: boolean;
}

export const DEFAULT_DATA_DIR = ".weir";

/** `--data-dir`, else `$WEIR_DATA_DIR`, else `./.weir`; always an absolute path. */
export function resolveDataDir(
  opts: { dataDir?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): string {
  const fromFlag = opts.dataDir;
  if (fromFlag !== undefined && fromFlag !== "") return resolve(fromFlag);
  const fromEnv = env.WEIR_DATA_DIR;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return resolve(DEFAULT_DATA_DIR);
}

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

// ---------------------------------------------------------------------------------------------
// Errors

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

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Quote a name for a message the way a shell would need it. */
export function q(text: string): string {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(text) ? text : JSON.stringify(text);
}

export function unknownTopicError(topic: string, dataDir: string): WeirError {
  const where = existsSync(dataDir) ? `in ${dataDir}` : `(no data directory at ${dataDir})`;
  return new WeirError(
    "UNKNOWN_TOPIC",
    `unknown topic ${q(topic)} ${where}; create it with \`weir topics create ${q(topic)}\` or write to it with ` +
      `\`weir produce ${q(topic)}\` (\`weir topics list\` shows the topics; --data-dir or WEIR_DATA_DIR selects the data directory)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Option value parsers (for commander's argParser: throw InvalidArgumentError on a bad value)

function invalid(message: string): never {
  throw new InvalidArgumentError(message);
}

/** An integer option in [min, max]. */
export function intParser(min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const v = value.trim();
    if (!/^[+-]?\d+$/.test(v))
      invalid(`expected an integer${min === 0 ? " >= 0" : min === 1 ? " >= 1" : ""}.`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      invalid(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}.`
          : `expected an integer from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

const RATE_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
};

/**
 * A rate in records per second: `500/s`, `30000/min`, `2000/h`, or a plain number (per second).
 * Suffixes k and M multiply: `100k/min`.
 */
export function parseRate(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kKmM]?)\s*(?:\/\s*([A-Za-z]+))?\s*$/.exec(value);
  if (!m) invalid("expected a rate like 500/s, 30000/min or 2000/h (a plain number means per second).");
  const [, num, mult, unit] = m;
  const per = unit === undefined ? 1 : RATE_UNITS[unit.toLowerCase()];
  if (per === undefined) invalid(`unknown time unit "${unit}"; use /s, /min or /h.`);
  const factor = mult === "" ? 1 : mult === "k" || mult === "K" ? 1e3 : 1e6;
  const perSecond = (Number(num) * factor) / per;
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) invalid("the rate must be greater than 0.");
  return perSecond;
}

/**
 * Parse a duration to milliseconds for a flag: `500ms`, `30s`, `5m`, `12h`, `7d`, `2w`, `1h30m`
 * (see util/duration.ts); a plain number is milliseconds.
 */
export function parseDurationMs(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  try {
    return parseDuration(v);
  } catch (err) {
    return invalid(`${(err as Error).message.replace(/^invalid duration "[^"]*": /, "")}.`);
  }
}

/** A retention duration: a duration (see parseDurationMs) or `forever` / `-1` for no time limit. */
export function parseRetention(value: string): number {
  const v = value.trim().toLowerCase();
  if (v === "-1" || v === "forever" || v === "infinite" || v === "none") return -1;
  try {
    return parseDurationMs(value);
  } catch (err) {
    return invalid(`${(err as Error).message} Use -1 or "forever" to keep records forever.`);
  }
}

/** Milliseconds as a plain integer, -1 for "no limit". */
export function parseMsOrUnlimited(value: string): number {
  const v = value.trim();
  if (v === "-1") return -1;
  if (!/^\d+$/.test(v)) invalid("expected a number of milliseconds (or -1 for no limit).");
  return Number(v);
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** A size in bytes: `1048576`, `64MB`, `1GiB` (1024-based units). */
export function parseBytes(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  if (!m) invalid("expected a size in bytes like 1048576, 64MB or 1GB.");
  const factor = BYTE_UNITS[m[2].toLowerCase()];
  if (factor === undefined) invalid(`unknown size unit "${m[2]}"; use B, KB, MB, GB or TB.`);
  const n = Math.floor(Number(m[1]) * factor);
  if (!(n > 0)) invalid("the size must be greater than 0.");
  return n;
}

/** A size in bytes, or -1 / `unlimited` for no limit. */
export function parseBytesOrUnlimited(value: string): number {
  const v = value.trim().toLowerCase();
  if (v === "-1" || v === "unlimited" || v === "none") return -1;
  return parseBytes(value);
}

/** `--flush always|os|interval:50ms` (delegates to the log's own parser). */
export async function parseFlushOption(value: string | undefined): Promise<FlushPolicy | undefined> {
  if (value === undefined) return undefined;
  const { parseFlushPolicy } = await import("../log/index.js");
  try {
    return parseFlushPolicy(value);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^weir:\s*/, "") : String(err);
    throw usageError(`--flush ${q(value)}: ${reason} (use always, os or interval:50ms)`);
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function formatBytes(n: number): string {
  if (n < 0) return "unlimited";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 0) return "forever";
  const units: [string, number][] = [
    ["w", 604_800_000],
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  for (const [name, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${name}`;
  return `${ms}ms`;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/**
 * Render rows as an aligned text table. `align` has one letter per column, "l" or "r"; by default
 * columns whose cells all look numeric are right-aligned.
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: string,
): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const right = header.map((_, c) =>
    align !== undefined
      ? align[c] === "r"
      : rows.length > 0 && rows.every((r) => /^[-\d.,]+( \S+)?$/.test(r[c] ?? "")),
  );
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  return all.map(line).join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Messages on stderr

let quiet = false;

/** Called by main once options are parsed. */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** An informational line on stderr (`weir: ...`); suppressed by --quiet. */
export function info(message: string): void {
  if (!quiet) process.stderr.write(`weir: ${message}\n`);
}

/** A warning line on stderr (`weir: ...`); always shown. */
export function warn(message: string): void {
  process.stderr.write(`weir: ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// The embedded log

export interface OpenLogOptions {
  flush?: FlushPolicy;
  logger?: LogOptions["logger"];
}

/** Fail with one clear line when the data directory exists but is not a directory. */
export function checkDataDir(dataDir: string): void {
  let st;
  try {
    st = statSync(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return; // created by the log when needed
    if (code === "ENOTDIR") {
      throw new WeirError(
        "BAD_DATA_DIR",
        `data directory ${dataDir} is inside a file, not a directory; pass --data-dir DIR or set WEIR_DATA_DIR`,
      );
    }
    throw new WeirError("BAD_DATA_DIR", `cannot use data directory ${dataDir}: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) {
    throw new WeirError(
      "BAD_DATA_DIR",
      `data directory ${dataDir} is a file, not a directory; pass --data-dir DIR or set WEIR_DATA_DIR to a directory`,
    );
  }
}

/** Open the embedded log in `dataDir` (after checking it), run `fn`, and always close the log. */
export async function withLog<T>(
  dataDir: string,
  fn: (log: EmbeddedLog) => T | Promise<T>,
  options: OpenLogOptions = {},
): Promise<T> {
  checkDataDir(dataDir);
  const { EmbeddedLog } = await import("../log/index.js");
  const logOptions: { flush?: FlushPolicy; logger?: (message: string) => void } = {};
  if (options.flush !== undefined) logOptions.flush = options.flush;
  if (options.logger !== undefined) logOptions.logger = options.logger;
  const log = await EmbeddedLog.open(dataDir, logOptions);
  let result: T;
  try {
    result = await fn(log);
  } catch (err) {
    try {
      await log.close();
    } catch {
      // keep the original error, not a close failure caused by it
    }
    throw err;
  }
  await log.close();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Buffered stdout

let stdoutBroken = false;
const brokenListeners = new Set<() => void>();
let stdoutGuardInstalled = false;

/**
 * Install the EPIPE guard on stdout: when the reader goes away (`weir consume t | head -1`) writes
 * stop quietly instead of crashing. main.ts installs it at start-up.
 */
export function installStdoutGuard(stream: NodeJS.WriteStream = process.stdout): void {
  if (stdoutGuardInstalled) return;
  stdoutGuardInstalled = true;
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED" || err.code === "ECONNRESET") {
      stdoutBroken = true;
      for (const l of brokenListeners) l();
      return;
    }
    // Anything else (ENOSPC on a redirected file, ...) is reported like any error.
    process.stderr.write(`weir: cannot write to stdout: ${err.message}\n`);
    process.exitCode = EXIT_FAILURE;
    stdoutBroken = true;
    for (const l of brokenListeners) l();
  });
}

/** True once stdout's reader has gone away (EPIPE). */
export function isStdoutBroken(): boolean {
  return stdoutBroken;
}

/**
 * Collects output into large chunks and writes them to a stream, waiting for 'drain' when the
 * stream asks for it. `write*` are synchronous; call `await flushIfFull()` in loops and `await flush()` at the end.
 */
export class OutputBuffer {
  private buf: Buffer;
  private pos = 0;
  private readonly size: number;
  private readonly stream: NodeJS.WritableStream;
  private readonly isBroken: () => boolean;

  constructor(
    stream: NodeJS.WritableStream = process.stdout,
    size = 64 * 1024,
    isBroken: () => boolean = isStdoutBroken,
  ) {
    this.stream = stream;
    this.size = size;
    this.buf = Buffer.allocUnsafe(size);
    this.isBroken = isBroken;
  }

  get broken(): boolean {
    return this.isBroken();
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.pos;
  }

  get full(): boolean {
    return this.pos >= this.size - 1024;
  }

  writeBytes(bytes: Uint8Array): void {
    if (bytes.length > this.size - this.pos) {
      this.push();
      if (bytes.length > this.size) {
        this.stream.write(Buffer.from(bytes));
        return;
      }
    }
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeString(text: string): void {
    // Worst case 3 bytes per UTF-16 unit.
    if (text.length * 3 > this.size - this.pos) {
      this.writeBytes(Buffer.from(text, "utf8"));
      return;
    }
    this.pos += this.buf.write(text, this.pos, "utf8");
  }

  writeByte(byte: number): void {
    if (this.pos >= this.size) this.push();
    this.buf[this.pos++] = byte;
  }

  /** Hand the buffered bytes to the stream (without waiting). Returns the stream's write() result. */
  private push(): boolean {
    if (this.pos === 0) return true;
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size); // the stream may keep `chunk` until written
    this.pos = 0;
    if (this.broken) return true;
    return this.stream.write(chunk);
  }

  /** Write the buffered bytes and wait until the stream can take more. */
  async flush(): Promise<void> {
    const ok = this.push();
    if (!ok && !this.broken) await waitForDrain(this.stream, this.isBroken);
    else await new Promise<void>((r) => setImmediate(r)); // let signals and stream errors through
  }

  /** flush() when the buffer is (nearly) full; cheap otherwise. */
  async flushIfFull(): Promise<void> {
    if (this.full) await this.flush();
  }
}

function waitForDrain(stream: NodeJS.WritableStream, isBroken: () => boolean): Promise<void> {
  return new Promise<void>((resolveDrain) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      brokenListeners.delete(done);
      resolveDrain();
    };
    stream.on("drain", done);
    stream.on("close", done);
    brokenListeners.add(done);
    if (isBroken()) done();
  });
}

/** Wait until everything written to stdout so far has been handed to the OS (or stdout broke). */
export function drainStdout(): Promise<void> {
  const out = process.stdout;
  if (stdoutBroken || out.destroyed || out.writableLength === 0) return Promise.resolve();
  return new Promise<void>((r) => {
    out.write("", () => r());
  });
}

// ---------------------------------------------------------------------------------------------
// Shutdown and timing

let shutdownController: AbortController | undefined;

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM, for commands that stop gracefully
 * (finish the batch, commit, close). A second signal exits immediately (130).
 */
export function shutdownSignal(): AbortSignal {
  if (shutdownController === undefined) {
    const ctl = new AbortController();
    shutdownController = ctl;
    const onSignal = (sig: NodeJS.Signals) => {
      if (ctl.signal.aborted) {
        process.stderr.write(`weir: ${sig} again; exiting without cleanup\n`);
        process.exit(130);
      }
      ctl.abort(sig);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return shutdownController.signal;
}

/** Sleep `ms` milliseconds, or less if `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((r) => {
    if (signal?.aborted) return r();
    const onAbort = () => {
      clearTimeout(timer);
      r();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      r();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Paces work to a rate (records per second) without busy waiting: `await take(max)` returns how
 * many records may be sent now (1..max), sleeping in ticks of at least `minTickMs` until some are
 * due. After a stall (slow input) it catches up by at most `maxBurstMs` worth of records, so the
 * output never bursts far above the rate. Returns 0 only when `signal` aborts.
 */
export class RatePacer {
  readonly perSecond: number;
  private readonly minTickMs: number;
  private readonly maxBurst: number;
  private start = performance.now();
  private sent = 0;

  constructor(perSecond: number, options: { minTickMs?: number; maxBurstMs?: number } = {}) {
    if (!(perSecond > 0)) throw new RangeError("rate must be > 0");
    this.perSecond = perSecond;
    this.minTickMs = options.minTickMs ?? 5;
    this.maxBurst = Math.max(1, Math.floor((perSecond * (options.maxBurstMs ?? 100)) / 1000));
  }

  /** Records the rate allows by now, minus those already taken. */
  private due(): number {
    const elapsed = performance.now() - this.start;
    let due = Math.floor((elapsed * this.perSecond) / 1000) + 1 - this.sent;
    if (due > this.maxBurst) {
      // Behind schedule (the input stalled): forget the debt beyond one burst.
      this.start += ((due - this.maxBurst) * 1000) / this.perSecond;
      due = this.maxBurst;
    }
    return due;
  }

  async take(max: number, signal?: AbortSignal): Promise<number> {
    for (;;) {
      if (signal?.aborted) return 0;
      const due = this.due();
      if (due > 0) {
        const n = Math.min(due, Math.max(1, max));
        this.sent += n;
        return n;
      }
      const nextAt = this.start + (this.sent * 1000) / this.perSecond;
      await sleep(Math.max(this.minTickMs, Math.ceil(nextAt - performance.now())), signal);
    }
  }
}

/**
 * The name readers of `name` should read: the promoted version's when `weir promote` switched
 * them (said on stderr, with how to read the original), else `name` itself.
 */
export function followPromotion(kind: OutputKind, name: string, opts: { dataDir?: string }): string {
  const dataDir = resolveDataDir(opts);
  if (!existsSync(dataDir)) return name;
  const promoted = promotedName(readPromotions(dataDir), kind, name);
  if (promoted === undefined) return name;
  const { pipeline, version } = promoted.promotion;
  info(
    `${name} is promoted to ${promoted.name} (${pipeline} ${version}, \`weir promote\`): reading ${promoted.name}; --original reads ${name}`,
  );
  return promoted.name;
}
