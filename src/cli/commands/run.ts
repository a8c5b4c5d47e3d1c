/**
 * `weir run <pipeline> [--input FILE] [--until-end] [--ui [--port N]]`: run a pipeline on the
 * embedded log — live on its source topics, or bounded on a file (at its end every window fires,
 * outputs flush, exit 0). SIGINT/SIGTERM finish the batch, checkpoint and exit 0. `--ui` serves the
 * dashboard from the same process while the pipeline runs.
 *
 * A thin layer over the embeddable API (src/embed/run.ts): flags become run() options, the signals
 * an AbortSignal, and the messages go through a Logger (`--log-format json` for JSON lines).
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { UserError, usageError } from "../../errors.js";
import { checkDataDir, resolveDataDir } from "../data-dir.js";
import { intParser, parseDurationMs, type GlobalOptions } from "../options.js";
import { info, warn } from "../output.js";
import type { PipelineDefinition } from "../../api/pipeline.js";
import { run, unwrapRunError, type RunStarted, type RunSummary } from "../../embed/run.js";
import { jsonLogger, type Logger } from "../../util/logger.js";
import { parseExtraOptions, resolvePipeline } from "../pipelines.js";
import { examplesHelp } from "../examples-help.js";
import { versionedDefinition } from "../../api/versions.js";
import { NO_TYPECHECK_HELP, typeCheckEnabled } from "../typecheck.js";

interface RunOptions extends GlobalOptions {
  input?: string;
  untilEnd?: boolean;
  broker?: string;
  checkpointInterval?: number;
  tableStore?: string;
  ui?: boolean;
  port?: number;
  fromScratch?: boolean;
  dropState?: string[];
  renameState?: Record<string, string>;
  /** false with --no-typecheck. */
  typecheck?: boolean;
  maxDeadLetterRatio?: number;
  logFormat?: LogFormat;
}

/** `--log-format`: the run's messages on stderr as `weir: ...` lines (human) or JSON lines. */
export type LogFormat = "human" | "json";

const LOG_FORMATS: readonly LogFormat[] = ["human", "json"];

/** Records read before --max-dead-letter-ratio is evaluated. */
const DEAD_LETTER_MIN_RECORDS = 1000;

/** `--max-dead-letter-ratio`: a share from 0 to 1 (`0.5`), or a percentage (`50%`). */
export function parseRatio(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(value);
  const ratio = m === null ? NaN : Number(m[1]) / (m[2] === "%" ? 100 : 1);
  if (!(ratio >= 0 && ratio <= 1))
    throw new InvalidArgumentError("expected a share of the records from 0 to 1, like 0.5 (or 50%).");
  return ratio;
}

export function register(program: Command): void {
  withRunOptions(
    program
      .command("run")
      .description("run a pipeline: live on its topics, or bounded on a file with --input")
      .argument("<pipeline>", PIPELINE_ARGUMENT_HELP),
  )
    .addHelpText("after", () => examplesHelp(true))
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await runCommand(name, cmd);
    });
}

/** The `<pipeline>` argument of run, replay, describe and promote. */
export const PIPELINE_ARGUMENT_HELP =
  "a built-in example (listed below) or a pipeline module (./my-pipeline.ts)";

/** The options `weir run` and `weir replay` share. */
export function withRunOptions(command: Command): Command {
  return command
    .option(
      "--input <file>",
      "bounded run: read this JSON-lines file as the source, fire every window at its end, exit 0",
    )
    .option("--until-end", "live run that stops once the input topics are read to their current end")
    .addOption(
      new Option("--checkpoint-interval <duration>", "how often state and positions are checkpointed: 5s, 1m")
        .argParser(parseDurationMs)
        .default(5000, "5s"),
    )
    .option(
      "--table-store <url>",
      "where versioned tables live: sqlite (default, in the data directory), sqlite:/path/file.db or postgres://user@host:port/db (also $WEIR_TABLE_STORE)",
    )
    .option(
      "--broker <url>",
      "run on a Kafka cluster (kafka://host:port) instead of the embedded log (also $WEIR_BROKER)",
    )
    .option(
      "--from-scratch",
      "forget the pipeline's checkpoint first: start from the beginning of its input with empty state (outputs already written are kept; see `weir reset`)",
    )
    .option(
      "--drop-state <steps>",
      "start these stateful steps empty (comma-separated step ids) when the pipeline changed since its checkpoint",
      parseStepList,
    )
    .option(
      "--rename-state <old=new>",
      "give the checkpointed state of step OLD to step NEW (comma-separated pairs) when a step was renamed",
      parseRenames,
    )
    .option("--ui", "also serve the dashboard (web UI, API, /metrics) on 127.0.0.1 while the pipeline runs")
    .option(
      "--port <port>",
      "the dashboard's port with --ui (default 4040; 0: any free port)",
      intParser(0, 65535),
    )
    .option(
      "--max-dead-letter-ratio <ratio>",
      `checkpoint and stop (exit 1) once more than this share of the records (0-1, e.g. 0.5) became dead letters; evaluated after ${DEAD_LETTER_MIN_RECORDS} records`,
      parseRatio,
    )
    .addOption(
      new Option(
        "--log-format <format>",
        "how the run's messages are written on stderr: human (`weir: ...` lines) or json (one JSON object per line)",
      )
        .choices(LOG_FORMATS)
        .default("human"),
    )
    .option("--no-typecheck", NO_TYPECHECK_HELP)
    .allowUnknownOption(true)
    .allowExcessArguments(true);
}

/**
 * `weir run` (and, with `version`, `weir replay --as <version>`: the pipeline renamed with outputs
 * of its own, src/api/versions.ts).
 */
export async function runCommand(name: string, cmd: Command, version?: string): Promise<void> {
  const opts = cmd.optsWithGlobals<RunOptions>();
  if (opts.port !== undefined && opts.ui !== true)
    throw usageError("--port is the dashboard's port: give it with --ui");
  const broker = opts.broker ?? (process.env.WEIR_BROKER || undefined);
  const resolved = await resolvePipeline(name, parseExtraOptions(cmd.args.slice(1)), {
    typecheck: typeCheckEnabled(opts.typecheck),
  });
  const definition =
    version === undefined ? resolved.definition : versionedDefinition(resolved.definition, version);
  const dataDir = resolveDataDir(opts);
  const logger = cliLogger(opts, definition.name);
  if (broker === undefined) checkDataDir(dataDir);
  const changes = stateChanges(opts);
  if (broker !== undefined && opts.input !== undefined)
    await loadInputIntoTopic(definition, broker, opts, logger);
  const summary = await runUntilSignal(definition, {
    dataDir,
    broker,
    ...(broker === undefined && opts.input !== undefined ? { input: opts.input } : {}),
    untilEnd: opts.untilEnd === true || (broker !== undefined && opts.input !== undefined),
    checkpointInterval: opts.checkpointInterval,
    tableStore: opts.tableStore ?? (process.env.WEIR_TABLE_STORE || undefined),
    fromScratch: opts.fromScratch === true,
    ...changes,
    ...(opts.maxDeadLetterRatio === undefined
      ? {}
      : { deadLetterLimit: { maxRatio: opts.maxDeadLetterRatio, minRecords: DEAD_LETTER_MIN_RECORDS } }),
    ...(opts.ui === true ? { ui: { port: opts.port } } : {}),
    logger,
    onStarted: (started: RunStarted) => {
      if (started.engine === "kafka")
        logger.info(
          `${definition.name}: running on ${started.inputTopics.join(", ")} at ${broker} (Ctrl-C to stop)`,
        );
      else if (!started.bounded)
        logger.info(
          `${definition.name}: running on ${started.inputTopics.join(", ")} in ${dataDir} (Ctrl-C to stop)`,
        );
    },
  });
  if (!summary.alreadyComplete) infoRunEnd(logger, summary, broker);
}

/**
 * The run's messages: `weir: ...` lines as every command writes them (info hidden by --quiet,
 * warnings always), or JSON lines with `--log-format json`.
 */
function cliLogger(opts: RunOptions, pipeline: string): Logger {
  if (opts.logFormat === "json")
    return jsonLogger({ level: opts.quiet === true ? "warn" : "info", fields: { pipeline } });
  return {
    debug() {},
    info: (m) => info(m),
    warn: (m) => warn(m),
    error: (m) => warn(m),
  };
}

/** run() with SIGINT and SIGTERM as its AbortSignal (the run finishes the batch and checkpoints). */
async function runUntilSignal(
  definition: PipelineDefinition,
  options: Parameters<typeof run>[1],
): Promise<RunSummary> {
  const signals = new AbortController();
  const stop = () => signals.abort();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    return await run(definition, { ...options, signal: signals.signal }).done;
  } catch (err) {
    throw unwrapRunError(err);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

/** `--drop-state a,b`: step ids. */
function parseStepList(value: string, previous: string[] = []): string[] {
  const steps = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (steps.length === 0)
    throw usageError(`--drop-state ${JSON.stringify(value)}: expected step ids like count-1,count-2`);
  return [...previous, ...steps];
}

/** `--rename-state old=new,old2=new2`. */
function parseRenames(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const out = { ...previous };
  for (const pair of value.split(",")) {
    const [from, to, ...rest] = pair.split("=").map((s) => s.trim());
    if (!from || !to || rest.length > 0)
      throw usageError(
        `--rename-state ${JSON.stringify(value)}: expected OLD=NEW pairs of step ids, like count-1=user-count`,
      );
    out[from] = to;
  }
  return out;
}

function stateChanges(opts: RunOptions): { dropState?: string[]; renameState?: Record<string, string> } {
  if (opts.dropState === undefined && opts.renameState === undefined) return {};
  if (opts.fromScratch === true)
    throw usageError(
      "--from-scratch starts every step empty: --drop-state and --rename-state have nothing to do with it",
    );
  return {
    ...(opts.dropState === undefined ? {} : { dropState: opts.dropState }),
    ...(opts.renameState === undefined ? {} : { renameState: opts.renameState }),
  };
}

/** The line a run ends with: its counts, and how to read its outputs (from `broker` when on Kafka). */
function infoRunEnd(logger: Logger, s: RunSummary, broker?: string): void {
  const outputs = s.outputTopics;
  const consume = `weir consume ${outputs[0]}${broker === undefined ? "" : ` --broker ${broker}`}`;
  logger.info(
    `${s.pipeline}: ${s.recordsIn} records in, ${s.recordsOut} out (${s.deadLetters} dead letters, ${s.lateRecords} late); ` +
      `outputs: ${outputs.join(", ")} — read them with \`${consume}\``,
  );
}

/**
 * `--input FILE --broker URL`: the file goes through Kafka. It is loaded into the pipeline's source
 * topic when that topic is empty (or missing), then the run reads the topic to its end. A topic that
 * already holds records (an earlier run loaded it) is not loaded again.
 */
async function loadInputIntoTopic(
  definition: PipelineDefinition,
  broker: string,
  opts: RunOptions,
  logger: Logger,
): Promise<void> {
  const sources = [...new Set(definition.graph.nodes.flatMap((n) => (n.kind === "source" ? [n.topic] : [])))];
  if (sources.length !== 1) {
    throw new UserError(
      `--input feeds one source topic, but pipeline ${definition.name} reads ${sources.join(", ")}`,
    );
  }
  const topic = sources[0];
  const { KafkaCluster } = await import("../../kafka/connection.js");
  const cluster = KafkaCluster.connect(broker);
  let held = 0;
  try {
    if ((await cluster.partitionCount(topic)) !== undefined)
      for (const end of await cluster.endOffsets(topic)) held += end;
  } finally {
    await cluster.close();
  }
  if (held > 0) {
    logger.info(
      `topic ${topic} on ${broker} already holds ${held} record(s): not loading ${opts.input} again`,
    );
    return;
  }
  const { produce } = await import("./produce.js");
  await produce(topic, { ...opts, broker, file: opts.input, batch: 1000 });
}
