/**
 * The logger a pipeline run reports to: four levels and two formats, the human one `weir run`
 * prints (`weir: <message>`) and JSON lines for log collectors (`weir run --log-format json`).
 *
 * A run's messages are progress and recovery notes (info), a step failing on every record (warn),
 * and whatever embeds Weir wants to add. Errors that end a run are not logged here: they reject the
 * run's promise (src/embed/run.ts) and the caller decides what to print.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra structured fields of a message (JSON lines carry them; the human format leaves them out). */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export interface LoggerOptions {
  /** The lowest level written (default "info": debug messages are dropped). */
  level?: LogLevel;
  /** Where lines go (default process.stderr). */
  stream?: { write(chunk: string): unknown };
}

function enabled(min: LogLevel | undefined): (level: LogLevel) => boolean {
  const floor = LOG_LEVELS.indexOf(min ?? "info");
  if (floor < 0)
    throw new RangeError(`unknown log level ${JSON.stringify(min)}: use ${LOG_LEVELS.join(", ")}`);
  return (level) => LOG_LEVELS.indexOf(level) >= floor;
}

function build(
  write: (level: LogLevel, message: string, fields?: LogFields) => void,
  min?: LogLevel,
): Logger {
  const on = enabled(min);
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (on(level)) write(level, message, fields);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * One line per message, `weir: <message>` (the CLI's format; `prefix` changes "weir: "). Fields are
 * left out: the messages name what they are about.
 */
export function humanLogger(options: LoggerOptions & { prefix?: string } = {}): Logger {
  const prefix = options.prefix ?? "weir: ";
  return build((_level, message) => {
    (options.stream ?? process.stderr).write(`${prefix}${message}\n`);
  }, options.level);
}

/**
 * One JSON object per line: `{"time":"<ISO-8601>","level":"info","msg":"...", ...fields}` (the
 * shape pino and most log collectors expect, with the level as a word). `fields` are added to
 * every line, before the message's own.
 */
export function jsonLogger(options: LoggerOptions & { fields?: LogFields } = {}): Logger {
  return build((level, message, fields) => {
    const line = { time: new Date().toISOString(), level, msg: message, ...options.fields, ...fields };
    (options.stream ?? process.stderr).write(`${safeStringify(line)}\n`);
  }, options.level);
}

/** Drops every message. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** `logger` with `fields` added to every message (a message's own fields win). */
export function withFields(logger: Logger, fields: LogFields): Logger {
  const merge = (own?: LogFields): LogFields => (own === undefined ? fields : { ...fields, ...own });
  return {
    debug: (m, f) => logger.debug(m, merge(f)),
    info: (m, f) => logger.info(m, merge(f)),
    warn: (m, f) => logger.warn(m, merge(f)),
    error: (m, f) => logger.error(m, merge(f)),
  };
}

/** JSON.stringify that never throws on a field (a bigint, a cycle): such a value becomes a string. */
function safeStringify(value: object): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) =>
      typeof v === "bigint"
        ? v.toString()
        : v instanceof Error
          ? { name: v.name, message: v.message, ...("code" in v ? { code: v.code } : {}) }
          : v,
    );
  } catch {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      try {
        JSON.stringify(v);
        out[k] = v;
      } catch {
        out[k] = String(v);
      }
    }
    return JSON.stringify(out);
  }
}
