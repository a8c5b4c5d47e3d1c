/**
 * `run(pipeline, options)`: a pipeline running in the caller's process — what `weir run` does,
 * as a library call that returns a handle (stop, await completion, metrics, status).
 *
 *   const handle = run(nobroker, { dataDir: ".weir", signal: AbortSignal.timeout(60_000) });
 *   const summary = await handle.done;
 *
 * The handle is not itself awaitable (not a "thenable"): a thenable returned from an async function
 * or passed to `Promise.resolve` is unwrapped, which would silently wait for the whole run. `done`
 * is the completion, as in Temporal's `worker.run()` or Node's `stream.finished()`.
 *
 * Stopping (`stop()`, or `signal` aborting) is graceful, like SIGTERM for `weir run`: the current
 * batch finishes, a checkpoint is written and the pipeline's locks are released; `done` then
 * resolves with the summary. Failures reject `done` with a WeirError (its `code` says what kind).
 *
 * Several pipelines may run in one process, also on the same data directory: they share one
 * opened embedded log (shared-log.ts). The same pipeline twice in one data directory is refused
 * (PIPELINE_RUNNING), in this process and across processes (its run.lock).
 *
 * This module loads the runtime lazily (await import), so `import { pipeline } from "weir"` stays
 * cheap; the per-record loop is the runners' own, unchanged.
 */
import { resolve } from "node:path";
import type { PipelineDefinition } from "../api/pipeline.js";
import { WeirError, isWeirError } from "../errors.js";
import type { DeadLetterLimit } from "../runtime/dead-letters.js";
import type { RunSummary as RunnerSummary } from "../runtime/runner.js";
import { LATENCY_BOUNDS_MS, type PipelineMetricsSnapshot } from "../runtime/metrics.js";
import type { StateChanges } from "../runtime/step-identity.js";
import { parseDuration, type Duration } from "../util/duration.js";
import { humanLogger, withFields, type Logger } from "../util/logger.js";
import { leaseLog, type LogLease } from "./shared-log.js";
import { openTopicLog } from "./topic-log.js";
import type { Source } from "../sources/contract.js";

export interface RunOptions {
  /** The data directory: log, checkpoints, tables, lake (default `.weir` in the working directory). */
  dataDir?: string;
  /** Run on this Kafka cluster (`kafka://host:port[,host:port]`) instead of the embedded log. */
  broker?: string;
  /**
   * Bounded run on the embedded log: this JSON-lines file is the source (at its end every window
   * fires, outputs flush and `done` resolves). A pipeline with several source topics takes a
   * directory of `<topic>.jsonl` files or `{ topic: file }`. Not with `broker`: load the file into
   * the source topic first (`weir produce TOPIC --file F --broker URL`) and run with `untilEnd`.
   */
  input?: string | Readonly<Record<string, string>>;
  /** Stop (firing every window) once the input topics are read to their end as of the start. */
  untilEnd?: boolean;
  /** How often state and positions are checkpointed: milliseconds or "5s", "1m" (default 5 s). */
  checkpointInterval?: Duration;
  /**
   * A live run over several input partitions: a partition (on Kafka, a partition task) that brings
   * no record for this long is left out of the watermark until it brings one (default 5 s; 0: never).
   */
  idleTimeout?: Duration;
  /** Where versioned tables live: "sqlite" (default), "sqlite:/path.db" or "postgres://...". */
  tableStore?: string;
  /** Forget the pipeline's checkpoint first: empty state, input from the beginning (outputs kept). */
  fromScratch?: boolean;
  /** Stateful steps to start empty when the pipeline changed since its checkpoint (step ids). */
  dropState?: readonly string[];
  /** Give the checkpointed state of step `old` to step `new` (`{ old: new }`). */
  renameState?: Readonly<Record<string, string>>;
  /**
   * Checkpoint and fail (DEAD_LETTER_RATIO) once more than `maxRatio` (0-1) of the records became
   * dead letters, evaluated after `minRecords` (default 1000) records.
   */
  deadLetterLimit?: DeadLetterLimit;
  /** Also serve the dashboard while the pipeline runs (`true`: 127.0.0.1:4040; `port: 0`: any free port). */
  ui?: boolean | { port?: number; host?: string; token?: string };
  /** Aborting it stops the run gracefully (as `stop()` does). */
  signal?: AbortSignal;
  /** Where the run's messages go (default: humanLogger() on stderr; silentLogger for none). */
  logger?: Logger;
  /** Called once the pipeline has recovered (or started fresh) and begins reading its input. */
  onStarted?: (started: RunStarted) => void;
  /** Told about every output record (topic outputs only), on the pipeline's own loop: keep it cheap. */
  onOutput?: (topic: string, key: string | null, value: string) => void;
}

export interface RunStarted {
  readonly pipeline: string;
  readonly engine: "embedded" | "kafka";
  readonly inputTopics: readonly string[];
  readonly outputTopics: readonly string[];
  /** Reading a file (`input`) rather than topics. */
  readonly bounded: boolean;
  /** The dashboard's URL with `ui`. */
  readonly dashboardUrl?: string;
}

export interface RunSummary {
  readonly pipeline: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly deadLetters: number;
  readonly lateRecords: number;
  readonly checkpoints: number;
  /** The bounded input had been processed to its end by an earlier run: nothing was done. */
  readonly alreadyComplete: boolean;
  readonly inputTopics: readonly string[];
  readonly outputTopics: readonly string[];
}

export type RunState = "starting" | "running" | "stopping" | "stopped" | "failed";

export interface RunStatus {
  readonly state: RunState;
  /** Why the run failed (state "failed"). */
  readonly error?: WeirError;
}

/** Records in/out, dead letters, late records, watermark and its lag, input lag, latency, per-step counts. */
export type RunMetrics = PipelineMetricsSnapshot;

export interface RunHandle {
  readonly pipeline: string;
  /** Resolves with the summary when the run ends (input done, stopped); rejects with a WeirError. */
  readonly done: Promise<RunSummary>;
  /** Ask the run to stop gracefully; resolves (or rejects) as `done` does. */
  stop(): Promise<RunSummary>;
  status(): RunStatus;
  /** A snapshot of the run's counters (all zero before it starts). */
  metrics(): RunMetrics;
}

/** What run() needs of both runners. */
interface Engine {
  stop(): void;
  run(): Promise<RunnerSummary>;
  metrics(): PipelineMetricsSnapshot;
}

/** Pipelines running in this process, by data directory and name (refused a second time). */
const running = new Set<string>();

/** Errors run() wrapped into a WeirError (the CLI reports the original as it always has). */
const wrapped = new WeakSet<WeirError>();

/**
 * The error as the CLI should report it: the original of an error run() wrapped (a bug's own
 * stack, a UserError of the dashboard), else the error itself.
 */
export function unwrapRunError(err: unknown): unknown {
  return isWeirError(err) && wrapped.has(err) ? err.cause : err;
}

function asWeirError(err: unknown): WeirError {
  if (isWeirError(err)) return err;
  const e = err as (Error & { code?: unknown; path?: unknown; exitCode?: unknown }) | undefined;
  const message = e instanceof Error ? e.message : String(err);
  const code =
    e instanceof Error && e.name === "UserError"
      ? "USAGE"
      : typeof e?.code === "string" && typeof e.path === "string"
        ? "IO"
        : "INTERNAL";
  const out = new WeirError(code, message, { cause: err });
  wrapped.add(out);
  return out;
}

function usage(message: string): WeirError {
  return new WeirError("USAGE", message);
}

/** Run `definition` in this process; see the file comment and docs/api.md#embedding. */
export function run(definition: PipelineDefinition, options: RunOptions = {}): RunHandle {
  const name = typeof definition?.name === "string" ? definition.name : "(not a pipeline)";
  let state: RunState = "starting";
  let failure: WeirError | undefined;
  let engine: Engine | undefined;
  let stopAsked = false;
  const startedAt = new Date().toISOString();
  /** Stops the ingestion of the pipeline's own sources (`from`). */
  const ingestStop = new AbortController();

  const askStop = (): void => {
    if (state === "stopped" || state === "failed") return;
    stopAsked = true;
    if (state === "starting" || state === "running") state = "stopping";
    ingestStop.abort();
    engine?.stop();
  };

  const done = (async (): Promise<RunSummary> => {
    await Promise.resolve(); // the handle exists before anything can fail
    const settings = checkOptions(definition, options);
    const key = `${settings.dataDir}\0${name}`;
    if (running.has(key))
      throw new WeirError(
        "PIPELINE_RUNNING",
        `cannot run ${name}: it is already running in this process on ${settings.dataDir}; stop it first`,
      );
    running.add(key);
    const logger = options.logger ?? humanLogger();
    const log = (m: string) => logger.info(m, { pipeline: name });
    const warn = (m: string) => logger.warn(m, { pipeline: name });
    let lease: LogLease | undefined;
    let dashboard: { url: string; close(): Promise<void> } | undefined;
    /** The live ingestion of the pipeline's own sources, and how it failed. */
    let ingestion: Promise<void> | undefined;
    let ingestFailure: unknown;
    try {
      if (settings.broker === undefined) lease = await leaseLog(settings.dataDir);
      if (options.ui !== undefined && options.ui !== false) {
        const { startDashboard } = await import("../dashboard/server.js");
        const ui = options.ui === true ? {} : options.ui;
        dashboard = await startDashboard({
          ...ui,
          dataDir: settings.dataDir,
          broker: settings.broker,
          tableStore: options.tableStore,
          logger: log,
        });
        log(`dashboard at ${dashboard.url}`);
      }
      const common = {
        checkpointIntervalMs: settings.checkpointIntervalMs,
        idleTimeoutMs: settings.idleTimeoutMs,
        tableStore: options.tableStore,
        logger: log,
        warn,
        fromScratch: options.fromScratch === true,
        stateChanges: settings.stateChanges,
        onOutput: options.onOutput,
        sinkLogger: withFields(logger, { pipeline: name }),
        ...(options.deadLetterLimit === undefined ? {} : { deadLetterLimit: options.deadLetterLimit }),
      };
      type Topics = { inputTopics(): string[]; outputTopics(): ReadonlyArray<{ topic: string }> };
      const markStarted = (topics: Topics) => {
        if (state === "starting") state = "running";
        options.onStarted?.({
          pipeline: name,
          engine: settings.broker === undefined ? "embedded" : "kafka",
          inputTopics: topics.inputTopics(),
          outputTopics: topics.outputTopics().map((o) => o.topic),
          bounded: options.input !== undefined,
          ...(dashboard === undefined ? {} : { dashboardUrl: dashboard.url }),
        });
      };
      // The pipeline's own sources: ingested into their topics first (untilEnd: what they hold
      // now), or alongside the run (live), which stops if one fails.
      if (options.input === undefined && ownSources(definition).length > 0) {
        const started = ingestSources(definition, settings, {
          drain: options.untilEnd === true,
          signal: ingestStop.signal,
          logger: withFields(logger, { pipeline: name }),
        });
        if (options.untilEnd === true) await started;
        else
          ingestion = started.catch((err: unknown) => {
            ingestFailure = err;
            stopAsked = true; // a runner not created yet stops at once
            engine?.stop();
          });
      }
      let summary;
      let topics: Topics;
      if (lease !== undefined) {
        const { Runner } = await import("../runtime/runner.js");
        // The run lock, tried first: another process running this pipeline is PIPELINE_RUNNING
        // naming it, rather than the lock of an output partition the runner would open first.
        const { CheckpointStore } = await import("../runtime/checkpoint.js");
        const probe = new CheckpointStore(settings.dataDir, name);
        probe.lock(`run ${name}`);
        probe.unlock();
        const runner: InstanceType<typeof Runner> = new Runner(definition, {
          log: lease.log,
          ...(typeof options.input === "string" ? { inputFile: options.input } : {}),
          ...(typeof options.input === "object" ? { inputFiles: { ...options.input } } : {}),
          untilEnd: options.untilEnd,
          ...common,
          onStarted: () => markStarted(runner.task),
        });
        engine = runner;
        if (stopAsked) runner.stop();
        topics = runner.task;
        summary = await runner.run();
      } else {
        const { KafkaRunner } = await import("../kafka/runner.js");
        const runner = new KafkaRunner(definition, {
          broker: settings.broker!,
          dataDir: settings.dataDir,
          untilEnd: options.untilEnd === true,
          ...common,
        });
        engine = runner;
        if (stopAsked) runner.stop();
        topics = runner.currentTask;
        markStarted(topics);
        summary = await runner.run();
      }
      ingestStop.abort();
      await ingestion;
      if (ingestFailure !== undefined) throw ingestFailure;
      return {
        pipeline: name,
        recordsIn: summary.recordsIn,
        recordsOut: summary.recordsOut,
        deadLetters: summary.deadLetters,
        lateRecords: summary.lateRecords,
        checkpoints: summary.checkpoints,
        alreadyComplete: summary.alreadyComplete,
        inputTopics: topics.inputTopics(),
        outputTopics: topics.outputTopics().map((o) => o.topic),
      };
    } finally {
      // However the run ended (a runner that failed to start too), its ingestion stops with it.
      ingestStop.abort();
      await ingestion;
      running.delete(key);
      try {
        await dashboard?.close();
      } finally {
        lease?.release();
      }
    }
  })().then(
    (summary) => {
      options.signal?.removeEventListener("abort", askStop);
      state = "stopped";
      return summary;
    },
    (err: unknown) => {
      options.signal?.removeEventListener("abort", askStop);
      failure = asWeirError(err);
      state = "failed";
      throw failure;
    },
  );

  const signal = options.signal;
  if (signal !== undefined) {
    if (signal.aborted) askStop();
    else signal.addEventListener("abort", askStop, { once: true }); // removed when the run ends
  }

  return {
    pipeline: name,
    done,
    stop() {
      askStop();
      return done;
    },
    status() {
      return failure === undefined ? { state } : { state, error: failure };
    },
    metrics() {
      return engine?.metrics() ?? emptyMetrics(name, startedAt);
    },
  };
}

/** The source nodes of the pipeline read from the user's own sources, one per topic. */
function ownSources(definition: PipelineDefinition): Array<{ topic: string; from: Source }> {
  const byTopic = new Map<string, Source>();
  for (const n of definition.graph.nodes)
    if (n.kind === "source" && n.from !== undefined) byTopic.set(n.topic, n.from);
  return [...byTopic].map(([topic, from]) => ({ topic, from }));
}

/** Ingest every own source of the pipeline into its topic (src/sources/ingest.ts) until done or stopped. */
async function ingestSources(
  definition: PipelineDefinition,
  settings: Settings,
  o: { drain: boolean; signal: AbortSignal; logger: Logger },
): Promise<void> {
  const { ingest } = await import("../sources/ingest.js");
  const log = await openTopicLog(
    settings.broker === undefined ? { dataDir: settings.dataDir } : { broker: settings.broker },
  );
  try {
    await Promise.all(
      ownSources(definition).map(({ topic, from }) =>
        ingest({ log, pipeline: definition.name, topic, source: from, ...o }),
      ),
    );
  } finally {
    await log.close();
  }
}

interface Settings {
  dataDir: string;
  broker: string | undefined;
  checkpointIntervalMs: number;
  idleTimeoutMs: number;
  stateChanges: StateChanges | undefined;
}

/** The options checked (WeirError USAGE naming the option) and resolved. */
function checkOptions(definition: PipelineDefinition, options: RunOptions): Settings {
  if (definition === null || typeof definition !== "object" || typeof definition.name !== "string")
    throw usage("run(pipeline): expected a pipeline, as returned by pipeline(name, build)");
  const broker = options.broker?.trim() || undefined;
  if (options.broker !== undefined && broker === undefined)
    throw usage(
      "run(): broker needs a URL like kafka://127.0.0.1:9092 (leave it out to use the embedded log)",
    );
  if (broker !== undefined && options.input !== undefined)
    throw usage(
      "run(): input is a bounded run on the embedded log; with a broker, load the file into the source topic first (weir produce TOPIC --file FILE --broker URL) and run with untilEnd",
    );
  const dropping = options.dropState !== undefined || options.renameState !== undefined;
  if (dropping && options.fromScratch === true)
    throw usage(
      "run(): fromScratch starts every step empty: dropState and renameState have nothing to do with it",
    );
  const limit = options.deadLetterLimit;
  if (limit !== undefined && !(limit.maxRatio >= 0 && limit.maxRatio <= 1))
    throw usage(`run(): deadLetterLimit.maxRatio ${String(limit.maxRatio)}: expected a share from 0 to 1`);
  return {
    dataDir: resolve(options.dataDir === undefined || options.dataDir === "" ? ".weir" : options.dataDir),
    broker,
    checkpointIntervalMs: parseDuration(options.checkpointInterval ?? 5000),
    idleTimeoutMs: parseDuration(options.idleTimeout ?? 5000),
    stateChanges: dropping
      ? {
          ...(options.dropState === undefined ? {} : { drop: [...options.dropState] }),
          ...(options.renameState === undefined ? {} : { rename: { ...options.renameState } }),
        }
      : undefined,
  };
}

function emptyMetrics(pipeline: string, startedAt: string): RunMetrics {
  return {
    pipeline,
    startedAt,
    recordsIn: 0,
    inputRatePerSec: 0,
    recordsOut: 0,
    outputRatePerSec: 0,
    deadLetters: 0,
    lateRecords: 0,
    watermark: null,
    watermarkLagMs: null,
    stateSize: 0,
    inputLag: null,
    latencyMs: { p50: 0, p99: 0, max: 0, count: 0 },
    latencyHistogram: {
      boundsMs: [...LATENCY_BOUNDS_MS],
      cumulative: LATENCY_BOUNDS_MS.map(() => 0),
      sumMs: 0,
      count: 0,
    },
    checkpoints: 0,
    lastCheckpointAt: null,
    steps: [],
  };
}
