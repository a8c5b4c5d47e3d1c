/**
 * `weir generate <scenario>`: mock producers for the reference scenarios (src/generate/).
 *
 * - To a topic (default): appends to the scenario's topic (`events`) in the data directory, paced
 *   at --rate for --duration (default 60 s) or --count events, with event times starting at the
 *   wall clock so a live pipeline sees a realistic stream; Ctrl-C stops cleanly.
 * - To a file (--output FILE, or - for stdout): --count lines (default 1,000,000) as fast as
 *   possible, event times spaced as --rate says, starting 2021-11-30 00:00:00 UTC unless --start.
 *   Same seed and options, same file.
 */
import { closeSync, openSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import {
  formatEventDate,
  getScenario,
  producePaced,
  scenarioNames,
  writeLines,
} from "../../generate/index.js";
import type { MockGenerator, Scenario, ScenarioOptions } from "../../generate/index.js";
import { usageError, UserError } from "../../errors.js";
import { resolveDataDir, withLog } from "../data-dir.js";
import { plural, q } from "../format.js";
import { intParser, parseDurationMs, parseRate, type GlobalOptions } from "../options.js";
import { info, isStdoutBroken } from "../output.js";
import { shutdownSignal } from "../shutdown.js";
import { count, fileSink, formatRate, formatStats, topicRunLength } from "./generate-shared.js";

export const DEFAULT_RATE_PER_SECOND = 100_000 / 60;
export const DEFAULT_FILE_COUNT = 1_000_000;
export const DEFAULT_SEED = 1;
/** 9999-12-31 23:59:59 UTC: the last time "YYYY-MM-DD HH:MM:SS" can show. */
const MAX_START = Date.UTC(9999, 11, 31, 23, 59, 59);

interface GenerateOptions extends GlobalOptions {
  rate?: number;
  duration?: number;
  count?: number;
  users?: number;
  properties?: number;
  brokers?: number;
  households?: number;
  items?: number;
  seed?: number;
  output?: string;
  topic?: string;
  partitions?: number;
  start?: string;
}

/** `--duration`: a positive duration (30s, 5m, 1h). */
export function parsePositiveDuration(value: string): number {
  let ms: number;
  try {
    ms = parseDurationMs(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  if (!(ms > 0)) throw new InvalidArgumentError("the duration must be greater than 0.");
  return ms;
}

/** `--seed`: any integer. */
export function parseSeed(value: string): number {
  const v = value.trim();
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new InvalidArgumentError("expected an integer.");
  }
  return Number(v);
}

/** `--start`: "YYYY-MM-DD HH:MM:SS" (UTC), ISO-8601, epoch milliseconds, or "now". */
export async function parseStart(value: string): Promise<number> {
  const v = value.trim();
  let t: number | undefined;
  if (v.toLowerCase() === "now") t = Date.now();
  else if (/^\d+$/.test(v)) t = Number(v);
  else {
    const { parseEventTime } = await import("../../schema/time.js");
    t = parseEventTime(v);
  }
  if (t === undefined || !(t >= 0 && t <= MAX_START)) {
    throw usageError(
      `--start ${q(value)}: expected a time like "2021-11-30 00:00:00" (UTC), an ISO-8601 time, epoch milliseconds or "now"`,
    );
  }
  return t;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

export function register(program: Command): void {
  program
    .command("generate")
    .description("mock producers for the reference scenarios: write realistic events to a topic or a file")
    .argument("<scenario>", `what to generate: ${scenarioNames().join(", ")}`)
    .option(
      "-r, --rate <rate>",
      "events per time: 100000/min, 500/s (default: 100000/min; tiktok 1200/min, item-sales 600/min, bitcoin 180/min); to a file it spaces the event times",
      parseRate,
    )
    .option(
      "-d, --duration <duration>",
      "stop after this long: 30s, 5m (to a topic, default 60s; to a file, the event-time span)",
      parsePositiveDuration,
    )
    .option("-n, --count <n>", "stop after this many events (to a file, default 1000000)", intParser(1))
    .option(
      "--users <n>",
      "distinct users (nobroker, default 1000; tiktok, default 300)",
      intParser(1, 100_000_000),
    )
    .option("--properties <n>", "distinct properties (nobroker; default 500)", intParser(1, 100_000_000))
    .option("--brokers <n>", "heavy users who behave like brokers (nobroker; default 5)", intParser(0))
    .option("--households <n>", "household meters (energy-weather; default 20)", intParser(1, 100_000))
    .option(
      "--items <n>",
      "distinct items in the catalogue (item-sales; default 40)",
      intParser(1, 1_000_000),
    )
    .option(
      "--seed <n>",
      `seed of the random stream: same seed, same events (default ${DEFAULT_SEED})`,
      parseSeed,
    )
    .option("-o, --output <file>", "write JSON lines to this file (- for stdout) instead of a topic, unpaced")
    .option("-t, --topic <name>", "topic to append to (default: the scenario's, events)")
    .option(
      "-p, --partitions <n>",
      "partitions when the topic has to be created (default: 1)",
      intParser(1, 100_000),
    )
    .option(
      "--start <time>",
      'event time of the first event: "2021-11-30 00:00:00" (UTC), ISO-8601, epoch ms or now ' +
        "(default: now to a topic, 2021-11-30 00:00:00 to a file)",
    )
    .addHelpText(
      "after",
      scenarioHelp() +
        "\nExamples:\n" +
        "  weir generate nobroker                                  # 100000/min to topic events for 60s\n" +
        "  weir generate nobroker --rate 500/s --duration 5m --brokers 10\n" +
        "  weir generate nobroker --count 1000000 --output events.jsonl --seed 7\n" +
        "  weir generate nobroker --count 5 --output -\n" +
        "  weir generate bitcoin --count 100000 --output bpi.jsonl   # ~9 hours of ticks, one a second\n" +
        "\nLines are keyed (nobroker, tiktok: user_id; item-sales: item_id; bitcoin: currency), so a key's\n" +
        "events stay in one partition.",
    )
    .action(async (scenarioName: string, _opts: GenerateOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GenerateOptions>();
      await generate(scenarioName, opts);
    });
}

/** The "Scenarios:" section of the help, from the registry. */
function scenarioHelp(): string {
  const names = scenarioNames();
  const width = Math.max(...names.map((n) => n.length));
  const wrap = (text: string, indent: number, max = 100): string => {
    const out: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
      if (line !== "" && indent + line.length + 1 + word.length > max) {
        out.push(line);
        line = word;
      } else line = line === "" ? word : `${line} ${word}`;
    }
    out.push(line);
    return out.join("\n" + " ".repeat(indent));
  };
  const rows = names.map((n) => `  ${n.padEnd(width)}  ${wrap(getScenario(n)!.description, width + 4)}`);
  return `\nScenarios:\n${rows.join("\n")}\n`;
}

function loadScenario(name: string): Scenario {
  const scenario = getScenario(name);
  if (scenario === undefined) {
    const known = scenarioNames();
    throw usageError(
      `unknown scenario "${name}"; known scenario${known.length === 1 ? "" : "s"}: ${known.join(", ")} ` +
        "(e.g. `weir generate nobroker`)",
    );
  }
  return scenario;
}

/** The generator options from the flags; a usage error for a flag the scenario does not take. */
function scenarioOptions(
  scenario: Scenario,
  opts: GenerateOptions,
  perSecond: number,
  startTime: number,
): ScenarioOptions {
  const extra: Record<string, number | undefined> = {
    users: opts.users,
    properties: opts.properties,
    brokers: opts.brokers,
    households: opts.households,
    items: opts.items,
  };
  const options: ScenarioOptions = {
    seed: opts.seed ?? DEFAULT_SEED,
    eventsPerMinute: perSecond * 60,
    startTime,
  };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) continue;
    if (!scenario.extraOptions.includes(name)) {
      throw usageError(`--${name} does not apply to scenario ${scenario.name}`);
    }
    options[name] = value;
  }
  return options;
}

interface Progress {
  update(done: number): void;
  stop(): void;
}

async function createProgress(total: number, label: string, quiet: boolean): Promise<Progress | null> {
  if (!process.stderr.isTTY || quiet || !Number.isFinite(total) || total <= 0) return null;
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {percentage}% | {value} of {total} events | {eta_formatted} left`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
    formatValue: (v: number) => fmt(v),
  });
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

export async function generate(scenarioName: string, opts: GenerateOptions): Promise<void> {
  const scenario = loadScenario(scenarioName);
  if (opts.output !== undefined && opts.topic !== undefined) {
    throw usageError("give either --output (write a file) or --topic (append to a topic), not both");
  }
  if (opts.output !== undefined && opts.partitions !== undefined) {
    throw usageError("--partitions applies to a topic, not to --output");
  }
  if (opts.output === "") throw usageError("--output needs a file name (or - for stdout)");
  const start = opts.start === undefined ? undefined : await parseStart(opts.start);
  const perSecond =
    opts.rate ??
    (scenario.defaultEventsPerMinute !== undefined
      ? scenario.defaultEventsPerMinute / 60
      : DEFAULT_RATE_PER_SECOND);
  if (scenario.topics !== undefined) {
    // Several topics (energy-weather): one file per topic, or each line to its own topic.
    const { generateMultiTopic } = await import("./generate-topics.js");
    const optionsAt = (t: number) => scenarioOptions(scenario, opts, perSecond, t);
    return generateMultiTopic(scenario, opts, perSecond, start, optionsAt);
  }
  if (opts.output !== undefined) await generateToFile(scenario, opts, perSecond, start, opts.output);
  else await generateToTopic(scenario, opts, perSecond, start);
}

async function generateToFile(
  scenario: Scenario,
  opts: GenerateOptions,
  perSecond: number,
  start: number | undefined,
  output: string,
): Promise<void> {
  let total = opts.count ?? (opts.duration === undefined ? DEFAULT_FILE_COUNT : Infinity);
  if (opts.duration !== undefined) total = Math.min(total, Math.floor((perSecond * opts.duration) / 1000));
  if (total < 1) {
    throw usageError(
      `--duration at --rate ${formatRate(perSecond)} spans less than one event; give a longer duration`,
    );
  }
  const startTime = start ?? scenario.fileStartTime;
  const generator = scenario.create(scenarioOptions(scenario, opts, perSecond, startTime));
  const toStdout = output === "-";
  const where = toStdout ? "stdout" : q(output);

  let fd: number | null = null;
  if (!toStdout) {
    try {
      fd = openSync(output, "w");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === "ENOENT"
          ? "its directory does not exist"
          : e.code === "EISDIR"
            ? "it is a directory"
            : e.code === "EACCES"
              ? "permission denied"
              : e.message;
      throw new UserError(`cannot write ${q(output)}: ${why} (check --output)`);
    }
  }
  const sink = toStdout ? stdoutSink() : fileSink(fd!, output);
  const signal = shutdownSignal();
  const progress = await createProgress(total, `generating ${scenario.name}`, opts.quiet === true);
  const started = performance.now();
  let result;
  try {
    result = await writeLines(generator, total, sink, {
      signal,
      stopped: toStdout ? isStdoutBroken : undefined,
      onProgress: (n) => progress?.update(n),
    });
  } finally {
    progress?.stop();
    if (fd !== null) closeSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  const first = formatEventDate(startTime);
  const last = result.lines > 0 ? formatEventDate(generator.time) : first;
  const summary =
    `wrote ${count(result.lines, `${scenario.name} line`)} to ${where} in ${seconds.toFixed(2)} s ` +
    `(${fmt(result.lines / Math.max(seconds, 1e-6))} lines/s, ${(result.bytes / 1048576).toFixed(1)} MiB); ` +
    `${formatStats(generator.stats())}; event time ${first} to ${last} UTC`;
  if (result.interrupted && !isStdoutBroken()) info(`stopped early; ${summary}`);
  else if (!result.interrupted) info(summary);
}

function stdoutSink(): (chunk: Buffer) => void | Promise<void> {
  const out = process.stdout;
  return (chunk) => {
    if (isStdoutBroken() || out.destroyed) return;
    if (out.write(chunk)) return;
    return new Promise<void>((resolve) => {
      const done = () => {
        out.off("drain", done);
        out.off("close", done);
        out.off("error", done);
        resolve();
      };
      out.on("drain", done);
      out.on("close", done);
      out.on("error", done);
    });
  };
}

async function generateToTopic(
  scenario: Scenario,
  opts: GenerateOptions,
  perSecond: number,
  start: number | undefined,
): Promise<void> {
  const topic = opts.topic ?? scenario.topic;
  const { durationMs, expected } = topicRunLength(opts, perSecond);
  // Validate the flags before touching the data directory.
  scenarioOptions(scenario, opts, perSecond, 0);
  const dataDir = resolveDataDir(opts);
  const signal = shutdownSignal();
  let generator: MockGenerator | undefined;
  let startTime = 0;
  let partitions = 0;
  const result = await withLog(dataDir, async (log) => {
    if (log.createTopicIfMissing(topic, { partitions: opts.partitions ?? 1 })) {
      info(`created topic ${q(topic)} with ${plural(opts.partitions ?? 1, "partition")} (it did not exist)`);
    } else if (opts.partitions !== undefined) {
      const existing = log.describeTopic(topic).partitions.length;
      if (existing !== opts.partitions) {
        info(
          `topic ${q(topic)} already has ${plural(existing, "partition")}; --partitions ${opts.partitions} ignored`,
        );
      }
    }
    partitions = log.describeTopic(topic).partitions.length;
    const writer = log.writer(topic);
    try {
      startTime = start ?? Date.now();
      generator = scenario.create(scenarioOptions(scenario, opts, perSecond, startTime));
      const limit =
        durationMs === undefined
          ? count(expected, "event")
          : opts.count !== undefined && expected === opts.count
            ? `${count(expected, "event")} (at most ${(durationMs / 1000).toFixed(1)} s)`
            : `${(durationMs / 1000).toFixed(1)} s`;
      info(
        `generating ${scenario.name} events to topic ${q(topic)} in ${dataDir} at ${formatRate(perSecond)} for ${limit}; ` +
          `${generator.describe()}; Ctrl-C to stop`,
      );
      const progress = await createProgress(expected, `generating ${scenario.name}`, opts.quiet === true);
      try {
        return await producePaced({
          generator,
          writer,
          perSecond,
          count: opts.count,
          durationMs,
          signal,
          onProgress: (n) => progress?.update(n),
        });
      } finally {
        progress?.stop();
      }
    } finally {
      writer.close();
    }
  });
  const g = generator!;
  const seconds = result.elapsedMs / 1000;
  const first = formatEventDate(startTime);
  const last = result.written > 0 ? formatEventDate(g.time) : first;
  info(
    `${result.interrupted ? "stopped by signal; " : ""}appended ${count(result.written, `${scenario.name} event`)} ` +
      `to topic ${q(topic)} (${plural(partitions, "partition")}) in ${seconds.toFixed(1)} s ` +
      `(${fmt(result.written / Math.max(seconds, 1e-3))}/s); ${formatStats(g.stats())}; ` +
      `event time ${first} to ${last} UTC`,
  );
}
